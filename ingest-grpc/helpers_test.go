package ingest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// testBus is an embedded JetStream with the production streams.
type testBus struct {
	srv *bus.Server
	nc  *nats.Conn
	js  jetstream.JetStream
}

// runBus starts an embedded JetStream with the production streams.
func runBus(t *testing.T, opts ...bustest.Option) *testBus {
	t.Helper()
	srv, nc, js := bustest.RunJetStream(t, opts...)
	return &testBus{srv: srv, nc: nc, js: js}
}

// startService runs a Service on loopback port 0 publishing on js; it stops
// when the test ends. mutate, if not nil, adjusts the config first.
func startService(t *testing.T, js jetstream.Publisher, mutate func(*Config)) *Service {
	t.Helper()
	return startServiceReg(t, js, prometheus.NewRegistry(), mutate)
}

// startServiceReg is startService with the metrics registered on reg.
func startServiceReg(t *testing.T, js jetstream.Publisher, reg *prometheus.Registry, mutate func(*Config)) *Service {
	t.Helper()
	cfg := DefaultConfig()
	cfg.GRPC.Addr = "127.0.0.1:0"
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg, js, testLogger(t), reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for s.Ready() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("service not ready: %v", s.Ready())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// decodeRecords decodes one message's payload; the batches are released
// when the test ends.
func decodeRecords(t *testing.T, data []byte) []arrow.RecordBatch {
	t.Helper()
	_, recs, err := payload.Decode(data, nil)
	if err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	t.Cleanup(func() {
		for _, r := range recs {
			r.Release()
		}
	})
	return recs
}

func decodeTraces(t *testing.T, msgs []bustest.Msg) []*tracepb.ResourceSpans {
	t.Helper()
	var out []*tracepb.ResourceSpans
	for _, m := range msgs {
		rss, err := schema.TracesFromArrow(decodeRecords(t, m.Data))
		if err != nil {
			t.Fatalf("traces from arrow: %v", err)
		}
		out = append(out, rss...)
	}
	return out
}

func decodeMetrics(t *testing.T, msgs []bustest.Msg) []*metricspb.ResourceMetrics {
	t.Helper()
	var out []*metricspb.ResourceMetrics
	for _, m := range msgs {
		rms, err := schema.MetricsFromArrow(decodeRecords(t, m.Data))
		if err != nil {
			t.Fatalf("metrics from arrow: %v", err)
		}
		out = append(out, rms...)
	}
	return out
}

func decodeLogs(t *testing.T, msgs []bustest.Msg) []*logspb.ResourceLogs {
	t.Helper()
	var out []*logspb.ResourceLogs
	for _, m := range msgs {
		rls, err := schema.LogsFromArrow(decodeRecords(t, m.Data))
		if err != nil {
			t.Fatalf("logs from arrow: %v", err)
		}
		out = append(out, rls...)
	}
	return out
}

// allSpans flattens rss into name -> span.
func allSpans(rss []*tracepb.ResourceSpans) map[string]*tracepb.Span {
	out := map[string]*tracepb.Span{}
	for _, rs := range rss {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				out[s.GetName()] = s
			}
		}
	}
	return out
}
