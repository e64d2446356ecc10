package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/otlp-arrow/otlp-arrow/proto/admit"
	"github.com/otlp-arrow/otlp-arrow/proto/bus"
)

// Stage is the stage name in logs.
const Stage = "ingest-grpc"

// ErrNotServing is returned by [Service.Ready] before Run serves or after it
// stopped.
var ErrNotServing = errors.New("ingest: not serving")

// Service runs the OTLP/gRPC and OTLP/HTTP servers. Create it with [New],
// optionally [Service.Listen], then [Service.Run] once.
type Service struct {
	cfg     Config
	log     *slog.Logger
	pub     *Publisher
	limiter *admit.Limiter
	tls     bool

	grpcSrv *grpc.Server
	httpSrv *http.Server

	mu       sync.Mutex
	grpcLis  net.Listener
	httpLis  net.Listener
	listened bool
	ran      bool
	serving  bool
}

// New validates cfg and builds the service publishing on js. log must not
// be nil; reg may be nil (no metrics registered).
func New(cfg Config, js jetstream.Publisher, log *slog.Logger, reg prometheus.Registerer) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new ingest service: %w", err)
	}
	if log == nil {
		return nil, fmt.Errorf("new ingest service: %w: nil logger", ErrInvalidConfig)
	}
	log = log.With(bus.LogKeyStage, Stage)
	if !cfg.GRPC.Enabled && !cfg.HTTP.Enabled {
		log.Warn("both gRPC and HTTP are disabled")
	}
	pub, err := NewPublisher(js, cfg, reg)
	if err != nil {
		return nil, fmt.Errorf("new ingest service: %w", err)
	}
	sm, err := newServerMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("new ingest service: %w", err)
	}
	auth, err := newAuthenticator(cfg.Auth, log)
	if err != nil {
		return nil, fmt.Errorf("new ingest service: %w", err)
	}
	tlsCfg, err := serverTLS(cfg.TLS)
	if err != nil {
		return nil, fmt.Errorf("new ingest service: %w", err)
	}
	limiter := admit.New(cfg.MaxInflightBytes, cfg.AdmitWait, func(v int64) { sm.inflight.Set(float64(v)) })
	s := &Service{cfg: cfg, log: log, pub: pub, limiter: limiter, tls: tlsCfg != nil}
	if cfg.GRPC.Enabled {
		s.grpcSrv = newGRPCServer(cfg, &grpcReceiver{
			pub: pub, limiter: limiter, metrics: sm, retryAfter: cfg.RetryAfter, auth: auth,
		}, tlsCfg)
	}
	if cfg.HTTP.Enabled {
		s.httpSrv = newHTTPServer(cfg, &httpReceiver{
			pub: pub, limiter: limiter, metrics: sm, maxRequest: cfg.MaxRequestBytes,
			retryAfter: cfg.RetryAfter, auth: auth,
		}, tlsCfg, log)
	}
	return s, nil
}

// Publisher returns the service's publisher, for callers that hand it OTLP
// requests directly (the embedded API).
func (s *Service) Publisher() *Publisher { return s.pub }

// Listen binds the enabled listeners, so their addresses are known before
// Run (use port 0 in tests). Calling it again does nothing. Run closes the
// listeners when it returns (also when called with a context already done).
func (s *Service) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listened {
		return nil
	}
	var lc net.ListenConfig
	if s.grpcSrv != nil {
		lis, err := lc.Listen(context.Background(), "tcp", s.cfg.GRPC.Addr)
		if err != nil {
			return fmt.Errorf("listen grpc %s: %w", s.cfg.GRPC.Addr, err)
		}
		s.grpcLis = lis
	}
	if s.httpSrv != nil {
		lis, err := lc.Listen(context.Background(), "tcp", s.cfg.HTTP.Addr)
		if err != nil {
			if s.grpcLis != nil {
				_ = s.grpcLis.Close()
				s.grpcLis = nil
			}
			return fmt.Errorf("listen http %s: %w", s.cfg.HTTP.Addr, err)
		}
		s.httpLis = lis
	}
	s.listened = true
	return nil
}

// GRPCAddr returns the gRPC listener's address, or nil before Listen or when
// gRPC is disabled.
func (s *Service) GRPCAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grpcLis == nil {
		return nil
	}
	return s.grpcLis.Addr()
}

// HTTPAddr returns the HTTP listener's address, or nil before Listen or when
// HTTP is disabled.
func (s *Service) HTTPAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpLis == nil {
		return nil
	}
	return s.httpLis.Addr()
}

// Ready returns nil while the servers serve, else an error wrapping
// [ErrNotServing].
func (s *Service) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.serving {
		return fmt.Errorf("ingest ready: %w", ErrNotServing)
	}
	return nil
}

// Run listens (if Listen was not called) and serves until ctx is done, then
// stops gracefully: no new requests are taken, and those in flight finish
// and get their answer within ShutdownTimeout, after which the servers close
// hard. It returns nil on a clean stop, or the error that stopped a server.
// Run may be called only once.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.ran {
		s.mu.Unlock()
		return errors.New("run ingest: already run")
	}
	s.ran = true
	s.mu.Unlock()
	if err := s.Listen(); err != nil {
		return fmt.Errorf("run ingest: %w", err)
	}

	g, gctx := errgroup.WithContext(ctx)
	s.mu.Lock()
	grpcLis, httpLis := s.grpcLis, s.httpLis
	s.serving = true
	s.mu.Unlock()
	s.warnExposed()
	if grpcLis != nil {
		s.log.Info("serving OTLP/gRPC", "addr", grpcLis.Addr().String(), "tls", s.tls, "auth", s.cfg.Auth.Enabled())
		g.Go(func() error {
			if err := s.grpcSrv.Serve(grpcLis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				return fmt.Errorf("serve grpc: %w", err)
			}
			return nil
		})
	}
	if httpLis != nil {
		s.log.Info("serving OTLP/HTTP", "addr", httpLis.Addr().String(), "tls", s.tls, "auth", s.cfg.Auth.Enabled())
		g.Go(func() error {
			var err error
			if s.tls {
				err = s.httpSrv.ServeTLS(httpLis, "", "") // the certificate is in TLSConfig
			} else {
				err = s.httpSrv.Serve(httpLis)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("serve http: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		s.mu.Lock()
		s.serving = false
		s.mu.Unlock()
		s.stop(context.WithoutCancel(ctx))
		return nil
	})
	err := g.Wait()
	s.log.Info("stopped")
	return err
}

// warnExposed warns when a listener takes connections beyond loopback
// without any authentication: anyone who reaches it may send data.
func (s *Service) warnExposed() {
	if s.cfg.Auth.Enabled() || s.cfg.TLS.ClientCAFile != "" {
		return
	}
	for _, l := range []struct {
		on   bool
		addr string
	}{{s.grpcSrv != nil, s.cfg.GRPC.Addr}, {s.httpSrv != nil, s.cfg.HTTP.Addr}} {
		if l.on && !loopbackOnly(l.addr) {
			s.log.Warn("listening beyond loopback without authentication: set auth_tokens or tls_client_ca_file (docs/security.md)", "addr", l.addr)
		}
	}
}

// stop shuts both servers down gracefully within ShutdownTimeout.
func (s *Service) stop(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	if s.grpcSrv != nil {
		wg.Go(func() {
			done := make(chan struct{})
			go func() {
				s.grpcSrv.GracefulStop()
				close(done)
			}()
			select {
			case <-done:
			case <-ctx.Done():
				s.log.Warn("gRPC graceful stop timed out, closing", "timeout", s.cfg.ShutdownTimeout)
				s.grpcSrv.Stop()
				<-done
			}
		})
	}
	if s.httpSrv != nil {
		wg.Go(func() {
			if err := s.httpSrv.Shutdown(ctx); err != nil {
				s.log.Warn("HTTP graceful stop timed out, closing", "err", err)
				_ = s.httpSrv.Close()
			}
		})
	}
	wg.Wait()
}
