package ingest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
)

// TestStalledBusAnswersRetryable stalls the bus under a running ingest (a
// proxy stops forwarding its answers, the connection stays up): publishes
// wait for acknowledgements that never come. Clients must get a retryable
// answer (UNAVAILABLE with RetryInfo, HTTP 503 with Retry-After) from the
// server's publish deadline, not run into their own timeout.
func TestStalledBusAnswersRetryable(t *testing.T) {
	b := runBus(t, bustest.WithListen())
	proxy := bustest.NewProxy(t, b.srv.ClientURL())
	js := bustest.ConnectTCP(t, proxy.URL())
	s := startService(t, js, func(c *Config) { c.PublishTimeout = 300 * time.Millisecond })
	mustSucceed(t, s)
	proxy.Stall()
	client := coltracepbClient(grpcConn(t, s))

	t.Run("publish timeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := client.Export(ctx, traceRequest(resourceSpans("stalled", 3, nil, 0)))
		if got, want := status.Code(err), codes.Unavailable; got != want {
			t.Fatalf("code = %v (%v), want %v", got, err, want)
		}
		if retryInfo(err) == nil {
			t.Errorf("no RetryInfo on %v", err)
		}
	})

	t.Run("client deadline first", func(t *testing.T) {
		s := startService(t, js, func(c *Config) { c.PublishTimeout = time.Minute })
		client := coltracepbClient(grpcConn(t, s))
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err := client.Export(ctx, traceRequest(resourceSpans("stalled", 3, nil, 0)))
		if got, want := status.Code(err), codes.Unavailable; got != want {
			t.Fatalf("code = %v (%v), want %v: the server must answer before the client's deadline", got, err, want)
		}
	})

	t.Run("http", func(t *testing.T) {
		resp, body := post(t, s, PathTraces, contentTypeProto, "", bytes.NewReader(mustMarshal(t, traceRequest(resourceSpans("stalled", 3, nil, 0)))))
		if got, want := resp.StatusCode, http.StatusServiceUnavailable; got != want {
			t.Fatalf("status = %d (%s), want %d", got, body, want)
		}
		if resp.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After header")
		}
	})
}

// slowReader gives its bytes only after a pause, as a slow upload does.
type slowReader struct {
	r      io.Reader
	pause  time.Duration
	paused bool
}

func (s *slowReader) Read(p []byte) (int, error) {
	if !s.paused {
		time.Sleep(s.pause)
		s.paused = true
	}
	return s.r.Read(p)
}

// TestSlowUploadWithinPublishTimeout checks that the publish deadline
// starts once the body is read: an upload slower than publish_timeout still
// succeeds on a healthy bus.
func TestSlowUploadWithinPublishTimeout(t *testing.T) {
	b := runBus(t)
	s := startService(t, b.js, func(c *Config) { c.PublishTimeout = 200 * time.Millisecond })
	body := &slowReader{r: bytes.NewReader(mustMarshal(t, traceRequest(resourceSpans("slow", 2, nil, 0)))), pause: 600 * time.Millisecond}
	resp, got := post(t, s, PathTraces, contentTypeProto, "", body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d (%s), want 200", resp.StatusCode, got)
	}
}
