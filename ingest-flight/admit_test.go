package ingestflight

import (
	"context"
	"strings"
	"testing"
	"time"

	arrowpb "github.com/open-telemetry/otel-arrow/go/api/experimental/arrow/v1"
	"github.com/open-telemetry/otel-arrow/go/pkg/otel/arrow_record"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// TestInflightBackpressure fills the bytes in flight and checks that Flight
// and OTAP answer UNAVAILABLE with a retry hint, then accept once there is
// room again.
func TestInflightBackpressure(t *testing.T) {
	js := runBus(t)
	reg := prometheus.NewRegistry()
	s := startServiceReg(t, js, reg, func(c *Config) {
		c.MaxMessageBytes = 1 << 20
		c.MaxInflightBytes = 1 << 20
		c.AdmitWait = 20 * time.Millisecond
	})
	conn := grpcConn(t, s)
	full, err := s.limiter.Acquire(context.Background(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got := gatheredValue(t, reg, "otlp_arrow_ingest_flight_inflight_bytes", nil); got != 1<<20 {
		t.Errorf("in-flight gauge = %v, want %d", got, 1<<20)
	}
	msgs := flightData(t, "traces", toArrow(t, schema.TracesToArrow, fixtureTraces([]string{"busy"}, 2)))
	_, err = rawPut(withToken(t, ""), conn, msgs)
	if got, want := status.Code(err), codes.Unavailable; got != want {
		t.Fatalf("flight while full: %v, want %v", err, want)
	}
	if retryInfo(err) == nil {
		t.Error("flight while full: no RetryInfo")
	}
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "too many bytes in flight") {
		t.Errorf("flight while full: message %q", msg)
	}
	p := arrow_record.NewProducer()
	defer func() { _ = p.Close() }()
	bar, err := p.BatchArrowRecordsFromTraces(pdataTraces(t, fixtureTraces([]string{"otap-busy"}, 2)))
	if err != nil {
		t.Fatal(err)
	}
	st := openOTAP(t, conn, schema.Traces)
	res := roundTrip(t, st, bar)
	if got, want := res.GetStatusCode(), arrowpb.StatusCode_UNAVAILABLE; got != want {
		t.Fatalf("otap while full: %v %q, want %v", got, res.GetStatusMessage(), want)
	}
	if !strings.Contains(res.GetStatusMessage(), "retry after") {
		t.Errorf("otap while full: message %q", res.GetStatusMessage())
	}

	full.Release()
	if _, err := rawPut(withToken(t, ""), conn, msgs); err != nil {
		t.Fatalf("flight after release: %v", err)
	}
	if res := roundTrip(t, st, bar); res.GetStatusCode() != arrowpb.StatusCode_OK {
		t.Fatalf("otap after release: %v %q", res.GetStatusCode(), res.GetStatusMessage())
	}
	closeOTAP(t, st)
	if got := s.limiter.InFlight(); got != 0 {
		t.Errorf("bytes in flight at the end = %d, want 0", got)
	}
	if got, want := len(bustest.ReadMessages(t, js, schema.Traces)), 2; got != want {
		t.Errorf("messages = %d, want %d", got, want)
	}
}
