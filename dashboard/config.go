package dashboard

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/nats-io/nats.go"
)

// Config configures a Dashboard.
type Config struct {
	// OutputDir is the writers' output directory, whose otlp/<signal>/
	// files the dashboard reads. Default "./output_dir".
	OutputDir string
	// Addr is where the dashboard is reached, host:port. Unless NoListen,
	// Run listens there. Off loopback a Token is required. Default
	// 127.0.0.1:8090.
	Addr string
	// NoListen: the host serves the Dashboard as an http.Handler on its
	// own server (run's admin port), and Run does not listen. Addr is
	// still checked against the token rule.
	NoListen bool
	// Token, when set, is required from every client: an
	// "Authorization: Bearer" header, or ?token= once, which sets a cookie.
	Token string
	// Conn is the bus connection for the live tail and the consumers' lag;
	// nil turns both off.
	Conn *nats.Conn
	// Durables are the durable consumers whose lag the files page shows.
	// Default writer and forwarder (those that exist).
	Durables []string
	// IndexInterval is how often the file index polls. Default 2 s.
	IndexInterval time.Duration
	// CacheBytes bounds the decoded file contents kept in memory (about
	// 400 MiB hold one million spans with a few attributes each). Default
	// 512 MiB.
	CacheBytes int64
	// TailQueue is the number of rows each live tail client may have
	// queued before its oldest rows are dropped. Default 5000.
	TailQueue int
	// Logger receives the start, stop and refused-request lines; nil
	// discards them.
	Logger *slog.Logger
}

// DefaultAddr is the dashboard's own default listen address.
const DefaultAddr = "127.0.0.1:8090"

// ErrInvalidConfig is wrapped by every error Validate returns.
var ErrInvalidConfig = errors.New("dashboard: invalid config")

// ErrTokenRequired is returned by Validate for an address off loopback
// without a token.
var ErrTokenRequired = fmt.Errorf("%w: a token is required off loopback", ErrInvalidConfig)

// DefaultConfig returns the default configuration.
func DefaultConfig() Config {
	return Config{
		OutputDir:     "./output_dir",
		Addr:          DefaultAddr,
		Durables:      []string{"writer", "forwarder"},
		IndexInterval: 2 * time.Second,
		CacheBytes:    512 << 20,
		TailQueue:     5000,
	}
}

// withDefaults fills the zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.OutputDir == "" {
		c.OutputDir = d.OutputDir
	}
	if c.Addr == "" {
		c.Addr = d.Addr
	}
	if c.Durables == nil {
		c.Durables = d.Durables
	}
	if c.IndexInterval <= 0 {
		c.IndexInterval = d.IndexInterval
	}
	if c.CacheBytes <= 0 {
		c.CacheBytes = d.CacheBytes
	}
	if c.TailQueue <= 0 {
		c.TailQueue = d.TailQueue
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate checks the address and the token rule.
func (c Config) Validate() error {
	c = c.withDefaults()
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("%w: addr %q: %w", ErrInvalidConfig, c.Addr, err)
	}
	if !IsLoopback(host) && c.Token == "" {
		return fmt.Errorf("%w (addr %s): set the dashboard token", ErrTokenRequired, c.Addr)
	}
	return nil
}

// IsLoopback reports whether host (a name or an IP, no port) is a loopback
// address; "" (every interface) is not.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
