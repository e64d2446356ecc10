package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestNATSAuthAndTLS runs bus, ingest-grpc and writer with the bus
// requiring a user and password over mutual TLS: data flows and lands
// once, and stages with a wrong password or without a client certificate
// fail at start with a clear message.
func TestNATSAuthAndTLS(t *testing.T) {
	pki := newE2EPKI(t, t.TempDir())
	const password = "bus-s3cret"
	tp := startTopology(t,
		"OTLP_NATS_USER=otlp",
		"OTLP_NATS_PASSWORD="+password,
		"OTLP_NATS_SERVER_TLS_CERT_FILE="+pki.serverCert,
		"OTLP_NATS_SERVER_TLS_KEY_FILE="+pki.serverKey,
		"OTLP_NATS_SERVER_TLS_CLIENT_CA_FILE="+pki.ca,
		"OTLP_NATS_TLS_CA_FILE="+pki.ca,
		"OTLP_NATS_TLS_CERT_FILE="+pki.clientCert,
		"OTLP_NATS_TLS_KEY_FILE="+pki.clientKey,
	)
	if logs := tp.bus.logs(); strings.Contains(logs, password) {
		t.Errorf("bus log shows the password")
	}

	s := newSender(t, tp.grpcAddr)
	for range 10 {
		if err := s.send(context.Background(), 50); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	clientOpts := []nats.Option{
		nats.UserInfo("otlp", password),
		nats.RootCAs(pki.ca),
		nats.ClientCert(pki.clientCert, pki.clientKey),
	}
	waitDrained(t, tp.natsURL, clientOpts...)

	// Nobody gets in without the client certificate or the password.
	if nc, err := nats.Connect(tp.natsURL, nats.UserInfo("otlp", password), nats.RootCAs(pki.ca)); err == nil {
		nc.Close()
		t.Errorf("connect without a client certificate: got no error")
	}
	if nc, err := nats.Connect(tp.natsURL, nats.RootCAs(pki.ca), nats.ClientCert(pki.clientCert, pki.clientKey)); err == nil {
		nc.Close()
		t.Errorf("connect without the password: got no error")
	}

	stageEnv := append(append([]string{}, tp.env...), "OTLP_NATS_URL="+tp.natsURL)
	hostPort := strings.TrimPrefix(tp.natsURL, "nats://")
	for _, tt := range []struct {
		name string
		env  []string
		want string
	}{
		{"wrong-password", []string{"OTLP_NATS_PASSWORD=wrong-pw"}, "not authorized"},
		{"no-client-cert", []string{"OTLP_NATS_TLS_CERT_FILE=", "OTLP_NATS_TLS_KEY_FILE="}, "tls handshake failed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newProc(t, tp.dir, tt.name, append(append([]string{}, stageEnv...), tt.env...), "writer")
			p.startNoWait(t)
			var err error
			select {
			case err = <-p.waitErr:
			case <-time.After(60 * time.Second):
				_ = p.cmd.Process.Kill()
				t.Fatalf("stage did not fail at start:\n%s", p.logs())
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: got %v, want exit status 1:\n%s", err, p.logs())
			}
			logs := p.logs()
			for line := range strings.SplitSeq(logs, "\n") {
				if strings.HasPrefix(line, "otlp-arrow writer:") {
					t.Logf("stage says: %s", line)
				}
			}
			if !strings.Contains(logs, tt.want) || !strings.Contains(logs, hostPort) {
				t.Errorf("log lacks %q or the bus address %s:\n%s", tt.want, hostPort, logs)
			}
			if strings.Contains(logs, "wrong-pw") || strings.Contains(logs, password) {
				t.Errorf("log shows a password:\n%s", logs)
			}
		})
	}

	tp.ingest.stop(t)
	tp.writer.stop(t)
	tp.bus.stop(t)
	counts := spanCounts(t, tp.out)
	if len(counts) != 500 {
		t.Errorf("files hold %d spans, want 500", len(counts))
	}
	checkExactlyOnce(t, s, counts)
}

// e2ePKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, as PEM files generated for the test.
type e2ePKI struct {
	ca, serverCert, serverKey, clientCert, clientKey string
}

func newE2EPKI(t *testing.T, dir string) e2ePKI {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	caKey := key()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	p := e2ePKI{ca: write("ca.pem", "CERTIFICATE", caDER)}
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		k := key()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(name+".pem", "CERTIFICATE", der), write(name+"-key.pem", "EC PRIVATE KEY", keyDER)
	}
	p.serverCert, p.serverKey = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	// The pair must load, or the processes fail for a reason the test
	// does not mean.
	if _, err := tls.LoadX509KeyPair(p.clientCert, p.clientKey); err != nil {
		t.Fatal(err)
	}
	return p
}
