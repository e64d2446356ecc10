package config

import (
	"errors"
	"strings"
	"testing"
)

func TestBusSecurityEnv(t *testing.T) {
	c := Default()
	err := ApplyEnv(&c, []string{
		"OTLP_NATS_NKEY_SEED_FILE=/s/user.nk",
		"OTLP_NATS_TLS_CA_FILE=/s/ca.pem",
		"OTLP_NATS_TLS_CERT_FILE=/s/client.pem",
		"OTLP_NATS_TLS_KEY_FILE=/s/client-key.pem",
		"OTLP_NATS_SERVER_TLS_CERT_FILE=/s/server.pem",
		"OTLP_NATS_SERVER_TLS_KEY_FILE=/s/server-key.pem",
		"OTLP_NATS_SERVER_TLS_CLIENT_CA_FILE=/s/ca.pem",
	})
	if err != nil {
		t.Fatal(err)
	}
	b := c.Bus
	got := []string{b.NKeySeedFile, b.TLSCA, b.TLSCert, b.TLSKey, b.ServerTLSCert, b.ServerTLSKey, b.ServerTLSClientCA}
	want := []string{"/s/user.nk", "/s/ca.pem", "/s/client.pem", "/s/client-key.pem", "/s/server.pem", "/s/server-key.pem", "/s/ca.pem"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d: got %q, want %q", i, got[i], want[i])
		}
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestBusSecurityInvalid(t *testing.T) {
	for _, tt := range []struct {
		name string
		f    func(*Bus)
		want string
	}{
		{"two auth methods", func(b *Bus) { b.User, b.Password, b.Token = "u", "hunter2", "hunter2" }, "bus.user"},
		{"nkey and creds", func(b *Bus) { b.NKeySeedFile, b.CredsFile = "a", "b" }, "bus.user"},
		{"client cert without key", func(b *Bus) { b.TLSCert = "c.pem" }, "bus.tls_key_file"},
		{"server cert without key", func(b *Bus) { b.ServerTLSCert = "c.pem" }, "bus.server_tls_key_file"},
		{"client ca without cert", func(b *Bus) { b.ServerTLSClientCA = "ca.pem" }, "bus.server_tls_client_ca_file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.f(&c.Bus)
			err := c.Validate()
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate: got %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("message %q: want %q named and no secret", err, tt.want)
			}
		})
	}
}
