package bustest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
)

// Option changes what RunJetStream starts.
type Option func(*options)

type options struct {
	server     bus.ServerConfig
	streams    bus.StreamsConfig
	noStreams  bool
	log        *slog.Logger
	setupLimit time.Duration
}

// WithListen makes the server listen on a random TCP port on 127.0.0.1 as
// well; Server.ClientURL returns its URL.
func WithListen() Option { return func(o *options) { o.server.Port = 0 } }

// WithStoreDir stores JetStream data in dir instead of a fresh t.TempDir(),
// e.g. to restart a server on the same data.
func WithStoreDir(dir string) Option { return func(o *options) { o.server.StoreDir = dir } }

// WithServerConfig lets f change the server configuration.
func WithServerConfig(f func(*bus.ServerConfig)) Option { return func(o *options) { f(&o.server) } }

// WithStreamsConfig lets f change the streams configuration (defaults:
// bus.DefaultStreamsConfig).
func WithStreamsConfig(f func(*bus.StreamsConfig)) Option { return func(o *options) { f(&o.streams) } }

// WithMaxBytes sets the per-stream byte limit, e.g. tiny to test a full bus.
func WithMaxBytes(n int64) Option { return func(o *options) { o.streams.MaxBytes = n } }

// WithDurables declares these durable consumers instead of the writer's.
func WithDurables(names ...string) Option {
	return func(o *options) { o.streams.Durables = names }
}

// WithoutStreams skips bus.EnsureStreams.
func WithoutStreams() Option { return func(o *options) { o.noStreams = true } }

// WithLogger sends the server's and connection's logs to log (default:
// discarded).
func WithLogger(log *slog.Logger) Option { return func(o *options) { o.log = log } }

// RunJetStream starts an embedded JetStream server (in-process only unless
// WithListen; file store in t.TempDir() unless WithStoreDir), connects to it
// in-process and declares the streams with bus.EnsureStreams. Cleanup closes
// the connection and shuts the server down; a test may shut the server down
// earlier (Shutdown is idempotent). It fails the test on any error.
func RunJetStream(t testing.TB, opts ...Option) (*bus.Server, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	o := options{
		server:     bus.ServerConfig{Port: bus.NoListen},
		streams:    bus.DefaultStreamsConfig(),
		log:        slog.New(slog.DiscardHandler),
		setupLimit: 30 * time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.server.StoreDir == "" {
		o.server.StoreDir = t.TempDir()
	}
	srv, err := bus.StartServer(o.server, o.log)
	if err != nil {
		t.Fatalf("bustest: %v", err)
	}
	t.Cleanup(srv.Shutdown)

	ctx, cancel := context.WithTimeout(context.Background(), o.setupLimit)
	defer cancel()
	nc, js, err := bus.Connect(ctx, bus.ConnConfig{InProcess: srv.NATS(), Name: "bustest"}, o.log)
	if err != nil {
		t.Fatalf("bustest: %v", err)
	}
	t.Cleanup(nc.Close)
	if !o.noStreams {
		if err := bus.EnsureStreams(ctx, js, o.streams); err != nil {
			t.Fatalf("bustest: %v", err)
		}
	}
	return srv, nc, js
}

// ConnectTCP connects to url (a server started WithListen, or a [Proxy])
// over TCP the way the stages do (bus.Connect). Cleanup closes the
// connection.
func ConnectTCP(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, js, err := bus.Connect(ctx, bus.ConnConfig{URL: url, Name: "bustest tcp"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("bustest: %v", err)
	}
	t.Cleanup(nc.Close)
	return js
}
