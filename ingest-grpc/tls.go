package ingest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/credentials"
)

// serverTLS loads the certificate, key and client CAs of cfg; nil when TLS
// is off. With a client CA, clients must present a certificate it signed
// (tls.RequireAndVerifyClientCert): a client without one fails the
// handshake and is counted in tls_handshake_failures_total.
func serverTLS(cfg TLSConfig) (*tls.Config, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("load tls_cert_file/tls_key_file: %w", err)
	}
	tc := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
	}
	if cfg.ClientCAFile != "" {
		pem, err := os.ReadFile(cfg.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("load tls_client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("load tls_client_ca_file: %w: %s holds no PEM certificate", ErrInvalidConfig, cfg.ClientCAFile)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// countingCreds are gRPC transport credentials that count failed server
// handshakes (no or a bad client certificate, plain text on a TLS port).
type countingCreds struct {
	credentials.TransportCredentials
	failures prometheus.Counter
}

var _ credentials.TransportCredentials = countingCreds{}

func (c countingCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	out, info, err := c.TransportCredentials.ServerHandshake(conn)
	if err != nil {
		c.failures.Inc()
	}
	return out, info, err
}

func (c countingCreds) Clone() credentials.TransportCredentials {
	return countingCreds{TransportCredentials: c.TransportCredentials.Clone(), failures: c.failures}
}

// httpErrorLog is the HTTP server's error log: it counts TLS handshake
// failures (which net/http reports only there) and logs them at debug
// level, so a scanner cannot flood the log; other errors go out as
// warnings.
type httpErrorLog struct {
	log      *slog.Logger
	failures prometheus.Counter
}

func (w httpErrorLog) Write(p []byte) (int, error) {
	msg := string(bytes.TrimSpace(p))
	if bytes.Contains(p, []byte("TLS handshake error")) {
		w.failures.Inc()
		w.log.Debug("http server", "err", msg)
		return len(p), nil
	}
	w.log.Warn("http server", "err", msg)
	return len(p), nil
}

// loopbackOnly reports whether addr (host:port) binds to loopback only.
func loopbackOnly(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
