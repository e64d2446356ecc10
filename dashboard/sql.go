package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/otlp-arrow/otlp-arrow/query"
)

// The SQL box's limits: a query longer than sqlTimeout is cancelled, a
// result longer than sqlMaxRows is cut (and says so).
const (
	sqlTimeout  = 30 * time.Second
	sqlMaxRows  = 10000
	sqlMaxBytes = 64 << 10 // of a request body
)

// sqlState is what the SQL handlers keep between requests: the engine,
// opened at the first query (the output directory may not exist before).
type sqlState struct {
	mu     sync.Mutex
	engine *query.Engine
}

// initSQL prepares the SQL engine; New calls it. The engine opens lazily.
func (d *Dashboard) initSQL() error { return nil }

// closeSQL releases the SQL engine when Run returns.
func (d *Dashboard) closeSQL() {
	d.sql.mu.Lock()
	defer d.sql.mu.Unlock()
	if d.sql.engine != nil {
		if err := d.sql.engine.Close(); err != nil {
			d.log.Warn("closing the SQL engine", "err", err)
		}
		d.sql.engine = nil
	}
}

// sqlEngine returns the engine, opening it on first use.
func (d *Dashboard) sqlEngine(ctx context.Context) (*query.Engine, error) {
	d.sql.mu.Lock()
	defer d.sql.mu.Unlock()
	if d.sql.engine != nil {
		return d.sql.engine, nil
	}
	e, err := query.Open(ctx, query.Options{OutputDir: d.cfg.OutputDir, Timeout: sqlTimeout, MaxRows: sqlMaxRows, Index: d.index})
	if err != nil {
		return nil, err
	}
	d.sql.engine = e
	return e, nil
}

// sqlRoutes registers /api/sql and /api/sql/examples.
func (d *Dashboard) sqlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/sql", d.handleSQL)
	mux.HandleFunc("GET /api/sql/examples", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"examples": query.Examples, "available": query.Available})
	})
}

// sqlResponse is the answer of POST /api/sql.
type sqlResponse struct {
	Columns   []query.Column `json:"columns"`
	Rows      [][]any        `json:"rows"`
	Truncated bool           `json:"truncated"`
	ElapsedMS float64        `json:"elapsed_ms"`
	Error     string         `json:"error,omitempty"`
}

// handleSQL runs POST {sql}: 200 with the result, 400 for a bad or
// refused query, 408 past the time limit, 422 past the row cap (with the
// first rows), 501 when built without SQL.
func (d *Dashboard) handleSQL(w http.ResponseWriter, r *http.Request) {
	if !query.Available {
		writeError(w, http.StatusNotImplemented, query.ErrUnavailable.Error())
		return
	}
	var req struct {
		SQL string `json:"sql"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, sqlMaxBytes)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "want a JSON body {\"sql\": \"SELECT ...\"} of at most 64 KiB: "+err.Error())
		return
	}
	e, err := d.sqlEngine(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	res, err := e.Query(r.Context(), req.SQL)
	code := http.StatusOK
	switch {
	case err == nil:
	case errors.Is(err, query.ErrTooManyRows):
		code = http.StatusUnprocessableEntity
	case errors.Is(err, query.ErrTimeout):
		code = http.StatusRequestTimeout
	case errors.Is(err, query.ErrBadQuery), errors.Is(err, query.ErrNotAllowed):
		code = http.StatusBadRequest
	case r.Context().Err() != nil:
		return // the client left
	default:
		d.log.Warn("SQL query failed", "err", err)
		code = http.StatusInternalServerError
	}
	if res == nil {
		writeError(w, code, err.Error())
		return
	}
	out := sqlResponse{Columns: res.Columns, Rows: res.Rows, Truncated: res.Truncated, ElapsedMS: float64(res.Elapsed.Microseconds()) / 1e3}
	if out.Columns == nil {
		out.Columns = []query.Column{}
	}
	for _, row := range out.Rows {
		for i, v := range row {
			row[i] = query.JSONSafe(v)
		}
	}
	if err != nil {
		out.Error = err.Error()
	}
	writeJSON(w, code, out)
}
