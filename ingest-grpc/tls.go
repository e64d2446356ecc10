package ingest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/credentials"

	"github.com/otlp-arrow/otlp-arrow/proto/ingestauth"
)

// serverTLS loads the certificate, key and client CAs of cfg; nil when TLS
// is off. With a client CA, clients must present a certificate it signed
// (tls.RequireAndVerifyClientCert): a client without one fails the
// handshake and is counted in tls_handshake_failures_total.
func serverTLS(cfg TLSConfig) (*tls.Config, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	tc, err := ingestauth.ServerTLS(cfg.CertFile, cfg.KeyFile, cfg.ClientCAFile)
	if errors.Is(err, ingestauth.ErrInvalidConfig) {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return tc, err
}

// countingCreds returns gRPC transport credentials that count failed server
// handshakes (no or a bad client certificate, plain text on a TLS port).
func countingCreds(creds credentials.TransportCredentials, failures prometheus.Counter) credentials.TransportCredentials {
	return ingestauth.CountHandshakeFailures(creds, failures.Inc)
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
func loopbackOnly(addr string) bool { return ingestauth.LoopbackOnly(addr) }
