package ingest

import (
	"errors"
	"strings"
	"testing"
)

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v, want nil", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		field  string // named in the error; "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"grpc addr", func(c *Config) { c.GRPC.Addr = "nohost" }, "grpc.addr"},
		{"http addr", func(c *Config) { c.HTTP.Addr = "" }, "http.addr"},
		{"disabled http ignores addr", func(c *Config) { c.HTTP.Enabled = false; c.HTTP.Addr = "" }, ""},
		{"max request", func(c *Config) { c.MaxRequestBytes = 0 }, "max_request_bytes"},
		{"inflight below request", func(c *Config) { c.MaxInflightBytes = int64(c.MaxRequestBytes) - 1 }, "max_inflight_bytes"},
		{"payload", func(c *Config) { c.MaxPayloadBytes = 10 }, "max_payload_bytes"},
		{"retry after", func(c *Config) { c.RetryAfter = 0 }, "retry_after"},
		{"admit wait", func(c *Config) { c.AdmitWait = -1 }, "admit_wait"},
		{"shutdown", func(c *Config) { c.ShutdownTimeout = 0 }, "shutdown_timeout"},
		{"payload compression", func(c *Config) { c.PayloadCompression = "gzip" }, "payload_compression"},
		{"payload lz4", func(c *Config) { c.PayloadCompression = "lz4" }, ""},
		{"max attributes", func(c *Config) { c.MaxAttributes = -1 }, "max_attributes"},
		{"no attribute limits", func(c *Config) { c.MaxAttributes = 0; c.MaxAttributeValueLength = 0 }, ""},
		{"value length", func(c *Config) { c.MaxAttributeValueLength = -1 }, "max_attribute_value_length"},
		{"empty token", func(c *Config) { c.Auth.Tokens = []string{"ok", ""} }, "auth_tokens[1]"},
		{"token with space", func(c *Config) { c.Auth.Tokens = []string{"a b"} }, "auth_tokens[0]"},
		{"cert without key", func(c *Config) { c.TLS.CertFile = "c.pem" }, "tls_key_file"},
		{"client CA without cert", func(c *Config) { c.TLS.ClientCAFile = "ca.pem" }, "tls_client_ca_file"},
		{"tls", func(c *Config) { c.TLS = TLSConfig{CertFile: "c", KeyFile: "k", ClientCAFile: "ca"} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.modify(&cfg)
			err := cfg.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("Validate() = %q, want it to name %q", err, tt.field)
			}
		})
	}
}

func TestConfigValidateJoinsErrors(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RetryAfter = 0
	cfg.ShutdownTimeout = 0
	err := cfg.Validate()
	for _, field := range []string{"retry_after", "shutdown_timeout"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("Validate() = %v, want it to name %q", err, field)
		}
	}
}
