// Package pipeline runs otlp-arrow inside a Go program: an embedded bus, the
// writer, and optionally the OTLP receivers, so an application writes its own
// telemetry to Arrow files with no separate service. `otlp-arrow run` and the
// single-stage subcommands are assembled with it too.
//
// A Pipeline is safe for concurrent use. Start it with [Start], hand it OTLP
// requests with ExportTraces, ExportMetrics and ExportLogs (or use the
// OpenTelemetry SDK exporters from SpanExporter, MetricExporter and
// LogExporter), call Flush to have everything so far in files, and Shutdown.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/deploy/config"
	forward "github.com/otlp-arrow/otlp-arrow/forwarder"
	ingestflight "github.com/otlp-arrow/otlp-arrow/ingest-flight"
	ingest "github.com/otlp-arrow/otlp-arrow/ingest-grpc"
	"github.com/otlp-arrow/otlp-arrow/janitor"
	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
	"github.com/otlp-arrow/otlp-arrow/writer"
)

// ErrShutdown is returned by calls on a pipeline that was shut down.
var ErrShutdown = errors.New("pipeline: shut down")

// ErrRejected is wrapped when part of an exported request was refused as
// invalid (the rest was accepted); the error is a [*RejectedError].
var ErrRejected = errors.New("pipeline: rejected")

// RejectedError is the error of an export of which part was refused as
// invalid and the rest accepted (an OTLP partial success). It wraps
// [ErrRejected].
type RejectedError struct {
	// Rejected counts the rows (spans, data points, log records) refused.
	Rejected int64
	// Message says which and why.
	Message string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("%v: %d items: %s", ErrRejected, e.Rejected, e.Message)
}

// Unwrap returns [ErrRejected].
func (e *RejectedError) Unwrap() error { return ErrRejected }

// SourceSDK is the Otlp-Source header of what the embedded API publishes.
const SourceSDK = "sdk"

type options struct {
	cfg        config.Config
	log        *slog.Logger
	reg        prometheus.Registerer
	ingest     bool
	flight     bool
	writer     bool
	janitor    bool
	forwarder  bool
	bus        bool
	busListen  bool
	embedBus   bool
	connName   string
	drainLimit time.Duration
}

// Option configures a Pipeline.
type Option func(*options)

// WithConfig replaces the whole configuration (default: config.Default()
// with the bus listening on no port).
func WithConfig(c config.Config) Option { return func(o *options) { o.cfg = c } }

// WithOutputDir sets where files go.
func WithOutputDir(dir string) Option { return func(o *options) { o.cfg.OutputDir = dir } }

// WithDataDir sets where the embedded bus keeps its store.
func WithDataDir(dir string) Option { return func(o *options) { o.cfg.DataDir = dir } }

// WithWriteInterval sets the writer's batching interval.
func WithWriteInterval(d time.Duration) Option {
	return func(o *options) { o.cfg.Writer.WriteInterval = d }
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithRegisterer registers the stages' Prometheus metrics on reg.
func WithRegisterer(reg prometheus.Registerer) Option { return func(o *options) { o.reg = reg } }

// WithIngest also starts the OTLP/gRPC and OTLP/HTTP receivers of the
// configuration's ingest section.
func WithIngest(on bool) Option { return func(o *options) { o.ingest = on } }

// WithFlight also starts the Arrow Flight / OTAP receiver of the
// configuration's ingest_flight section (when enabled there).
func WithFlight(on bool) Option { return func(o *options) { o.flight = on } }

// WithWriter says whether to run the writer (default true).
func WithWriter(on bool) Option { return func(o *options) { o.writer = on } }

// WithJanitor also runs the janitor (retention over the files) when the
// configuration's janitor section is enabled.
func WithJanitor(on bool) Option { return func(o *options) { o.janitor = on } }

// WithForwarder also runs the forwarder when the configuration's forwarder
// section is enabled.
func WithForwarder(on bool) Option { return func(o *options) { o.forwarder = on } }

// WithoutBus runs only stages that need no bus (the janitor alone).
func WithoutBus() Option { return func(o *options) { o.bus = false } }

// WithBusListen makes the embedded bus listen for NATS clients on the
// configured host and port (default: in-process only).
func WithBusListen(on bool) Option { return func(o *options) { o.busListen = on } }

// WithEmbeddedBus says whether to start an embedded bus when no external
// URL is configured (default true). The single-stage subcommands turn it
// off and reach the `bus` process instead.
func WithEmbeddedBus(on bool) Option { return func(o *options) { o.embedBus = on } }

// WithConnName names the NATS connection ("otlp-arrow NAME").
func WithConnName(name string) Option { return func(o *options) { o.connName = name } }

// Pipeline is a running otlp-arrow assembly.
type Pipeline struct {
	o   options
	log *slog.Logger

	srv *bus.Server
	nc  *nats.Conn
	js  jetstream.JetStream
	pub *ingest.Publisher
	w   *writer.Writer
	ing *ingest.Service
	fl  *ingestflight.Service
	jan *janitor.Janitor
	fwd *forward.Forwarder

	stopIngest context.CancelFunc
	ingestDone chan error
	stopFlight context.CancelFunc
	flightDone chan error
	stopWriter context.CancelFunc
	writerDone chan error
	stopJan    context.CancelFunc
	janDone    chan error
	stopFwd    context.CancelFunc
	fwdDone    chan error
	failed     chan error // the first stage error, once

	mu       sync.Mutex
	shutdown bool
	result   error
	once     sync.Once
}

// Start starts the pipeline and returns once every stage is running. ctx
// bounds only the start; stop the pipeline with Shutdown.
func Start(ctx context.Context, opts ...Option) (*Pipeline, error) {
	o := options{cfg: config.Default(), writer: true, bus: true, embedBus: true, connName: "embedded", drainLimit: 30 * time.Second}
	o.cfg.Bus.Port = 0
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := o.cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Pipeline{o: o, log: o.log, failed: make(chan error, 1)}
	if err := p.start(ctx); err != nil {
		return nil, errors.Join(err, p.Shutdown(context.WithoutCancel(ctx)))
	}
	return p, nil
}

func (p *Pipeline) start(ctx context.Context) error {
	c := p.o.cfg
	if p.o.janitor && c.Janitor.Enabled {
		if err := p.startJanitor(); err != nil {
			return err
		}
	}
	if !p.o.bus {
		return nil
	}
	if p.o.embedBus && c.Bus.URL == "" {
		srv, err := startBus(c, p.log, p.o.busListen)
		if err != nil {
			return err
		}
		p.srv = srv
		if u := srv.ClientURL(); u != "" {
			p.log.Info("bus listening for NATS clients", "url", u)
		}
	}
	nc, js, err := connect(ctx, c, p.o.connName, p.srv, p.log)
	if err != nil {
		return err
	}
	p.nc, p.js = nc, js
	if p.o.reg != nil {
		// Several processes may share a registry in tests; the lag is the
		// same whoever reports it.
		if err := p.o.reg.Register(newLagCollector(js, streamsConfig(c).Durables)); err != nil {
			p.log.Debug("consumer lag metrics not registered", "err", err)
		}
	}
	p.pub, err = ingest.NewPublisher(js, ingestConfig(c), p.o.reg)
	if err != nil {
		return err
	}
	if p.o.writer {
		// The writer, ingest-grpc, ingest-flight and the forwarder name their
		// stage in their own logger; the janitor and the bus are named here.
		p.w, err = writer.New(writerConfig(c), js, p.log, p.o.reg)
		if err != nil {
			return fmt.Errorf("writer: %w", err)
		}
		wctx, cancel := context.WithCancel(context.Background())
		p.stopWriter, p.writerDone = cancel, make(chan error, 1)
		go func() {
			err := p.w.Run(wctx)
			p.writerDone <- err
			if err != nil {
				p.fail(fmt.Errorf("writer: %w", err))
			}
		}()
	}
	if p.o.ingest {
		if err := p.startIngest(js); err != nil {
			return err
		}
	}
	if p.o.forwarder && c.Forwarder.Enabled {
		if p.fwd, err = forward.New(c.Forwarder, js, p.log, p.o.reg); err != nil {
			return fmt.Errorf("forwarder: %w", err)
		}
		fctx, cancel := context.WithCancel(context.Background())
		p.stopFwd, p.fwdDone = cancel, make(chan error, 1)
		go func() {
			err := p.fwd.Run(fctx)
			p.fwdDone <- err
			if err != nil {
				p.fail(fmt.Errorf("forwarder: %w", err))
			}
		}()
	}
	if p.o.flight && c.Flight.Enabled {
		if err := p.startFlight(js); err != nil {
			return err
		}
	}
	return nil
}

func (p *Pipeline) startIngest(js jetstream.JetStream) error {
	ing, err := ingest.New(ingestConfig(p.o.cfg), js, p.log, p.o.reg)
	if err != nil {
		return fmt.Errorf("ingest-grpc: %w", err)
	}
	if err := ing.Listen(); err != nil {
		return fmt.Errorf("ingest-grpc: %w", err)
	}
	p.ing = ing
	ictx, cancel := context.WithCancel(context.Background())
	p.stopIngest, p.ingestDone = cancel, make(chan error, 1)
	go func() {
		err := ing.Run(ictx)
		p.ingestDone <- err
		if err != nil {
			p.fail(fmt.Errorf("ingest-grpc: %w", err))
		}
	}()
	return nil
}

// Listen starts the receivers on a pipeline started without them, so other
// processes can send to it: OTLP/gRPC and OTLP/HTTP as the configuration's
// ingest_grpc section says, and Arrow Flight / OTAP when ingest_flight is
// enabled. Receivers already running stay as they are; the addresses are
// then GRPCAddr, HTTPAddr and FlightAddr. Shutdown stops them first. It
// returns [ErrShutdown] after Shutdown.
func (p *Pipeline) Listen() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shutdown {
		return ErrShutdown
	}
	if p.js == nil {
		return errors.New("pipeline: listen: the pipeline runs without a bus")
	}
	if p.ing == nil {
		if err := p.startIngest(p.js); err != nil {
			return err
		}
	}
	if p.fl == nil && p.o.cfg.Flight.Enabled {
		return p.startFlight(p.js)
	}
	return nil
}

func (p *Pipeline) startFlight(js jetstream.JetStream) error {
	c := p.o.cfg
	fc := ingestflight.DefaultConfig()
	fc.Enabled = true
	fc.Addr = c.Flight.Addr
	fc.MaxMessageBytes = c.Flight.MaxMessageBytes
	fc.MaxBatchRows = c.Flight.MaxBatchRows
	fc.MaxPayloadBytes = ingestConfig(c).MaxPayloadBytes
	fc.MaxInflightBytes = memoryShare(c.MemoryLimit, c.Flight.MaxInflightBytes, inflightShare, 2*int64(c.Flight.MaxMessageBytes))
	fc.MaxConcurrentStreams = uint32(c.Flight.MaxConcurrentStreams)
	fc.PublishTimeout = c.Flight.PublishTimeout
	fc.PayloadCompression = c.Bus.PayloadCompression
	fc.PerServiceMessages = c.Bus.PerServiceMessages
	for _, tok := range c.Flight.AuthTokens {
		fc.Auth.Tokens = append(fc.Auth.Tokens, tok.Reveal())
	}
	fc.Auth.TokensFile = c.Flight.AuthTokensFile
	fc.TLS = ingestflight.TLSConfig{
		CertFile:     c.Flight.TLSCertFile,
		KeyFile:      c.Flight.TLSKeyFile,
		ClientCAFile: c.Flight.TLSClientCAFile,
	}
	fl, err := ingestflight.New(fc, js, p.log, p.o.reg)
	if err != nil {
		return fmt.Errorf("ingest-flight: %w", err)
	}
	if err := fl.Listen(); err != nil {
		return fmt.Errorf("ingest-flight: %w", err)
	}
	p.fl = fl
	fctx, cancel := context.WithCancel(context.Background())
	p.stopFlight, p.flightDone = cancel, make(chan error, 1)
	go func() {
		err := fl.Run(fctx)
		p.flightDone <- err
		if err != nil {
			p.fail(fmt.Errorf("ingest-flight: %w", err))
		}
	}()
	return nil
}

func (p *Pipeline) startJanitor() error {
	c := p.o.cfg
	jc := janitor.DefaultConfig()
	jc.OutputDir = c.OutputDir
	jc.Retention = map[schema.Signal]time.Duration{
		schema.Traces:  c.Janitor.TraceRetention,
		schema.Metrics: c.Janitor.MetricRetention,
		schema.Logs:    c.Janitor.LogRetention,
	}
	jc.MaxTotalBytes = c.Janitor.MaxTotalBytes
	jc.MinFreeBytes = c.Janitor.MinFreeBytes
	jc.ScanInterval = c.Janitor.ScanInterval
	jc.DryRun = c.Janitor.DryRun
	var err error
	p.jan, err = janitor.New(jc, p.log.With(bus.LogKeyStage, "janitor"), p.o.reg)
	if err != nil {
		return fmt.Errorf("janitor: %w", err)
	}
	jctx, cancel := context.WithCancel(context.Background())
	p.stopJan, p.janDone = cancel, make(chan error, 1)
	go func() {
		err := p.jan.Run(jctx)
		p.janDone <- err
		if err != nil {
			p.fail(fmt.Errorf("janitor: %w", err))
		}
	}()
	return nil
}

func (p *Pipeline) fail(err error) {
	select {
	case p.failed <- err:
	default:
	}
}

// Failed delivers the first error of a stage that stopped on its own.
func (p *Pipeline) Failed() <-chan error { return p.failed }

// Check is a named readiness check.
type Check struct {
	Name  string
	Check func() error
}

// Checks returns the readiness checks of the running stages, for /readyz.
func (p *Pipeline) Checks() []Check {
	var checks []Check
	if p.nc != nil {
		checks = append(checks, Check{"bus", func() error {
			if !p.nc.IsConnected() {
				return fmt.Errorf("not connected to the bus (%s)", p.nc.Status())
			}
			return nil
		}})
	}
	if p.jan != nil {
		checks = append(checks, Check{"janitor", p.jan.Ready})
	}
	if p.fwd != nil {
		checks = append(checks, Check{"forwarder", p.fwd.Ready})
	}
	if p.w != nil {
		checks = append(checks, Check{"writer", p.w.Ready})
	}
	if p.ing != nil {
		checks = append(checks, Check{"ingest-grpc", p.ing.Ready})
	}
	if p.fl != nil {
		checks = append(checks, Check{"ingest-flight", p.fl.Ready})
	}
	return checks
}

// GRPCAddr and HTTPAddr are the receivers' addresses (nil without ingest).
func (p *Pipeline) GRPCAddr() net.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ing == nil {
		return nil
	}
	return p.ing.GRPCAddr()
}

// HTTPAddr is the OTLP/HTTP receiver's address (nil without ingest).
func (p *Pipeline) HTTPAddr() net.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ing == nil {
		return nil
	}
	return p.ing.HTTPAddr()
}

// FlightAddr is the Arrow Flight / OTAP receiver's address (nil without it).
func (p *Pipeline) FlightAddr() net.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fl == nil {
		return nil
	}
	return p.fl.Addr()
}

// BusURL is where NATS clients reach the embedded bus ("" when it does not
// listen or the bus is external).
func (p *Pipeline) BusURL() string {
	if p.srv == nil {
		return ""
	}
	return p.srv.ClientURL()
}

// NATSConn returns the pipeline's bus connection (nil without a bus).
func (p *Pipeline) NATSConn() *nats.Conn { return p.nc }

// OutputDir is where the files go.
func (p *Pipeline) OutputDir() string { return p.o.cfg.OutputDir }

// Writes reports whether this pipeline runs the writer, that is whether
// files go to OutputDir from this process.
func (p *Pipeline) Writes() bool { return p.w != nil }

func (p *Pipeline) live() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shutdown {
		return ErrShutdown
	}
	return nil
}

func exportResult(rejected int64, msg string, err error) error {
	if err != nil {
		return err
	}
	if rejected > 0 {
		return &RejectedError{Rejected: rejected, Message: msg}
	}
	return nil
}

// ExportTraces publishes req; when it returns nil the spans are durable in
// the bus and will be in files (after Flush, or the next write interval).
func (p *Pipeline) ExportTraces(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) error {
	if err := p.live(); err != nil {
		return err
	}
	return exportResult(p.pub.PublishTraces(ctx, req, SourceSDK))
}

// ExportMetrics publishes req; see ExportTraces.
func (p *Pipeline) ExportMetrics(ctx context.Context, req *colmetricspb.ExportMetricsServiceRequest) error {
	if err := p.live(); err != nil {
		return err
	}
	return exportResult(p.pub.PublishMetrics(ctx, req, SourceSDK))
}

// ExportLogs publishes req; see ExportTraces.
func (p *Pipeline) ExportLogs(ctx context.Context, req *collogspb.ExportLogsServiceRequest) error {
	if err := p.live(); err != nil {
		return err
	}
	return exportResult(p.pub.PublishLogs(ctx, req, SourceSDK))
}

// Flush returns once everything accepted so far, by the Export methods and
// the receivers, is synced to disk in the writer's files.
func (p *Pipeline) Flush(ctx context.Context) error {
	if err := p.live(); err != nil {
		return err
	}
	if p.w == nil {
		return nil
	}
	return waitDrained(ctx, p.js, p.w)
}

// Shutdown stops the receivers, lets the writer take in and write what was
// accepted (bounded by ctx), finalizes the files and stops the bus. It is
// safe to call more than once; later calls return the first result.
func (p *Pipeline) Shutdown(ctx context.Context) error {
	p.once.Do(func() {
		p.mu.Lock()
		p.shutdown = true
		p.mu.Unlock()
		var errs []error
		if p.stopIngest != nil {
			p.stopIngest()
		}
		if p.stopFlight != nil {
			p.stopFlight()
		}
		if p.stopIngest != nil {
			errs = append(errs, <-p.ingestDone)
		}
		if p.stopFlight != nil {
			errs = append(errs, <-p.flightDone)
		}
		if p.w != nil && p.stopWriter != nil {
			dctx, cancel := context.WithTimeout(ctx, p.o.drainLimit)
			if err := waitDrained(dctx, p.js, p.w); err != nil {
				p.log.Warn("stopping with data left in the bus; it is written at the next start", "err", err)
			}
			cancel()
			p.stopWriter()
			errs = append(errs, <-p.writerDone)
		}
		if p.stopFwd != nil {
			p.stopFwd()
			errs = append(errs, <-p.fwdDone)
		}
		if p.stopJan != nil {
			p.stopJan()
			errs = append(errs, <-p.janDone)
		}
		if p.nc != nil {
			p.nc.Close()
		}
		if p.srv != nil {
			p.srv.Shutdown()
		}
		p.result = errors.Join(errs...)
	})
	return p.result
}

// waitDrained waits until the writer's consumers have nothing pending or
// unacknowledged, flushing the writer as it goes.
func waitDrained(ctx context.Context, js jetstream.JetStream, w *writer.Writer) error {
	for {
		if err := w.Flush(ctx); err != nil {
			return err
		}
		left := uint64(0)
		for _, sig := range schema.Signals {
			name := bus.StreamName(sig)
			// The stream first: a message stored after this reading is
			// not waited for, one stored before it is.
			stream, err := js.Stream(ctx, name)
			if err != nil {
				return fmt.Errorf("stream %s: %w", name, err)
			}
			sinfo, err := stream.Info(ctx)
			if err != nil {
				return fmt.Errorf("stream %s: %w", name, err)
			}
			cons, err := js.Consumer(ctx, name, bus.DurableWriter)
			if err != nil {
				return fmt.Errorf("consumer %s: %w", name, err)
			}
			info, err := cons.Info(ctx)
			if err != nil {
				return fmt.Errorf("consumer %s: %w", name, err)
			}
			left += info.NumPending + uint64(info.NumAckPending)
			// The server counts a stored message as pending for the
			// consumer a moment after it acknowledged the publish, so a
			// message just published can show as neither pending nor
			// delivered: wait until the consumer was handed the stream's
			// last message, unless the stream holds none.
			if sinfo.State.Msgs > 0 && info.Delivered.Stream < sinfo.State.LastSeq {
				left += sinfo.State.LastSeq - info.Delivered.Stream
			}
		}
		if left == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain: %d messages still pending: %w", left, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// streamsConfig maps the bus section onto the stream declaration.
func streamsConfig(c config.Config) bus.StreamsConfig {
	s := bus.DefaultStreamsConfig()
	s.MaxBytes = c.Bus.MaxBytes
	s.MaxAge = c.Bus.MaxAge
	s.MaxMsgSize = int32(c.Bus.MaxPayload)
	s.Replicas = c.Bus.Replicas
	s.DuplicateWindow = c.Bus.DuplicateWindow
	s.AckWait = c.Bus.AckWait
	s.PlacementTags = bus.ParseTags(c.Bus.PlacementTags)
	if c.Forwarder.Enabled {
		// Declared with the streams, so nothing published before the
		// forwarder starts is missed.
		s.Durables = append(s.Durables, bus.DurableForwarder)
	}
	return s
}

// startBus starts the embedded server; listen says whether it also serves
// NATS clients over TCP.
func startBus(c config.Config, log *slog.Logger, listen bool) (*bus.Server, error) {
	sc := bus.DefaultServerConfig(c.DataDir)
	sc.Host = c.Bus.Host
	sc.Port = c.Bus.Port
	if !listen || c.Bus.Port == 0 {
		sc.Port = bus.NoListen
	}
	sc.MaxPayload = int32(c.Bus.MaxPayload)
	sc.MaxStore = c.Bus.MaxStore
	sync, err := c.Bus.Sync()
	if err != nil {
		return nil, err
	}
	sc.SyncInterval = sync
	sc.ServerName = c.Bus.ServerName
	sc.Tags = bus.ParseTags(c.Bus.ServerTags)
	if c.Bus.ClusterPort != 0 {
		routes, err := bus.ParseRoutes(c.Bus.Routes)
		if err != nil {
			return nil, fmt.Errorf("start bus: %w", err)
		}
		host := c.Bus.ClusterHost
		if host == "" {
			host = c.Bus.Host
		}
		sc.Cluster = bus.ClusterConfig{Name: c.Bus.ClusterName, Host: host, Port: c.Bus.ClusterPort, Routes: routes}
	}
	// The server requires exactly the credentials the stages connect with.
	if c.Bus.CredsFile != "" {
		return nil, fmt.Errorf("start bus: %w: bus.creds_file needs an external NATS server (bus.url); the embedded server takes bus.user and bus.password, bus.token or bus.nkey_seed_file", config.ErrInvalid)
	}
	sc.Auth = bus.ServerAuth{User: c.Bus.User, Password: c.Bus.Password.Reveal(), Token: c.Bus.Token.Reveal()}
	if c.Bus.NKeySeedFile != "" {
		pub, err := bus.NKeyPublicKey(c.Bus.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("start bus: bus.nkey_seed_file: %w", err)
		}
		sc.Auth.NKeys = []string{pub}
	}
	sc.TLS = bus.ServerTLS{CertFile: c.Bus.ServerTLSCert, KeyFile: c.Bus.ServerTLSKey, ClientCAFile: c.Bus.ServerTLSClientCA}
	srv, err := bus.StartServer(sc, log.With(bus.LogKeyStage, "bus"))
	if err != nil {
		return nil, fmt.Errorf("start bus: %w", err)
	}
	return srv, nil
}

// StartBus starts the embedded bus alone, listening for the other stages,
// with its streams declared: the `bus` subcommand.
func StartBus(ctx context.Context, c config.Config, log *slog.Logger) (*bus.Server, *nats.Conn, error) {
	srv, err := startBus(c, log, true)
	if err != nil {
		return nil, nil, err
	}
	c.Bus.URL = ""
	nc, _, err := connect(ctx, c, "bus", srv, log)
	if err != nil {
		srv.Shutdown()
		return nil, nil, err
	}
	return srv, nc, nil
}

// ConnectBus reaches the bus of c as a client named name, without
// declaring anything: for read-only stages such as the dashboard.
func ConnectBus(ctx context.Context, c config.Config, name string, log *slog.Logger) (*nats.Conn, error) {
	nc, _, err := bus.Connect(ctx, connConfig(c, name, nil), log)
	if err != nil {
		return nil, fmt.Errorf("connect to bus: %w", err)
	}
	return nc, nil
}

// connConfig maps the bus section onto a connection; inproc, when set, is
// the embedded server of this process.
func connConfig(c config.Config, name string, inproc *bus.Server) bus.ConnConfig {
	cc := bus.ConnConfig{
		URL:          c.Bus.URL,
		CredsFile:    c.Bus.CredsFile,
		User:         c.Bus.User,
		Password:     c.Bus.Password.Reveal(),
		Token:        c.Bus.Token.Reveal(),
		NKeySeedFile: c.Bus.NKeySeedFile,
		TLSCAFile:    c.Bus.TLSCA,
		TLSCertFile:  c.Bus.TLSCert,
		TLSKeyFile:   c.Bus.TLSKey,
		Name:         "otlp-arrow " + name,
	}
	if inproc != nil {
		cc.URL = ""
		cc.InProcess = inproc.NATS()
	} else if cc.URL == "" {
		cc.URL = "nats://" + net.JoinHostPort(c.Bus.Host, strconv.Itoa(c.Bus.Port))
	}
	return cc
}

// connect reaches the bus and declares the streams and durable consumers.
func connect(ctx context.Context, c config.Config, name string, inproc *bus.Server, log *slog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	nc, js, err := bus.Connect(ctx, connConfig(c, name, inproc), log)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to bus: %w", err)
	}
	if err := bus.EnsureStreams(ctx, js, streamsConfig(c)); err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("declare streams: %w", err)
	}
	return nc, js, nil
}

func ingestConfig(c config.Config) ingest.Config {
	ic := ingest.DefaultConfig()
	ic.GRPC.Enabled = c.Ingest.GRPCEnabled
	ic.GRPC.Addr = c.Ingest.GRPCAddr
	ic.HTTP.Enabled = c.Ingest.HTTPEnabled
	ic.HTTP.Addr = c.Ingest.HTTPAddr
	ic.MaxRequestBytes = c.Ingest.MaxRequestBytes
	ic.MaxInflightBytes = memoryShare(c.MemoryLimit, c.Ingest.MaxInflightBytes, otlpInflightShare, int64(c.Ingest.MaxRequestBytes))
	ic.MaxPayloadBytes = c.Bus.MaxPayload - 64<<10
	ic.Auth.Tokens = nil
	for _, tok := range c.Ingest.AuthTokens {
		ic.Auth.Tokens = append(ic.Auth.Tokens, tok.Reveal())
	}
	ic.Auth.TokensFile = c.Ingest.AuthTokensFile
	ic.TLS = ingest.TLSConfig{
		CertFile:     c.Ingest.TLSCertFile,
		KeyFile:      c.Ingest.TLSKeyFile,
		ClientCAFile: c.Ingest.TLSClientCAFile,
	}
	ic.MaxAttributes = c.Ingest.MaxAttributes
	ic.MaxAttributeValueLength = c.Ingest.MaxAttributeValueLength
	ic.MaxConcurrentStreams = uint32(c.Ingest.MaxConcurrentStreams)
	if c.MemoryLimit > 0 && c.Ingest.MaxRequestBytes > 0 {
		streams := max(c.MemoryLimit/streamShare/int64(c.Ingest.MaxRequestBytes), minStreams)
		if ic.MaxConcurrentStreams == 0 || int64(ic.MaxConcurrentStreams) > streams {
			ic.MaxConcurrentStreams = uint32(min(streams, math.MaxUint32))
		}
	}
	ic.PublishTimeout = c.Ingest.PublishTimeout
	ic.PayloadCompression = c.Bus.PayloadCompression
	ic.PerServiceMessages = c.Bus.PerServiceMessages
	return ic
}

// Shares of memory_limit for the buffers that grow with load. Without a
// limit the configured values (or the stages' defaults) hold; with one,
// each buffer is at most its share, so that the live heap under overload
// stays below the limit (heap profiles under overload, docs/BENCHMARKS.md,
// "A default memory bound"):
//   - OTLP bytes in flight 1/24: an admitted request's decoded structs,
//     Arrow builders and encoded payload take about seven times its wire
//     size at 8192-span requests; Flight batches (Arrow already) 1/8.
//   - OTLP/gRPC streams per connection: gRPC reads a whole request before
//     the handler admits it, so each stream may hold one request of up to
//     max_request_bytes unadmitted; per connection they get 1/4, and at
//     least four streams.
//   - Per writer lane the buffered payloads 1/16 (merged and encoded once
//     more at a flush), 1/32 writing Parquet (the encoder holds a row
//     group's pages, dictionaries and levels beside the merged batch), and
//     a quarter of that when the payloads are compressed (counted
//     compressed, read they take about three times as much); one pull from
//     the bus 1/32.
//
// The rest is the bus's own caches and the garbage collector's headroom.
const (
	inflightShare     = 8
	otlpInflightShare = 24
	streamShare       = 4
	minStreams        = 4
	batchShare        = 16
	parquetBatchShare = 32
	fetchShare        = 32

	compressedBatchFactor = 4
)

// memoryShare returns v, lowered to limit/share when a memory limit is set,
// but never below floor (room for the largest request or message).
func memoryShare(limit, v, share, floor int64) int64 {
	if limit <= 0 {
		return v
	}
	return min(v, max(limit/share, floor))
}

// Shares of memory_limit for the dashboard's cache of decoded files: beside
// the stages of `run` an eighth, alone (the dashboard command) half; never
// below dashboardCacheFloor, what one file's columns take.
const (
	dashboardShare      = 8
	dashboardAloneShare = 2
	dashboardCacheFloor = 16 << 20
)

// DashboardCacheBytes is the dashboard's cache bound under c's memory
// limit: dashboard.cache_bytes, lowered to its share of the limit; alone:
// the dashboard has the process to itself.
func DashboardCacheBytes(c config.Config, alone bool) int64 {
	share := int64(dashboardShare)
	if alone {
		share = dashboardAloneShare
	}
	return memoryShare(c.MemoryLimit, c.Dashboard.CacheBytes, share, dashboardCacheFloor)
}

func writerConfig(c config.Config) writer.Config {
	wc := writer.DefaultConfig()
	wc.OutputDir = c.OutputDir
	wc.WriteInterval = c.Writer.WriteInterval
	wc.MaxFileBytes = c.Writer.MaxFileBytes
	wc.MaxFileAge = c.Writer.MaxFileAge
	wc.Compression = c.Writer.Compression
	wc.Format = c.Writer.Format
	wc.TracesSchema = c.Writer.TracesSchema
	wc.Passthrough = c.Writer.Passthrough
	wc.PassthroughRows = c.Writer.PassthroughRows
	share := int64(batchShare)
	if c.Writer.Format == "parquet" {
		share = parquetBatchShare
	}
	if c.Bus.PayloadCompression != "none" {
		share *= compressedBatchFactor
	}
	wc.MaxBatchBytes = memoryShare(c.MemoryLimit, wc.MaxBatchBytes, share, 4<<20)
	wc.FetchBytes = int(memoryShare(c.MemoryLimit, 32<<20, fetchShare, int64(c.Bus.MaxPayload)+64<<10))
	if c.Writer.WriterID != "" {
		wc.WriterID = c.Writer.WriterID
	}
	return wc
}
