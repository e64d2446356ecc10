package ingestflight

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(*Config)
		field  string // "" when valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"bad addr", func(c *Config) { c.Addr = "4318" }, "addr"},
		{"bad addr ignored when disabled", func(c *Config) { c.Addr = ""; c.Enabled = false }, ""},
		{"tiny message", func(c *Config) { c.MaxMessageBytes = 10 }, "max_message_bytes"},
		{"no rows", func(c *Config) { c.MaxBatchRows = 0 }, "max_batch_rows"},
		{"tiny payload", func(c *Config) { c.MaxPayloadBytes = 10 }, "max_payload_bytes"},
		{"no retry", func(c *Config) { c.RetryAfter = 0 }, "retry_after"},
		{"payload compression", func(c *Config) { c.PayloadCompression = "gzip" }, "payload_compression"},
		{"payload zstd", func(c *Config) { c.PayloadCompression = "zstd" }, ""},
		{"no shutdown", func(c *Config) { c.ShutdownTimeout = 0 }, "shutdown_timeout"},
		{"in flight below a message", func(c *Config) { c.MaxInflightBytes = int64(c.MaxMessageBytes) - 1 }, "max_inflight_bytes"},
		{"negative admit wait", func(c *Config) { c.AdmitWait = -1 }, "admit_wait"},
		{"token with a space", func(c *Config) { c.Auth.Tokens = []string{"a b"} }, "auth_tokens[0]"},
		{"cert without key", func(c *Config) { c.TLS.CertFile = "c.pem" }, "tls_key_file"},
		{"client CA without TLS", func(c *Config) { c.TLS.ClientCAFile = "ca.pem" }, "tls_client_ca_file"},
		{"tokens and mutual TLS", func(c *Config) {
			c.Auth.Tokens = []string{"t0k"}
			c.TLS = TLSConfig{CertFile: "c.pem", KeyFile: "k.pem", ClientCAFile: "ca.pem"}
		}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate = %v, want ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.field+" =") {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
		})
	}
	c := DefaultConfig()
	if got, want := c.Addr, "127.0.0.1:4318"; got != want {
		t.Errorf("default addr = %s, want %s", got, want)
	}
	c.Auth.Tokens = []string{"s3cr3t-token"}
	for _, s := range []string{c.Auth.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c)} {
		if strings.Contains(s, "s3cr3t") {
			t.Errorf("config shows the token: %s", s)
		}
	}
}

// TestSharedRegistry checks that the stage registers on a registry another
// ingest stage (or a second instance) already uses, and counts requests
// with its protocol label.
func TestSharedRegistry(t *testing.T) {
	js := runBus(t)
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	if _, err := New(cfg, js, log, reg); err != nil {
		t.Fatalf("first New: %v", err)
	}
	s, err := New(cfg, js, log, reg)
	if err != nil {
		t.Fatalf("second New on the same registry: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for s.Ready() != nil {
		time.Sleep(5 * time.Millisecond)
	}
	c := flightClient(t, s)
	if _, err := doPut(t, c, "logs", toArrowLogs(t)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := s.Ready(); !errors.Is(err, ErrNotServing) {
		t.Errorf("Ready after stop = %v", err)
	}
	n, err := testutil.GatherAndCount(reg, "otlp_arrow_ingest_requests_total", "otlp_arrow_ingest_rows_received_total")
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("%d series, want 2 (requests and rows of flight/logs)", n)
	}
}

func TestDisabledRunsIdle(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Enabled = false
	s, err := New(cfg, runBus(t), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil || s.Addr() != nil {
		t.Fatalf("Listen = %v, Addr = %v; want nil, nil", err, s.Addr())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
}
