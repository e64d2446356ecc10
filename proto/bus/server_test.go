package bus_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func TestListen(t *testing.T) {
	ctx := testCtx(t)
	srv, _, js := bustest.RunJetStream(t, bustest.WithListen())
	url := srv.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") || strings.HasSuffix(url, ":0") || strings.HasSuffix(url, ":-1") {
		t.Fatalf("ClientURL: got %q, want nats://127.0.0.1:<port>", url)
	}
	_, tcpJS := connect(t, bus.ConnConfig{URL: url, Name: "tcp client"})
	if _, err := bus.Publish(ctx, tcpJS, testMessage(schema.Traces, "svc", "over tcp")); err != nil {
		t.Fatalf("publish over tcp: %v", err)
	}
	wantMsgs(t, js, schema.Traces, 1)
}

func TestNoListen(t *testing.T) {
	srv, _, _ := bustest.RunJetStream(t)
	if got := srv.ClientURL(); got != "" {
		t.Fatalf("ClientURL without a listener: got %q, want empty", got)
	}
	srv.Shutdown()
	srv.Shutdown() // idempotent
}

func TestRestartKeepsMessages(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	srv, nc, js := bustest.RunJetStream(t, bustest.WithStoreDir(dir))
	if _, err := bus.Publish(ctx, js, testMessage(schema.Logs, "svc", "durable")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	nc.Close()
	srv.Shutdown()

	_, _, js = bustest.RunJetStream(t, bustest.WithStoreDir(dir))
	wantMsgs(t, js, schema.Logs, 1)
	msg := ackOne(t, js, schema.Logs, bus.DurableWriter)
	if got := string(msg.Data()); got != "durable" {
		t.Fatalf("data after restart: got %q, want %q", got, "durable")
	}
}

func TestStartServerErrors(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, tt := range []struct {
		name string
		cfg  bus.ServerConfig
	}{
		{"no store dir", bus.ServerConfig{Port: bus.NoListen}},
		{"bad port", bus.ServerConfig{StoreDir: t.TempDir(), Port: 70000}},
		{"negative sync", bus.ServerConfig{StoreDir: t.TempDir(), Port: bus.NoListen, SyncInterval: -time.Second}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := bus.StartServer(tt.cfg, log)
			if !errors.Is(err, bus.ErrServerConfig) {
				if srv != nil {
					srv.Shutdown()
				}
				t.Fatalf("StartServer: got %v, want ErrServerConfig", err)
			}
		})
	}
}

func TestDefaultServerConfig(t *testing.T) {
	cfg := bus.DefaultServerConfig("/data")
	if cfg.StoreDir != "/data/jetstream" || cfg.Host != "127.0.0.1" || cfg.Port != 4222 ||
		cfg.MaxPayload != 8<<20 || cfg.SyncInterval != 0 {
		t.Fatalf("DefaultServerConfig: got %+v", cfg)
	}
}

func TestConnectGivesUp(t *testing.T) {
	// A port nobody listens on: take one and close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "nats://" + l.Addr().String()
	l.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, _, err = bus.Connect(ctx, bus.ConnConfig{URL: url}, slog.New(slog.DiscardHandler))
	if !errors.Is(err, bus.ErrUnavailable) {
		t.Fatalf("Connect to nothing: got %v, want ErrUnavailable", err)
	}
}

func TestConnectConfigErrors(t *testing.T) {
	ctx := testCtx(t)
	for _, tt := range []struct {
		name string
		cfg  bus.ConnConfig
	}{
		{"nothing to connect to", bus.ConnConfig{}},
		{"missing ca", bus.ConnConfig{URL: "nats://127.0.0.1:1", TLSCAFile: "/nonexistent/ca.pem"}},
		{"cert without key", bus.ConnConfig{URL: "nats://127.0.0.1:1", TLSCertFile: "/nonexistent/cert.pem"}},
		{"missing nkey", bus.ConnConfig{URL: "nats://127.0.0.1:1", NKeySeedFile: "/nonexistent/seed"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := bus.Connect(ctx, tt.cfg, nil)
			if !errors.Is(err, bus.ErrConnConfig) {
				t.Fatalf("Connect: got %v, want ErrConnConfig", err)
			}
		})
	}
}
