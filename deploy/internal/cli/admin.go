package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/otlp-arrow/otlp-arrow/deploy/pipeline"
)

// admin serves /healthz, /readyz and /metrics for every stage of a process.
type admin struct {
	reg *prometheus.Registry
	ln  net.Listener
	srv *http.Server
	mux *http.ServeMux
	// root is set when something (the dashboard) is served at /.
	root bool

	mu     sync.Mutex
	checks []pipeline.Check
	up     bool
}

// newAdmin binds addr ("" = no admin server) and makes a registry with the
// Go and process collectors.
func newAdmin(addr string, pprof bool) (*admin, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := &admin{reg: reg}
	if addr == "" {
		return a, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listen %s: %w", addr, err)
	}
	a.ln = ln
	mux := http.NewServeMux()
	a.mux = mux
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	if pprof {
		mux.HandleFunc("/debug/pprof/", httppprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", httppprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	}
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return a, nil
}

// mount serves h at / beside the admin endpoints (before serve): the
// dashboard, which the start lines then name.
func (a *admin) mount(h http.Handler) {
	if a.mux != nil {
		a.mux.Handle("/", h)
		a.root = true
	}
}

// addr is the address the admin server listens on, nil when there is none.
func (a *admin) addr() net.Addr {
	if a.ln == nil {
		return nil
	}
	return a.ln.Addr()
}

// setChecks installs the readiness checks once every stage has started.
func (a *admin) setChecks(checks []pipeline.Check) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.checks = append([]pipeline.Check(nil), checks...)
	a.up = true
}

func (a *admin) readyz(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	checks, up := a.checks, a.up
	a.mu.Unlock()
	if !up {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	var errs []error
	for _, c := range checks {
		if err := c.Check(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// serve runs until ctx is done.
func (a *admin) serve(ctx context.Context, log *slog.Logger) {
	if a.srv == nil {
		return
	}
	log.Info("admin server listening", "addr", a.ln.Addr().String())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = a.srv.Shutdown(sctx)
	}()
	if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("admin server stopped", "err", err)
	}
}
