package pipeline

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/deploy/config"
)

// The embedded bus requires the configured user and password from TCP
// clients, and the in-process stages connect with them.
func TestEmbeddedBusRequiresCredentials(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	c := config.Default()
	c.OutputDir, c.DataDir = filepath.Join(dir, "out"), filepath.Join(dir, "data")
	c.Writer.WriteInterval = 50 * time.Millisecond
	c.Bus.Port = port
	c.Bus.User, c.Bus.Password = "otlp", "s3cret"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := Start(ctx, WithConfig(c), WithBusListen(true))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer func() {
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
		TraceId: make([]byte, 16), SpanId: make([]byte, 8), Name: "op",
	}}}}}}}
	req.ResourceSpans[0].ScopeSpans[0].Spans[0].TraceId[0] = 1
	req.ResourceSpans[0].ScopeSpans[0].Spans[0].SpanId[0] = 1
	if err := p.ExportTraces(ctx, req); err != nil {
		t.Fatalf("export over the in-process connection: %v", err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if nc, err := nats.Connect(p.BusURL()); err == nil {
		nc.Close()
		t.Errorf("connect without credentials: got no error")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("connect without credentials: got %v, want an authorization violation", err)
	}
	nc, err := nats.Connect(p.BusURL(), nats.UserInfo("otlp", "s3cret"))
	if err != nil {
		t.Fatalf("connect with credentials: %v", err)
	}
	nc.Close()
}

// A creds file (JWT) cannot configure the embedded server.
func TestEmbeddedBusRefusesCredsFile(t *testing.T) {
	dir := t.TempDir()
	c := config.Default()
	c.OutputDir, c.DataDir = filepath.Join(dir, "out"), filepath.Join(dir, "data")
	c.Bus.Port = 0
	c.Bus.CredsFile = filepath.Join(dir, "x.creds")
	p, err := Start(context.Background(), WithConfig(c))
	if err == nil {
		_ = p.Shutdown(context.Background())
		t.Fatal("start: got no error")
	}
	if !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("start: got %v, want config.ErrInvalid", err)
	}
}
