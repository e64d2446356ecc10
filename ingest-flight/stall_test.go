package ingestflight

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// TestStalledBusAnswersRetryable stalls the bus under a running ingest (a
// proxy stops forwarding its answers): a Flight batch waits for an
// acknowledgement that never comes, and the client must get UNAVAILABLE with RetryInfo from the server's publish
// deadline, not its own timeout.
func TestStalledBusAnswersRetryable(t *testing.T) {
	srv, _, _ := bustest.RunJetStream(t, bustest.WithListen())
	proxy := bustest.NewProxy(t, srv.ClientURL())
	js := bustest.ConnectTCP(t, proxy.URL())
	s := startService(t, js, func(c *Config) { c.PublishTimeout = 300 * time.Millisecond })
	c := flightClient(t, s)
	rec := toArrowLogs(t)
	defer rec.Release()
	if _, err := doPut(t, c, string(schema.Logs), rec); err != nil {
		t.Fatalf("DoPut before the stall: %v", err)
	}
	proxy.Stall()
	_, err := doPut(t, c, string(schema.Logs), rec)
	if got, want := status.Code(err), codes.Unavailable; got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
	if retryInfo(err) == nil {
		t.Errorf("no RetryInfo on %v", err)
	}
}
