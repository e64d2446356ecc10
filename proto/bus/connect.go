package bus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"

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

// ErrConnConfig is wrapped by Connect for an invalid ConnConfig.
var ErrConnConfig = errors.New("bus: invalid connection config")

// natsOptions turns cfg into nats.go options, without the handlers.
func (cfg ConnConfig) natsOptions() ([]nats.Option, error) {
	if cfg.URL == "" && cfg.InProcess == nil {
		return nil, fmt.Errorf("%w: set a url or an in-process server", ErrConnConfig)
	}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		// No reconnect buffer: a publish while disconnected fails at once
		// (mapped to ErrUnavailable, so the OTLP client retries) instead of
		// queueing megabytes that may never be acknowledged.
		nats.ReconnectBufSize(-1),
	}
	if cfg.URL == "" {
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
// reconnect at info level. The caller closes the connection (Drain or
// Close).
func Connect(ctx context.Context, cfg ConnConfig, log *slog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts, err := cfg.natsOptions()
	if err != nil {
		return nil, nil, fmt.Errorf("connect nats: %w", err)
	}
	connected := make(chan struct{}, 1)
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
		return nil, nil, fmt.Errorf("connect nats: %w", err)
	}
	// With RetryOnFailedConnect the first attempt may fail and go on in the
	// background; ConnectHandler fires once it succeeds (also when it
	// succeeded already, before Connect returned).
	if !nc.IsConnected() {
		log.Info("nats not reachable yet, retrying", "name", cfg.Name)
		select {
		case <-connected:
		case <-ctx.Done():
			nc.Close()
			return nil, nil, fmt.Errorf("connect nats: %w: %w", ErrUnavailable, context.Cause(ctx))
		}
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("connect nats: jetstream: %w", err)
	}
	return nc, js, nil
}
