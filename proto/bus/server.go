package bus

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server defaults.
const (
	DefaultHost       = "127.0.0.1"
	DefaultPort       = 4222
	DefaultMaxPayload = int32(8 << 20)
	// NoListen as ServerConfig.Port serves in-process clients only.
	NoListen = -1
	// readyTimeout bounds how long StartServer waits for the server.
	readyTimeout = 10 * time.Second
)

// ErrServerConfig is wrapped by StartServer for an invalid ServerConfig.
var ErrServerConfig = errors.New("bus: invalid server config")

// ServerConfig configures the embedded NATS server with JetStream.
type ServerConfig struct {
	StoreDir     string        // JetStream file store directory (required)
	Host         string        // default 127.0.0.1
	Port         int           // DefaultServerConfig: 4222; 0 = random port; -1 (NoListen) = in-process only
	MaxPayload   int32         // default 8 MiB
	SyncInterval time.Duration // 0 = sync every write (an acknowledged write survives a crash); >0 = periodic
	MaxStore     int64         // JetStream max file store bytes, 0 = server default
	ServerName   string        // default: the server's generated id; in a cluster the host name (unique per node)
	// Tags are the server's tags, matched by StreamsConfig.PlacementTags.
	Tags []string
	// Cluster joins the server to a JetStream cluster; the zero value runs
	// a single node.
	Cluster ClusterConfig
	// Auth says who may connect (in-process clients too); the zero value
	// lets anyone connect.
	Auth ServerAuth
	// TLS serves the client listener over TLS; the zero value serves plain
	// TCP. Routes between cluster nodes are not covered (see ClusterConfig).
	TLS ServerTLS
}

// DefaultServerConfig returns the configuration of the embedded server
// storing JetStream data in dataDir/jetstream and listening on
// 127.0.0.1:4222.
func DefaultServerConfig(dataDir string) ServerConfig {
	return ServerConfig{
		StoreDir:   filepath.Join(dataDir, "jetstream"),
		Host:       DefaultHost,
		Port:       DefaultPort,
		MaxPayload: DefaultMaxPayload,
	}
}

// Server is an embedded NATS server with JetStream. Stages in the same
// process connect to it in-process (ConnConfig.InProcess).
type Server struct {
	ns       *server.Server
	listen   bool
	log      *slog.Logger
	stopOnce sync.Once
}

// options turns cfg into nats-server options.
func (cfg ServerConfig) options() (*server.Options, error) {
	if cfg.StoreDir == "" {
		return nil, fmt.Errorf("%w: store_dir is required", ErrServerConfig)
	}
	if cfg.Port < NoListen || cfg.Port > 65535 {
		return nil, fmt.Errorf("%w: port %d: want -1 (no listener), 0 (random) or 1-65535", ErrServerConfig, cfg.Port)
	}
	if cfg.MaxPayload < 0 || cfg.SyncInterval < 0 || cfg.MaxStore < 0 {
		return nil, fmt.Errorf("%w: max_payload, sync_interval and max_store must not be negative", ErrServerConfig)
	}
	opts := &server.Options{
		ServerName:        cfg.ServerName,
		Host:              cfg.Host,
		Port:              cfg.Port,
		JetStream:         true,
		StoreDir:          cfg.StoreDir,
		MaxPayload:        cfg.MaxPayload,
		JetStreamMaxStore: cfg.MaxStore,
		NoSigs:            true,
		NoLog:             false,
	}
	if opts.Host == "" {
		opts.Host = DefaultHost
	}
	opts.Tags = append(opts.Tags, cfg.Tags...)
	if err := cfg.Auth.apply(opts); err != nil {
		return nil, err
	}
	if err := cfg.TLS.apply(opts); err != nil {
		return nil, err
	}
	if err := cfg.Cluster.apply(opts, cfg.ServerName, cfg.Port != NoListen); err != nil {
		return nil, err
	}
	if opts.MaxPayload == 0 {
		opts.MaxPayload = DefaultMaxPayload
	}
	switch cfg.Port {
	case NoListen:
		opts.DontListen = true
		opts.Port = 0
	case 0:
		opts.Port = server.RANDOM_PORT
	}
	if cfg.SyncInterval == 0 {
		opts.SyncAlways = true
	} else {
		opts.SyncInterval = cfg.SyncInterval
	}
	return opts, nil
}

// StartServer starts an embedded server and waits up to 10 s until it
// accepts connections. The caller must call Shutdown. log receives the
// server's own log lines (notices at debug level, errors and warnings as
// such); nil discards them.
func StartServer(cfg ServerConfig, log *slog.Logger) (*Server, error) {
	opts, err := cfg.options()
	if err != nil {
		return nil, fmt.Errorf("start nats server: %w", err)
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("start nats server: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ns.SetLoggerV2(&serverLogger{log: log.With("component", "nats-server")}, false, false, false)
	ns.Start()
	if !ns.ReadyForConnections(readyTimeout) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("start nats server: not ready after %s", readyTimeout)
	}
	s := &Server{ns: ns, listen: !opts.DontListen, log: log}
	attrs := []any{"client_url", s.ClientURL(), "store_dir", cfg.StoreDir, "sync_always", opts.SyncAlways,
		"auth", cfg.Auth.enabled(), "tls", cfg.TLS.enabled(), "mutual_tls", opts.TLSVerify}
	if cfg.Cluster.enabled() {
		attrs = append(attrs, "server_name", opts.ServerName, "cluster", opts.Cluster.Name,
			"cluster_url", s.ClusterURL(), "routes", len(opts.Routes))
	}
	log.Info("nats server started", attrs...)
	return s, nil
}

// ClientURL returns the URL TCP clients connect to, or "" when the server
// does not listen.
func (s *Server) ClientURL() string {
	if !s.listen {
		return ""
	}
	return s.ns.ClientURL()
}

// NATS returns the underlying server, e.g. for nats.InProcessServer.
func (s *Server) NATS() *server.Server { return s.ns }

// Shutdown stops the server and waits until it has stopped. It is
// idempotent and safe to call concurrently.
func (s *Server) Shutdown() {
	s.stopOnce.Do(func() {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
		s.log.Info("nats server stopped")
	})
}

// serverLogger adapts slog to the nats-server Logger interface.
type serverLogger struct{ log *slog.Logger }

// Noticef logs at debug level: the server's notices (its start banner among
// them) would drown the one line per start and stop the stages log.
func (l *serverLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Tracef(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }

// Fatalf logs at error level. nats-server calls it for conditions it then
// handles by shutting down; the process is not ours to exit.
func (l *serverLogger) Fatalf(format string, v ...any) { l.log.Error(fmt.Sprintf(format, v...)) }
