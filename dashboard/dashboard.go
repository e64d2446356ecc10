package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/otlp-arrow/otlp-arrow/dashboard/web"
	"github.com/otlp-arrow/otlp-arrow/proto/fileindex"
)

// Dashboard serves the dashboard. Create it with New; it is an http.Handler
// whose handlers are safe for concurrent use.
type Dashboard struct {
	cfg      Config
	log      *slog.Logger
	index    *fileindex.Index
	handler  http.Handler
	sql      sqlState
	cache    *cache
	tail     *tailHub      // nil without a bus
	stopping chan struct{} // closed when Run returns: event streams end

	cacheVersion atomic.Uint64 // the index version the cache was last swept at
}

var _ http.Handler = (*Dashboard)(nil)

// New validates cfg and prepares the dashboard; it reads no file and
// listens nowhere until Run.
func New(cfg Config) (*Dashboard, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	d := &Dashboard{
		cfg:      cfg,
		log:      cfg.Logger.With("stage", "dashboard"),
		index:    fileindex.New(cfg.OutputDir, fileindex.WithInterval(cfg.IndexInterval), fileindex.WithLogger(cfg.Logger)),
		cache:    newCache(cfg.OutputDir, cfg.CacheBytes),
		stopping: make(chan struct{}),
	}
	if cfg.Conn != nil {
		d.tail = newTailHub(cfg.Conn, cfg.TailQueue, d.log)
	}
	if err := d.initSQL(); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	d.routes(mux)
	d.handler = d.secure(mux)
	return d, nil
}

// Index returns the dashboard's file index.
func (d *Dashboard) Index() *fileindex.Index { return d.index }

// ServeHTTP serves the pages and the API.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) { d.handler.ServeHTTP(w, r) }

// routes registers every handler.
func (d *Dashboard) routes(mux *http.ServeMux) {
	mux.Handle("GET /", d.static())
	mux.HandleFunc("GET /api/overview", d.handleOverview)
	mux.HandleFunc("GET /api/traces", d.handleTraces)
	mux.HandleFunc("GET /api/traces/{trace_id}", d.handleTrace)
	mux.HandleFunc("GET /api/traces/{trace_id}/otlp", d.handleTraceOTLP)
	mux.HandleFunc("GET /api/logs", d.handleLogs)
	mux.HandleFunc("GET /api/metrics", d.handleMetrics)
	mux.HandleFunc("GET /api/metrics/series", d.handleSeries)
	mux.HandleFunc("GET /api/files", d.handleFiles)
	mux.HandleFunc("GET /files/{path...}", d.handleDownload)
	mux.HandleFunc("GET /api/tail", d.handleTail)
	mux.HandleFunc("GET /api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API: "+r.Method+" "+r.URL.Path)
	})
	d.sqlRoutes(mux)
}

// Run keeps the file index up to date and, unless NoListen, serves on Addr,
// until ctx is done; it returns nil then, or the error that stopped it.
func (d *Dashboard) Run(ctx context.Context) error {
	defer d.closeSQL()
	defer d.cache.close()
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			close(d.stopping)
			if d.tail != nil {
				d.tail.stop()
			}
		})
	}
	defer stop()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return d.index.Run(ctx) })
	g.Go(func() error { <-ctx.Done(); stop(); return nil })
	if !d.cfg.NoListen {
		ln, err := net.Listen("tcp", d.cfg.Addr)
		if err != nil {
			return fmt.Errorf("dashboard listen %s: %w", d.cfg.Addr, err)
		}
		srv := &http.Server{Handler: d, ReadHeaderTimeout: 10 * time.Second}
		d.log.Info("dashboard listening", "url", "http://"+ln.Addr().String()+"/")
		g.Go(func() error {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		})
		g.Go(func() error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("dashboard serve: %w", err)
			}
			return nil
		})
	}
	err := g.Wait()
	d.log.Info("dashboard stopped")
	return err
}

// static serves the embedded pages; a path with no file and no extension
// (a view's URL) gets index.html.
func (d *Dashboard) static() http.Handler {
	files := http.FileServerFS(web.FS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if p != "" && path.Ext(p) == "" {
			if _, err := fs.Stat(web.FS, p); err != nil {
				r2 := r.Clone(r.Context())
				r2.URL.Path = "/"
				files.ServeHTTP(w, r2)
				return
			}
		}
		files.ServeHTTP(w, r)
	})
}

// writeJSON writes v as a JSON response with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// serveSearch answers a search: parse reads the request (a parameter error
// is a 400), run computes the JSON answer.
func serveSearch[Q, R any](w http.ResponseWriter, r *http.Request, parse func(*http.Request) (Q, error), run func(context.Context, Q) (R, error)) {
	q, err := parse(r)
	if err != nil {
		if !badRequest(w, err) {
			writeError(w, http.StatusBadRequest, err.Error())
		}
		return
	}
	res, err := run(r.Context(), q)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// writeError writes {"error": msg}.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
