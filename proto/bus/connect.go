package bus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ConnConfig says how a stage reaches NATS. Secrets (Password, Token, file
// contents) never appear in logs or errors.
type ConnConfig struct {
	URL       string         // comma-separated list allowed; empty = use InProcess
	InProcess *server.Server // when set, connect in-process (nats.InProcessServer)

	CredsFile    string // NATS credentials file (JWT + seed)
	User         string
	Password     string
	Token        string
	NKeySeedFile string

	TLSCAFile             string
	TLSCertFile           string
	TLSKeyFile            string
	TLSInsecureSkipVerify bool

	Name string // connection name, e.g. "otlp-arrow writer"
}

// target names the server cfg connects to in logs and errors: the URLs
// with any password redacted, or "in-process".
func (cfg ConnConfig) target() string {
	if cfg.URL == "" {
		return "in-process"
	}
	var out []string
	for u := range strings.SplitSeq(cfg.URL, ",") {
		out = append(out, redactURL(strings.TrimSpace(u)))
	}
	return strings.Join(out, ",")
}

// redactURL hides the password or token in a NATS URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable url)"
	}
	if u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		// nats://TOKEN@host: the user part is the token.
		u.User = url.User("redacted")
	}
	return u.Redacted()
}

// Errors wrapped by Connect.
var (
	// ErrConnConfig: the ConnConfig is invalid.
	ErrConnConfig = errors.New("bus: invalid connection config")
	// ErrNotAuthorized: the server refused the credentials (or their
	// absence). Retrying does not help; the configuration must change.
	ErrNotAuthorized = errors.New("bus: not authorized (check the bus user and password, token, nkey seed file or creds file)")
	// ErrTLSHandshake: the server's certificate was not trusted, or the
	// server refused the client's (or its absence). Retrying does not help.
	ErrTLSHandshake = errors.New("bus: tls handshake failed (check the bus tls ca, cert and key files)")
)

// natsOptions turns cfg into nats.go options, without the handlers.
func (cfg ConnConfig) natsOptions() ([]nats.Option, error) {
	if cfg.URL == "" && cfg.InProcess == nil {
		return nil, fmt.Errorf("%w: set a url or an in-process server", ErrConnConfig)
	}
	inProcess := cfg.URL == ""
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		// The in-process server is up already: a failed first attempt is
		// final.
		nats.RetryOnFailedConnect(!inProcess),
		// No reconnect buffer: a publish while disconnected fails at once
		// (mapped to ErrUnavailable, so the OTLP client retries) instead of
		// queueing megabytes that may never be acknowledged.
		nats.ReconnectBufSize(-1),
	}
	if inProcess {
		opts = append(opts, nats.InProcessServer(cfg.InProcess))
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.NKeySeedFile != "" {
		opt, err := nats.NkeyOptionFromSeed(cfg.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("%w: nkey seed file %s: %w", ErrConnConfig, cfg.NKeySeedFile, err)
		}
		opts = append(opts, opt)
	}
	if cfg.User != "" || cfg.Password != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	if inProcess {
		// Nothing leaves the process: the server does not ask in-process
		// clients for TLS, and their certificates are not needed.
		return opts, nil
	}
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	if tlsCfg != nil {
		opts = append(opts, nats.Secure(tlsCfg))
	}
	return opts, nil
}

// tlsConfig returns nil when cfg asks for no TLS settings (a tls:// URL
// still gets TLS with the system roots).
func (cfg ConnConfig) tlsConfig() (*tls.Config, error) {
	if cfg.TLSCAFile == "" && cfg.TLSCertFile == "" && cfg.TLSKeyFile == "" && !cfg.TLSInsecureSkipVerify {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.TLSInsecureSkipVerify} //nolint:gosec // opt-in
	if cfg.TLSCAFile != "" {
		pem, err := os.ReadFile(cfg.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: tls ca file: %w", ErrConnConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: tls ca file %s: no PEM certificates", ErrConnConfig, cfg.TLSCAFile)
		}
		tc.RootCAs = pool
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return nil, fmt.Errorf("%w: tls cert file and key file go together", ErrConnConfig)
	}
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: tls cert/key (%s, %s): %w", ErrConnConfig, cfg.TLSCertFile, cfg.TLSKeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Connect connects to NATS and returns the connection and its JetStream
// context. It waits until the first connection succeeds or ctx is done;
// afterwards the connection reconnects forever, logging each disconnect and
// reconnect at info level. While it waits, a refusal that retrying cannot
// cure ends the wait at once: the server rejecting the credentials
// (ErrNotAuthorized) or a TLS certificate not trusted on either side
// (ErrTLSHandshake). Other failures (server not reachable yet) are logged
// once each and retried. Errors name the server by its URL with any
// password redacted. The caller closes the connection (Drain or Close).
func Connect(ctx context.Context, cfg ConnConfig, log *slog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	target := cfg.target()
	opts, err := cfg.natsOptions()
	if err != nil {
		return nil, nil, fmt.Errorf("connect nats %s: %w", target, err)
	}
	connected := make(chan struct{}, 1)
	closed := make(chan struct{})
	var closeOnce sync.Once
	signal := func() {
		select {
		case connected <- struct{}{}:
		default:
		}
	}
	opts = append(opts,
		nats.ConnectHandler(func(nc *nats.Conn) {
			log.Info("nats connected", "url", nc.ConnectedUrlRedacted(), "name", cfg.Name)
			signal()
		}),
		nats.ClosedHandler(func(*nats.Conn) { closeOnce.Do(func() { close(closed) }) }),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil {
				log.Info("nats disconnected", "name", cfg.Name, "error", err)
			} else {
				log.Info("nats disconnected", "name", cfg.Name)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted(), "name", cfg.Name)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				log.Warn("nats async error", "name", cfg.Name, LogKeySubject, sub.Subject, "error", err)
				return
			}
			log.Warn("nats async error", "name", cfg.Name, "error", err)
		}),
	)

	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		if cfg.URL == "" {
			err = inProcessRefusal(cfg.InProcess, err)
		}
		return nil, nil, fmt.Errorf("connect nats %s: %w", target, refusal(err))
	}
	// With RetryOnFailedConnect the first attempt may fail and go on in the
	// background; ConnectHandler fires once it succeeds (also when it
	// succeeded already, before Connect returned).
	if !nc.IsConnected() {
		log.Info("nats not reachable yet, retrying", "url", target, "name", cfg.Name)
		if err := waitConnected(ctx, nc, connected, closed, log.With("url", target, "name", cfg.Name)); err != nil {
			nc.Close()
			return nil, nil, fmt.Errorf("connect nats %s: %w", target, err)
		}
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("connect nats %s: jetstream: %w", target, err)
	}
	return nc, js, nil
}

// pollInterval is how often waitConnected looks at the last attempt's
// error.
const pollInterval = 50 * time.Millisecond

// waitConnected waits for the first connection. It returns early when the
// connection closes (nats.go gives up after the same authorization error
// twice) or the last attempt failed in a way retrying cannot cure.
func waitConnected(ctx context.Context, nc *nats.Conn, connected, closed <-chan struct{}, log *slog.Logger) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var logged string
	for {
		select {
		case <-connected:
			return nil
		case <-closed:
			if err := nc.LastError(); err != nil {
				return refusal(err)
			}
			return nats.ErrConnectionClosed
		case <-ctx.Done():
			if err := nc.LastError(); err != nil {
				return fmt.Errorf("%w: %w (last attempt: %w)", ErrUnavailable, context.Cause(ctx), err)
			}
			return fmt.Errorf("%w: %w", ErrUnavailable, context.Cause(ctx))
		case <-tick.C:
			err := nc.LastError()
			if err == nil {
				continue
			}
			if r := refusal(err); r != err {
				return r
			}
			if msg := err.Error(); msg != logged {
				logged = msg
				log.Warn("nats connect attempt failed, retrying", "error", err)
			}
		}
	}
}

// refusal wraps err with ErrNotAuthorized or ErrTLSHandshake when it is a
// refusal that retrying cannot cure, and returns it unchanged otherwise.
func refusal(err error) error {
	switch {
	case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired),
		errors.Is(err, nats.ErrAuthRevoked), errors.Is(err, nats.ErrAccountAuthExpired),
		errors.Is(err, nats.ErrNkeysNotSupported):
		return fmt.Errorf("%w: %w", ErrNotAuthorized, err)
	}
	var verr *tls.CertificateVerificationError
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	var ierr x509.CertificateInvalidError
	if errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &ierr) ||
		errors.Is(err, nats.ErrSecureConnWanted) {
		return fmt.Errorf("%w: %w", ErrTLSHandshake, err)
	}
	// A TLS alert from the server, e.g. "certificate required" when it
	// wants a client certificate: crypto/tls reports it as a "remote
	// error".
	var operr *net.OpError
	if errors.As(err, &operr) && operr.Op == "remote error" {
		return fmt.Errorf("%w: %w", ErrTLSHandshake, err)
	}
	return err
}

// inProcessRefusal explains a failed in-process connection: the server
// closes the pipe on a refused login without a readable reason, so when it
// requires authentication the credentials are the likely cause.
func inProcessRefusal(srv *server.Server, err error) error {
	if errors.Is(err, nats.ErrAuthorization) {
		return err
	}
	if v, verr := srv.Varz(nil); verr == nil && v.AuthRequired {
		return fmt.Errorf("%w: %w", ErrNotAuthorized, err)
	}
	return err
}
