package ingestauth

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

	"google.golang.org/grpc/credentials"
)

// issue returns a PEM certificate and key: self-signed CA when parent is
// nil, else signed by parent.
func issue(t *testing.T, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, server bool) (*x509.Certificate, *ecdsa.PrivateKey, []byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
		parent, parentKey = tmpl, key
	} else if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kb, _ := x509.MarshalECPrivateKey(key)
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func write(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestServerTLSMutual serves TLS with a client CA through the counting
// credentials and checks which clients get through.
func TestServerTLSMutual(t *testing.T) {
	dir := t.TempDir()
	ca, caKey, caPEM, _ := issue(t, "ca", nil, nil, false)
	_, _, sc, sk := issue(t, "server", ca, caKey, true)
	_, _, cc, ck := issue(t, "client", ca, caKey, false)
	rogue, rogueKey, _, _ := issue(t, "rogue", nil, nil, false)
	_, _, rc, rk := issue(t, "rogue-client", rogue, rogueKey, false)

	tc, err := ServerTLS(write(t, dir, "s.pem", sc), write(t, dir, "s.key", sk), write(t, dir, "ca.pem", caPEM))
	if err != nil {
		t.Fatal(err)
	}
	if tc.ClientAuth != tls.RequireAndVerifyClientCert || tc.MinVersion != tls.VersionTLS12 {
		t.Fatalf("client auth %v, min version %x", tc.ClientAuth, tc.MinVersion)
	}
	var failures atomic.Int64
	creds := CountHandshakeFailures(credentials.NewTLS(tc), func() { failures.Add(1) }).Clone()

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	pair := func(c, k []byte) []tls.Certificate {
		kp, err := tls.X509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{kp}
	}
	for _, tt := range []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{
		{"trusted client", pair(cc, ck), true},
		{"no certificate", nil, false},
		{"untrusted certificate", pair(rc, rk), false},
	} {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			srv, err := lis.Accept()
			if err != nil {
				done <- err
				return
			}
			conn, _, err := creds.ServerHandshake(srv)
			if err == nil {
				_ = conn.Close()
			} else {
				_ = srv.Close()
			}
			done <- err
		}()
		cli, err := net.Dial("tcp", lis.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c := tls.Client(cli, &tls.Config{RootCAs: roots, Certificates: tt.certs, ServerName: "127.0.0.1", NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12})
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_ = c.Handshake()
		_, _ = c.Read(make([]byte, 1)) // TLS 1.3: the server's verdict on the client certificate arrives after the handshake
		_ = c.Close()
		_ = lis.Close()
		if err := <-done; (err == nil) != tt.ok {
			t.Errorf("%s: server handshake err = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	if got, want := failures.Load(), int64(2); got != want {
		t.Errorf("failures counted = %d, want %d", got, want)
	}
}

func TestServerTLSErrors(t *testing.T) {
	dir := t.TempDir()
	ca, caKey, _, _ := issue(t, "ca", nil, nil, false)
	_, _, sc, sk := issue(t, "server", ca, caKey, true)
	cert, key := write(t, dir, "s.pem", sc), write(t, dir, "s.key", sk)
	notPEM := write(t, dir, "x", []byte("not pem"))
	if tc, err := ServerTLS("", "", ""); tc != nil || err != nil {
		t.Errorf("no certificate: %v, %v; want TLS off", tc, err)
	}
	if tc, err := ServerTLS(cert, key, ""); err != nil || tc.ClientAuth != tls.NoClientCert {
		t.Errorf("TLS without client CA: %v", err)
	}
	for _, tt := range []struct {
		name          string
		cert, key, ca string
	}{
		{"missing cert", filepath.Join(dir, "none"), key, ""},
		{"bad key", cert, notPEM, ""},
		{"missing client CA", cert, key, filepath.Join(dir, "none")},
		{"bad client CA", cert, key, notPEM},
	} {
		if _, err := ServerTLS(tt.cert, tt.key, tt.ca); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:4317": true, "[::1]:4317": true, "localhost:1": true,
		"0.0.0.0:4317": false, ":4317": false, "10.0.0.1:1": false, "bad": false,
	} {
		if got := LoopbackOnly(addr); got != want {
			t.Errorf("LoopbackOnly(%q) = %v, want %v", addr, got, want)
		}
	}
}
