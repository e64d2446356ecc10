package ingest

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func TestPublisherSplitsPayloads(t *testing.T) {
	b := runBus(t)
	cfg := DefaultConfig()
	cfg.MaxPayloadBytes = 64 << 10
	reg := prometheus.NewRegistry()
	p, err := NewPublisher(b.js, cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	// A second publisher on the same registry shares the metrics.
	p2, err := NewPublisher(b.js, cfg, reg)
	if err != nil {
		t.Fatalf("second publisher on one registry: %v", err)
	}
	const spans = 200
	rejected, msg, err := p.PublishTraces(context.Background(), traceRequest(resourceSpans("split", spans, nil, 1000)), "sdk")
	if err != nil || rejected != 0 || msg != "" {
		t.Fatalf("PublishTraces = %d, %q, %v; want 0, \"\", nil", rejected, msg, err)
	}
	msgs := bustest.ReadMessages(t, b.js, schema.Traces)
	if len(msgs) < 2 {
		t.Fatalf("messages = %d, want the request split in several", len(msgs))
	}
	rows := 0
	for _, m := range msgs {
		if len(m.Data) > cfg.MaxPayloadBytes {
			t.Errorf("payload of %d bytes above the limit %d", len(m.Data), cfg.MaxPayloadBytes)
		}
		n, err := strconv.Atoi(m.Header.Get("Otlp-Rows"))
		if err != nil {
			t.Fatal(err)
		}
		rows += n
		if got, want := m.Header.Get("Otlp-Source"), "sdk"; got != want {
			t.Errorf("source = %q, want %q", got, want)
		}
	}
	if got, want := rows, spans; got != want {
		t.Errorf("sum of Otlp-Rows = %d, want %d", got, want)
	}
	var decoded int
	for _, rs := range bustest.Traces(t, msgs) {
		for _, ss := range rs.ScopeSpans {
			decoded += len(ss.Spans)
		}
	}
	if got, want := decoded, spans; got != want {
		t.Errorf("decoded spans = %d, want %d", got, want)
	}
	_ = p2
	if got, want := gatheredValue(t, reg, "otlp_arrow_ingest_rows_received_total", map[string]string{"protocol": "sdk", "signal": "traces"}), float64(spans); got != want {
		t.Errorf("rows_received_total = %v, want %v", got, want)
	}
}

func TestPublisherRejectsRowTooLarge(t *testing.T) {
	b := runBus(t)
	cfg := DefaultConfig()
	cfg.MaxPayloadBytes = 48 << 10
	reg := prometheus.NewRegistry()
	p, err := NewPublisher(b.js, cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	rejected, msg, err := p.PublishTraces(context.Background(), traceRequest(
		resourceSpans("small", 1, nil, 0), resourceSpans("huge", 1, nil, 100<<10)), SourceGRPC)
	if err != nil {
		t.Fatalf("PublishTraces: %v", err)
	}
	if got, want := rejected, int64(1); got != want || msg == "" {
		t.Errorf("rejected = %d, %q; want %d and a message", got, msg, want)
	}
	if got, want := gatheredValue(t, reg, "otlp_arrow_ingest_rows_rejected_total", map[string]string{"protocol": SourceGRPC, "signal": "traces", "reason": "too_large"}), 1.0; got != want {
		t.Errorf("rows_rejected_total{too_large} = %v, want %v", got, want)
	}
	_, _, err = p.PublishTraces(context.Background(), traceRequest(resourceSpans("huge", 1, nil, 100<<10)), SourceGRPC)
	if !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("only a huge row: err = %v, want ErrInvalidRequest", err)
	}
}

func TestServerMetrics(t *testing.T) {
	b := runBus(t)
	reg := prometheus.NewRegistry()
	cfg := DefaultConfig()
	cfg.GRPC.Addr, cfg.HTTP.Addr = "127.0.0.1:0", "127.0.0.1:0"
	s, err := New(cfg, b.js, testLogger(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for s.Ready() != nil {
		time.Sleep(5 * time.Millisecond)
	}
	mustSucceed(t, s)
	names := map[string]bool{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, want := range []string{
		"otlp_arrow_ingest_requests_total", "otlp_arrow_ingest_rows_received_total",
		"otlp_arrow_ingest_bus_publish_duration_seconds", "otlp_arrow_ingest_inflight_bytes",
	} {
		if !names[want] {
			t.Errorf("metric %s not registered (have %v)", want, names)
		}
	}
}

// gatheredValue returns the value of the counter or gauge series name with
// exactly the given labels, gathered from reg.
func gatheredValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue metrics
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}
