package ingest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// testCA is a certificate authority made in the test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

var serial int64

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a PEM certificate and key signed by ca: a server
// certificate for 127.0.0.1, or a client certificate.
func (ca *testCA) issue(t *testing.T, name string, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsSetup is a server certificate (and optionally a client CA) on disk, and
// client TLS configurations: trusted, without a certificate, and with a
// certificate of another CA.
type tlsSetup struct {
	cfg                       TLSConfig
	withCert, noCert, badCert *tls.Config
}

func newTLSSetup(t *testing.T, mutual bool) tlsSetup {
	t.Helper()
	dir := t.TempDir()
	ca, clientCA, rogue := newCA(t, "server-ca"), newCA(t, "client-ca"), newCA(t, "rogue-ca")
	sc, sk := ca.issue(t, "server", true)
	cc, ck := clientCA.issue(t, "client", false)
	rc, rk := rogue.issue(t, "rogue", false)
	s := tlsSetup{cfg: TLSConfig{CertFile: writeFile(t, dir, "server.pem", sc), KeyFile: writeFile(t, dir, "server.key", sk)}}
	if mutual {
		s.cfg.ClientCAFile = writeFile(t, dir, "client-ca.pem", clientCA.pem)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.pem)
	pair := func(c, k []byte) []tls.Certificate {
		kp, err := tls.X509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{kp}
	}
	s.withCert = &tls.Config{RootCAs: roots, Certificates: pair(cc, ck)}
	s.noCert = &tls.Config{RootCAs: roots}
	s.badCert = &tls.Config{RootCAs: roots, Certificates: pair(rc, rk)}
	return s
}

func tlsExport(t *testing.T, s *Service, tc *tls.Config, token string) error {
	t.Helper()
	conn, err := grpc.NewClient(s.GRPCAddr().String(), grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	_, err = coltracepb.NewTraceServiceClient(conn).Export(ctx, traceRequest(resourceSpans("tls", 1, nil, 0)))
	return err
}

func tlsPost(t *testing.T, s *Service, tc *tls.Config, token string) (int, error) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodPost, "https://"+s.HTTPAddr().String()+PathTraces,
		bytes.NewReader(mustMarshal(t, traceRequest(resourceSpans("tls", 1, nil, 0)))))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentTypeProto)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestMutualTLS(t *testing.T) {
	b := runBus(t)
	reg := prometheus.NewRegistry()
	setup := newTLSSetup(t, true)
	s := startServiceReg(t, b.js, reg, func(c *Config) { c.TLS = setup.cfg })

	if err := tlsExport(t, s, setup.withCert, ""); err != nil {
		t.Fatalf("gRPC with a trusted client certificate: %v", err)
	}
	if code, err := tlsPost(t, s, setup.withCert, ""); err != nil || code != http.StatusOK {
		t.Fatalf("HTTP with a trusted client certificate: %d, %v", code, err)
	}
	for name, tc := range map[string]*tls.Config{"no certificate": setup.noCert, "untrusted certificate": setup.badCert} {
		if err := tlsExport(t, s, tc, ""); status.Code(err) != codes.Unavailable {
			t.Errorf("gRPC with %s: %v, want the handshake to fail (UNAVAILABLE)", name, err)
		}
		if code, err := tlsPost(t, s, tc, ""); err == nil {
			t.Errorf("HTTP with %s: status %d, want the handshake to fail", name, code)
		}
	}
	// Plain text on the TLS ports fails too.
	if _, err := exportTraces(t, s, traceRequest(resourceSpans("plain", 1, nil, 0))); status.Code(err) != codes.Unavailable {
		t.Errorf("plain-text gRPC: %v, want UNAVAILABLE", err)
	}
	// The server counts a failed handshake after the client has given up
	// on it: wait for the counter.
	for _, proto := range []string{"grpc", "http"} {
		deadline := time.Now().Add(10 * time.Second)
		got := 0.0
		for {
			got = gatheredValue(t, reg, "otlp_arrow_ingest_tls_handshake_failures_total", map[string]string{"protocol": proto})
			if got >= 2 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if got < 2 {
			t.Errorf("%s handshake failures = %v, want >= 2", proto, got)
		}
	}
	if got, want := len(bustest.ReadMessages(t, b.js, schema.Traces)), 2; got != want {
		t.Errorf("messages = %d, want %d (one per accepted request)", got, want)
	}
}

func TestTLSWithBearerToken(t *testing.T) {
	b := runBus(t)
	setup := newTLSSetup(t, false)
	s := startService(t, b.js, func(c *Config) {
		c.TLS = setup.cfg
		c.Auth.Tokens = []string{goodToken}
	})
	if err := tlsExport(t, s, setup.noCert, goodToken); err != nil {
		t.Fatalf("gRPC over TLS with a token: %v", err)
	}
	if err := tlsExport(t, s, setup.noCert, ""); status.Code(err) != codes.Unauthenticated {
		t.Errorf("gRPC over TLS without a token: %v, want UNAUTHENTICATED", err)
	}
	if code, err := tlsPost(t, s, setup.noCert, goodToken); err != nil || code != http.StatusOK {
		t.Fatalf("HTTP over TLS with a token: %d, %v", code, err)
	}
	if code, err := tlsPost(t, s, setup.noCert, "wrong"); err != nil || code != http.StatusUnauthorized {
		t.Errorf("HTTP over TLS with a bad token: %d, %v; want 401", code, err)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := writeFile(t, dir, "x", []byte("not pem"))
	setup := newTLSSetup(t, false)
	for _, tt := range []struct {
		name string
		cfg  TLSConfig
	}{
		{"missing cert", TLSConfig{CertFile: filepath.Join(dir, "none"), KeyFile: setup.cfg.KeyFile}},
		{"bad key", TLSConfig{CertFile: setup.cfg.CertFile, KeyFile: notPEM}},
		{"bad client CA", TLSConfig{CertFile: setup.cfg.CertFile, KeyFile: setup.cfg.KeyFile, ClientCAFile: notPEM}},
	} {
		if _, err := serverTLS(tt.cfg); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:4317": true, "[::1]:4317": true, "localhost:1": true,
		"0.0.0.0:4317": false, ":4317": false, "10.0.0.1:1": false, "bad": false,
	} {
		if got := loopbackOnly(addr); got != want {
			t.Errorf("loopbackOnly(%q) = %v, want %v", addr, got, want)
		}
	}
}
