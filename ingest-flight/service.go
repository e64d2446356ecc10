package ingestflight

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/nats-io/nats.go/jetstream"
	arrowpb "github.com/open-telemetry/otel-arrow/go/api/experimental/arrow/v1"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // accept gzip-compressed messages

	"github.com/otlp-arrow/otlp-arrow/proto/admit"
	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/ingestauth"
	"github.com/otlp-arrow/otlp-arrow/proto/publish"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Stage is the stage name in logs.
const Stage = "ingest-flight"

// ErrNotServing is returned by [Service.Ready] before Run serves or after it
// stopped.
var ErrNotServing = errors.New("ingestflight: not serving")

// publisher is the shared publish path the handlers use.
type publisher interface {
	PublishTraces(ctx context.Context, req *coltracepb.ExportTraceServiceRequest, source string) (int64, string, error)
	PublishMetricData(ctx context.Context, md pmetric.Metrics, source string) (int64, string, error)
	PublishTraceData(ctx context.Context, td ptrace.Traces, source string) (int64, string, error)
	PublishLogData(ctx context.Context, ld plog.Logs, source string) (int64, string, error)
	PublishRecord(ctx context.Context, sig schema.Signal, rec arrow.RecordBatch, source string) (int64, error)
}

var _ publisher = (*publish.Publisher)(nil)

// Service runs the gRPC server holding the Arrow Flight service and the
// three OTel-Arrow services. Create it with [New], optionally
// [Service.Listen], then [Service.Run] once.
type Service struct {
	cfg     Config
	log     *slog.Logger
	srv     *grpc.Server
	limiter *admit.Limiter // nil when disabled
	tls     bool

	mu       sync.Mutex
	lis      net.Listener
	listened bool
	ran      bool
	serving  bool
}

// New validates cfg and builds the service publishing on js. log must not
// be nil; reg may be nil (no metrics registered). Metrics share the names
// of ingest-grpc's (protocol label "flight" or "otap") and are shared with
// collectors already registered on reg.
func New(cfg Config, js jetstream.Publisher, log *slog.Logger, reg prometheus.Registerer) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new ingest-flight service: %w", err)
	}
	if log == nil {
		return nil, fmt.Errorf("new ingest-flight service: %w: nil logger", ErrInvalidConfig)
	}
	log = log.With(bus.LogKeyStage, Stage)
	pub, err := publish.NewPublisher(js, publish.Config{MaxPayloadBytes: cfg.MaxPayloadBytes, PublishTimeout: cfg.PublishTimeout, Compression: cfg.PayloadCompression, PerServiceMessages: cfg.PerServiceMessages}, reg)
	if err != nil {
		return nil, fmt.Errorf("new ingest-flight service: %w", err)
	}
	sm, err := newServerMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("new ingest-flight service: %w", err)
	}
	s := &Service{cfg: cfg, log: log}
	if !cfg.Enabled {
		return s, nil
	}
	auth, err := newAuthenticator(cfg.Auth, log)
	if err != nil {
		return nil, fmt.Errorf("new ingest-flight service: %w", err)
	}
	tlsCfg, err := serverTLS(cfg.TLS)
	if err != nil {
		return nil, fmt.Errorf("new ingest-flight service: %w", err)
	}
	s.tls = tlsCfg != nil
	s.limiter = admit.New(cfg.MaxInflightBytes, cfg.AdmitWait, func(v int64) { sm.inflight.Set(float64(v)) })
	s.srv = grpc.NewServer(serverOptions(cfg, log, sm, auth, tlsCfg, s.limiter)...)
	flight.RegisterFlightServiceServer(s.srv, &flightServer{
		// One allocation (a decompressed buffer) may be as large as the
		// default bytes in flight even when a memory limit lowered them:
		// what fits on the wire must not be refused for its width.
		pub: pub, mem: capAllocator{Allocator: memory.NewGoAllocator(), max: int(max(cfg.MaxInflightBytes, DefaultMaxInflightBytes))}, metrics: sm,
		maxRows: cfg.MaxBatchRows, retryAfter: cfg.RetryAfter,
	})
	o := &otapServer{pub: pub, metrics: sm, retryAfter: cfg.RetryAfter, limiter: s.limiter}
	arrowpb.RegisterArrowTracesServiceServer(s.srv, &otapTraces{o: o})
	arrowpb.RegisterArrowMetricsServiceServer(s.srv, &otapMetrics{o: o})
	arrowpb.RegisterArrowLogsServiceServer(s.srv, &otapLogs{o: o})
	return s, nil
}

// maxHeaderListSize bounds a call's metadata, as ingest-grpc does.
const maxHeaderListSize = 1 << 20

// serverOptions are the gRPC server's limits, authentication (a tap handle,
// before any message is read), TLS and admission.
func serverOptions(cfg Config, log *slog.Logger, sm *serverMetrics, auth *authenticator, tlsCfg *tls.Config, limiter *admit.Limiter) []grpc.ServerOption {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(cfg.MaxMessageBytes),
		grpc.MaxHeaderListSize(maxHeaderListSize),
		grpc.ForceServerCodecV2(flightCodec{encoding.GetCodecV2("proto")}),
		grpc.StreamInterceptor(admitStream{limiter: limiter, retryAfter: cfg.RetryAfter, log: log}.intercept),
	}
	if auth != nil {
		opts = append(opts, grpc.InTapHandle(tapAuth{auth: auth, metrics: sm}.handle))
	}
	if cfg.MaxConcurrentStreams > 0 {
		opts = append(opts, grpc.MaxConcurrentStreams(cfg.MaxConcurrentStreams))
	}
	if tlsCfg != nil {
		opts = append(opts, grpc.Creds(ingestauth.CountHandshakeFailures(credentials.NewTLS(tlsCfg),
			sm.tlsFailures.WithLabelValues(SourceFlight).Inc)))
	}
	return opts
}

// Listen binds the listener, so its address is known before Run (use port
// 0 in tests). Calling it again, or on a disabled service, does nothing.
// Run closes the listener when it returns.
func (s *Service) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listened || s.srv == nil {
		return nil
	}
	var lc net.ListenConfig
	lis, err := lc.Listen(context.Background(), "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen flight %s: %w", s.cfg.Addr, err)
	}
	s.lis, s.listened = lis, true
	return nil
}

// Addr returns the listener's address, or nil before Listen or when the
// service is disabled.
func (s *Service) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lis == nil {
		return nil
	}
	return s.lis.Addr()
}

// Ready returns nil while the server serves (or, when disabled, while Run
// runs), else an error wrapping [ErrNotServing].
func (s *Service) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.serving {
		return fmt.Errorf("ingest-flight ready: %w", ErrNotServing)
	}
	return nil
}

// Run listens (if Listen was not called) and serves until ctx is done, then
// stops gracefully: no new streams are taken, and streams in flight get
// ShutdownTimeout to finish, after which the server closes hard. It returns
// nil on a clean stop, or the error that stopped the server. Run may be
// called only once.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.ran {
		s.mu.Unlock()
		return errors.New("run ingest-flight: already run")
	}
	s.ran = true
	s.mu.Unlock()
	if s.srv == nil {
		s.setServing(true)
		<-ctx.Done()
		s.setServing(false)
		return nil
	}
	if err := s.Listen(); err != nil {
		return fmt.Errorf("run ingest-flight: %w", err)
	}
	s.mu.Lock()
	lis := s.lis
	s.serving = true
	s.mu.Unlock()
	s.log.Info("serving Arrow Flight and OTAP", "addr", lis.Addr().String(), "tls", s.tls, "auth", s.cfg.Auth.Enabled())
	if !s.cfg.Auth.Enabled() && s.cfg.TLS.ClientCAFile == "" && !ingestauth.LoopbackOnly(lis.Addr().String()) {
		s.log.Warn("listening beyond loopback without authentication: set auth_tokens or tls_client_ca_file (docs/security.md)", "addr", lis.Addr().String())
	}

	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(lis) }()
	var err error
	select {
	case err = <-served:
		s.setServing(false)
	case <-ctx.Done():
		s.setServing(false)
		s.stop()
		err = <-served
	}
	s.log.Info("stopped")
	if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("serve flight: %w", err)
	}
	return nil
}

func (s *Service) setServing(v bool) {
	s.mu.Lock()
	s.serving = v
	s.mu.Unlock()
}

// stop stops the server gracefully within ShutdownTimeout, then hard.
func (s *Service) stop() {
	done := make(chan struct{})
	go func() {
		s.srv.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(s.cfg.ShutdownTimeout):
		s.log.Warn("graceful stop timed out, closing", "timeout", s.cfg.ShutdownTimeout)
		s.srv.Stop()
		<-done
	}
}
