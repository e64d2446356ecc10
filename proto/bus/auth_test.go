package bus_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// authCtx bounds a connect that must fail: nats.go gives up on a refused
// login after its second attempt, about 2 s later.
func authCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startAuthServer starts an embedded server listening on a random
// loopback port with f applied to its configuration.
func startAuthServer(t *testing.T, f func(*bus.ServerConfig)) *bus.Server {
	t.Helper()
	cfg := bus.ServerConfig{StoreDir: t.TempDir(), Host: "127.0.0.1", Port: 0}
	f(&cfg)
	srv, err := bus.StartServer(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// publishOK connects with cfg, declares the streams and publishes one
// message.
func publishOK(t *testing.T, cfg bus.ConnConfig) {
	t.Helper()
	ctx := authCtx(t)
	nc, js, err := bus.Connect(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer nc.Close()
	if err := bus.EnsureStreams(ctx, js, bus.DefaultStreamsConfig()); err != nil {
		t.Fatalf("ensure streams: %v", err)
	}
	if _, err := bus.Publish(ctx, js, testMessage(schema.Traces, "svc", "secured")); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// connectFails connects with cfg and wants an error wrapping want that
// does not contain any of secrets.
func connectFails(t *testing.T, cfg bus.ConnConfig, want error, secrets ...string) {
	t.Helper()
	nc, _, err := bus.Connect(authCtx(t), cfg, slog.New(slog.DiscardHandler))
	if err == nil {
		nc.Close()
		t.Fatalf("connect: got no error, want %v", want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("connect: got %v, want %v", err, want)
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("connect error %q reveals the secret %q", err, s)
		}
	}
	t.Logf("refused as wanted: %v", err)
}

func TestUserPassword(t *testing.T) {
	srv := startAuthServer(t, func(c *bus.ServerConfig) {
		c.Auth = bus.ServerAuth{User: "otlp", Password: "s3cret-pw"}
	})
	url := srv.ClientURL()
	hostPort := strings.TrimPrefix(url, "nats://")
	t.Run("no credentials", func(t *testing.T) {
		connectFails(t, bus.ConnConfig{URL: url}, bus.ErrNotAuthorized)
	})
	t.Run("wrong password", func(t *testing.T) {
		connectFails(t, bus.ConnConfig{URL: url, User: "otlp", Password: "wrong-pw"}, bus.ErrNotAuthorized, "wrong-pw")
	})
	t.Run("wrong password in url", func(t *testing.T) {
		cfg := bus.ConnConfig{URL: "nats://otlp:wrong-pw@" + hostPort}
		nc, _, err := bus.Connect(authCtx(t), cfg, nil)
		if err == nil {
			nc.Close()
			t.Fatal("connect: got no error")
		}
		if !errors.Is(err, bus.ErrNotAuthorized) || strings.Contains(err.Error(), "wrong-pw") || !strings.Contains(err.Error(), hostPort) {
			t.Fatalf("connect: got %q, want ErrNotAuthorized naming %s without the password", err, hostPort)
		}
	})
	t.Run("in-process without credentials", func(t *testing.T) {
		connectFails(t, bus.ConnConfig{InProcess: srv.NATS()}, bus.ErrNotAuthorized)
	})
	t.Run("right credentials", func(t *testing.T) {
		publishOK(t, bus.ConnConfig{URL: url, User: "otlp", Password: "s3cret-pw"})
	})
	t.Run("in-process with credentials", func(t *testing.T) {
		publishOK(t, bus.ConnConfig{InProcess: srv.NATS(), User: "otlp", Password: "s3cret-pw"})
	})
}

func TestToken(t *testing.T) {
	srv := startAuthServer(t, func(c *bus.ServerConfig) { c.Auth = bus.ServerAuth{Token: "tok-123"} })
	connectFails(t, bus.ConnConfig{URL: srv.ClientURL()}, bus.ErrNotAuthorized)
	connectFails(t, bus.ConnConfig{URL: srv.ClientURL(), Token: "tok-bad"}, bus.ErrNotAuthorized, "tok-bad")
	publishOK(t, bus.ConnConfig{URL: srv.ClientURL(), Token: "tok-123"})
	publishOK(t, bus.ConnConfig{InProcess: srv.NATS(), Token: "tok-123"})
}

// writeSeed creates an NKey user and writes its seed to a file.
func writeSeed(t *testing.T, dir, name string) string {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestNKey(t *testing.T) {
	dir := t.TempDir()
	seed := writeSeed(t, dir, "user.nk")
	other := writeSeed(t, dir, "other.nk")
	pub, err := bus.NKeyPublicKey(seed)
	if err != nil {
		t.Fatalf("NKeyPublicKey: %v", err)
	}
	if !strings.HasPrefix(pub, "U") {
		t.Fatalf("NKeyPublicKey: got %q, want a public user key", pub)
	}
	srv := startAuthServer(t, func(c *bus.ServerConfig) { c.Auth = bus.ServerAuth{NKeys: []string{pub}} })
	connectFails(t, bus.ConnConfig{URL: srv.ClientURL()}, bus.ErrNotAuthorized)
	connectFails(t, bus.ConnConfig{URL: srv.ClientURL(), NKeySeedFile: other}, bus.ErrNotAuthorized)
	publishOK(t, bus.ConnConfig{URL: srv.ClientURL(), NKeySeedFile: seed})
	publishOK(t, bus.ConnConfig{InProcess: srv.NATS(), NKeySeedFile: seed})

	bad := filepath.Join(dir, "bad.nk")
	if err := os.WriteFile(bad, []byte("not a seed"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing.nk")} {
		if _, err := bus.NKeyPublicKey(path); err == nil {
			t.Errorf("NKeyPublicKey(%s): got no error", filepath.Base(path))
		}
	}
}

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type testPKI struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
}

func newTestPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	p := testPKI{caFile: filepath.Join(dir, "ca.pem")}
	writePEM(t, p.caFile, "CERTIFICATE", caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		certFile, keyFile := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
		writePEM(t, certFile, "CERTIFICATE", der)
		writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
		return certFile, keyFile
	}
	p.serverCert, p.serverKey = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	return p
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTLS(t *testing.T) {
	pki := newTestPKI(t, t.TempDir())
	srv := startAuthServer(t, func(c *bus.ServerConfig) {
		c.TLS = bus.ServerTLS{CertFile: pki.serverCert, KeyFile: pki.serverKey}
		c.Auth = bus.ServerAuth{User: "otlp", Password: "pw"}
	})
	url := srv.ClientURL()
	if !strings.HasPrefix(url, "tls://127.0.0.1:") {
		t.Fatalf("ClientURL: got %q, want tls://127.0.0.1:<port>", url)
	}
	plainURL := "nats://" + strings.TrimPrefix(url, "tls://")
	// A client not trusting the server's CA is refused at once.
	connectFails(t, bus.ConnConfig{URL: url, User: "otlp", Password: "pw"}, bus.ErrTLSHandshake)
	// A nats:// URL is upgraded, since the server requires TLS.
	publishOK(t, bus.ConnConfig{URL: plainURL, User: "otlp", Password: "pw", TLSCAFile: pki.caFile})
	publishOK(t, bus.ConnConfig{URL: url, User: "otlp", Password: "pw", TLSCAFile: pki.caFile})
	// In-process clients skip TLS, even with TLS settings.
	publishOK(t, bus.ConnConfig{InProcess: srv.NATS(), User: "otlp", Password: "pw", TLSCAFile: pki.caFile})
}

func TestMutualTLS(t *testing.T) {
	pki := newTestPKI(t, t.TempDir())
	srv := startAuthServer(t, func(c *bus.ServerConfig) {
		c.TLS = bus.ServerTLS{CertFile: pki.serverCert, KeyFile: pki.serverKey, ClientCAFile: pki.caFile}
	})
	url := srv.ClientURL()
	connectFails(t, bus.ConnConfig{URL: url, TLSCAFile: pki.caFile}, bus.ErrTLSHandshake)
	// The server's certificate is not a client certificate.
	publishOK(t, bus.ConnConfig{URL: url, TLSCAFile: pki.caFile, TLSCertFile: pki.clientCert, TLSKeyFile: pki.clientKey})
	publishOK(t, bus.ConnConfig{InProcess: srv.NATS()})
}

func TestServerAuthConfigErrors(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir)
	for _, tt := range []struct {
		name string
		f    func(*bus.ServerConfig)
	}{
		{"user without password", func(c *bus.ServerConfig) { c.Auth.User = "u" }},
		{"password without user", func(c *bus.ServerConfig) { c.Auth.Password = "p" }},
		{"token and user", func(c *bus.ServerConfig) { c.Auth = bus.ServerAuth{User: "u", Password: "p", Token: "t"} }},
		{"not a public user key", func(c *bus.ServerConfig) { c.Auth.NKeys = []string{"SUAXYZ"} }},
		{"cert without key", func(c *bus.ServerConfig) { c.TLS.CertFile = pki.serverCert }},
		{"client ca without cert", func(c *bus.ServerConfig) { c.TLS.ClientCAFile = pki.caFile }},
		{"missing cert file", func(c *bus.ServerConfig) {
			c.TLS = bus.ServerTLS{CertFile: filepath.Join(dir, "missing.pem"), KeyFile: pki.serverKey}
		}},
		{"client ca not pem", func(c *bus.ServerConfig) {
			c.TLS = bus.ServerTLS{CertFile: pki.serverCert, KeyFile: pki.serverKey, ClientCAFile: pki.serverKey}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := bus.ServerConfig{StoreDir: t.TempDir(), Port: bus.NoListen}
			tt.f(&cfg)
			srv, err := bus.StartServer(cfg, nil)
			if !errors.Is(err, bus.ErrServerConfig) {
				if srv != nil {
					srv.Shutdown()
				}
				t.Fatalf("StartServer: got %v, want ErrServerConfig", err)
			}
		})
	}
}
