package ingestflight

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

var serial atomic.Int64

// certPair issues a certificate signed by ca (self-signed when ca is nil):
// a CA, a server certificate for 127.0.0.1 or a client certificate.
func certPair(t *testing.T, name string, ca *tls.Certificate, kind string) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	parent, parentKey := tmpl, any(key)
	switch kind {
	case "ca":
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
	case "server":
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	default:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	if ca != nil {
		parent, parentKey = ca.Leaf, ca.PrivateKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	pair, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	if err != nil {
		t.Fatal(err)
	}
	pair.Leaf, _ = x509.ParseCertificate(der)
	return pair, certPEM
}

func writePEM(t *testing.T, dir, name string, blocks ...[]byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	var all []byte
	for _, b := range blocks {
		all = append(all, b...)
	}
	if err := os.WriteFile(p, all, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMutualTLS serves Flight and OTAP over mutual TLS with a bearer token:
// a client with a trusted certificate and the token gets through; without
// a certificate, with an untrusted one or in plain text the handshake
// fails and is counted; without the token the call is UNAUTHENTICATED.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caPEM := certPair(t, "ca", nil, "ca")
	rogue, _ := certPair(t, "rogue-ca", nil, "ca")
	srv, _ := certPair(t, "server", &ca, "server")
	client, _ := certPair(t, "client", &ca, "client")
	bad, _ := certPair(t, "rogue", &rogue, "client")
	srvKey, err := x509.MarshalECPrivateKey(srv.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	cfg := TLSConfig{
		CertFile:     writePEM(t, dir, "server.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate[0]})),
		KeyFile:      writePEM(t, dir, "server.key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: srvKey})),
		ClientCAFile: writePEM(t, dir, "ca.pem", caPEM),
	}
	js := runBus(t)
	reg := prometheus.NewRegistry()
	s := startServiceReg(t, js, reg, func(c *Config) {
		c.TLS = cfg
		c.Auth.Tokens = []string{goodToken}
	})
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	put := func(tc *tls.Config, token string) error {
		var creds grpc.DialOption
		if tc == nil {
			creds = grpc.WithTransportCredentials(insecure.NewCredentials())
		} else {
			creds = grpc.WithTransportCredentials(credentials.NewTLS(tc))
		}
		conn, err := grpc.NewClient(s.Addr().String(), creds)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, err = rawPut(withToken(t, token), conn, flightData(t, "traces", toArrow(t, schema.TracesToArrow, fixtureTraces([]string{"tls"}, 1))))
		return err
	}
	if err := put(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{client}}, goodToken); err != nil {
		t.Fatalf("trusted certificate and token: %v", err)
	}
	if err := put(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{client}}, ""); status.Code(err) != codes.Unauthenticated {
		t.Errorf("trusted certificate without a token: %v, want UNAUTHENTICATED", err)
	}
	for name, tc := range map[string]*tls.Config{
		"no certificate":        {RootCAs: roots},
		"untrusted certificate": {RootCAs: roots, Certificates: []tls.Certificate{bad}},
		"plain text":            nil,
	} {
		if err := put(tc, goodToken); status.Code(err) != codes.Unavailable {
			t.Errorf("%s: %v, want the handshake to fail (UNAVAILABLE)", name, err)
		}
	}
	// The server counts a failed handshake after the client has given up
	// on it: wait for the counter.
	deadline := time.Now().Add(10 * time.Second)
	got := 0.0
	for {
		got = gatheredValue(t, reg, "otlp_arrow_ingest_tls_handshake_failures_total", map[string]string{"protocol": "flight"})
		if got >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got < 3 {
		t.Errorf("handshake failures = %v, want >= 3", got)
	}
	if got, want := len(bustest.ReadMessages(t, js, schema.Traces)), 1; got != want {
		t.Errorf("messages = %d, want %d", got, want)
	}
}
