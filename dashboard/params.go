package dashboard

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/otlp-arrow/otlp-arrow/proto/fileindex"
)

// errBadParam marks a request parameter that cannot be parsed (400).
type errBadParam struct{ name, value, want string }

func (e errBadParam) Error() string {
	return fmt.Sprintf("parameter %s=%q: want %s", e.name, e.value, e.want)
}

// window is a time window; zero ends are unbounded.
type window struct{ from, to time.Time }

// contains reports whether ns lies in the window.
func (w window) contains(ns int64) bool {
	return (w.from.IsZero() || ns >= w.from.UnixNano()) && (w.to.IsZero() || ns <= w.to.UnixNano())
}

// parseTime reads unix ms (integer or fractional) or RFC 3339.
func parseTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Unix(0, int64(f*1e6)).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, errBadParam{name, v, "unix milliseconds or RFC 3339"}
	}
	return t, nil
}

func parseWindow(r *http.Request) (window, error) {
	from, err := parseTime("from", r.URL.Query().Get("from"))
	if err != nil {
		return window{}, err
	}
	to, err := parseTime("to", r.URL.Query().Get("to"))
	return window{from, to}, err
}

// attrFilter is one attr=key=value parameter.
type attrFilter struct{ key, value string }

func parseAttrs(r *http.Request) ([]attrFilter, error) {
	var out []attrFilter
	for _, a := range r.URL.Query()["attr"] {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, errBadParam{"attr", a, "key=value"}
		}
		out = append(out, attrFilter{k, v})
	}
	return out, nil
}

// parseInt reads an integer parameter with a default and bounds.
func parseInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errBadParam{name, v, fmt.Sprintf("an integer from %d to %d", lo, hi)}
	}
	return n, nil
}

// parseFloat reads an optional float parameter (NaN when absent).
func parseFloat(r *http.Request, name string) (float64, bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, false, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, false, errBadParam{name, v, "a number"}
	}
	return f, true, nil
}

// parseID reads a hex id (trace or span) of at most n bytes; a shorter one
// is a prefix.
func parseID(name, v string, n int) ([]byte, error) {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(v)
	if err != nil || len(b) > n {
		return nil, errBadParam{name, v, fmt.Sprintf("up to %d hex digits", 2*n)}
	}
	return b, nil
}

// scanStats counts what a query read.
type scanStats struct {
	files int
	rows  int64
}

// scan calls fn with every record batch of the signal's files that overlap
// w, oldest file first. The batches are valid during the call.
func (d *Dashboard) scan(ctx context.Context, signal string, w window, fn func(f fileindex.File, rec arrow.RecordBatch) error) (scanStats, error) {
	var st scanStats
	files := d.index.Files(signal, w.from, w.to)
	d.forgetStale()
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		recs, err := d.cache.batches(ctx, f)
		if err != nil {
			d.log.Warn("cannot read file", "file", f.Path, "err", err)
			continue
		}
		st.files++
		for _, rec := range recs {
			st.rows += rec.NumRows()
			if err := fn(f, rec); err != nil {
				releaseAll(recs)
				return st, err
			}
		}
		releaseAll(recs)
	}
	return st, nil
}

// scanParallel is scan over traces files, with each batch's trace table
// and the files shared among workers goroutines;
// fn gets the worker's number (0 to workers-1) and must only touch that
// worker's state. The stats are summed.
func (d *Dashboard) scanParallel(ctx context.Context, signal string, w window, workers int, fn func(worker int, f fileindex.File, rec arrow.RecordBatch, t *traceTable) error) (scanStats, error) {
	files := d.index.Files(signal, w.from, w.to)
	d.forgetStale()
	workers = max(1, min(workers, len(files)))
	stats := make([]scanStats, workers)
	errs := make([]error, workers)
	next := make(chan fileindex.File)
	var wg sync.WaitGroup
	for k := range workers {
		wg.Go(func() {
			for f := range next {
				if errs[k] != nil || ctx.Err() != nil {
					continue
				}
				recs, tables, err := d.cache.withTables(ctx, f)
				if err != nil {
					d.log.Warn("cannot read file", "file", f.Path, "err", err)
					continue
				}
				stats[k].files++
				for j, rec := range recs {
					stats[k].rows += rec.NumRows()
					if err := fn(k, f, rec, tables[j]); err != nil {
						errs[k] = err
						break
					}
				}
				releaseAll(recs)
			}
		})
	}
	for _, f := range files {
		next <- f
	}
	close(next)
	wg.Wait()
	var st scanStats
	for _, s := range stats {
		st.files += s.files
		st.rows += s.rows
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	return st, errors.Join(errs...)
}

// forgetStale drops cached files the index no longer lists, once per index
// change.
func (d *Dashboard) forgetStale() {
	v := d.index.Version()
	if d.cacheVersion.Swap(v) != v {
		d.cache.forget(d.index.Files("", time.Time{}, time.Time{}))
	}
}

// badRequest writes a 400 for a parameter error and reports whether err
// was one.
func badRequest(w http.ResponseWriter, err error) bool {
	if pe, ok := err.(errBadParam); ok {
		writeError(w, http.StatusBadRequest, pe.Error())
		return true
	}
	return false
}
