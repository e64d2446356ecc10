package ingest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
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
