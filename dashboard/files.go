package dashboard

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/fileindex"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

type fileJSON struct {
	Path          string   `json:"path"`
	Signal        string   `json:"signal"`
	Format        string   `json:"format"`
	State         string   `json:"state"`
	Bytes         int64    `json:"bytes"`
	Rows          int64    `json:"rows"`
	MinMs         float64  `json:"min_ms"`
	MaxMs         float64  `json:"max_ms"`
	Services      []string `json:"services"`
	SchemaVersion string   `json:"schema_version"`
}

type consumerJSON struct {
	Stream     string `json:"stream"`
	Name       string `json:"name"`
	Pending    uint64 `json:"pending"`
	AckPending int    `json:"ack_pending"`
}

// msOf renders a time as float ms, 0 for the zero time.
func msOf(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return ms(t.UnixNano())
}

func (d *Dashboard) handleFiles(w http.ResponseWriter, r *http.Request) {
	files := d.index.Files("", time.Time{}, time.Time{})
	out := make([]fileJSON, 0, len(files))
	for _, f := range files {
		svcs := f.Services
		if svcs == nil {
			svcs = []string{}
		}
		out = append(out, fileJSON{Path: f.Path, Signal: f.Signal, Format: f.Format, State: f.State, Bytes: f.Bytes,
			Rows: f.Rows, MinMs: msOf(f.MinTime), MaxMs: msOf(f.MaxTime), Services: svcs, SchemaVersion: f.SchemaVersion})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"files":           out,
		"consumers":       d.consumers(r.Context()),
		"output_dir_name": filepath.Base(filepath.Clean(d.cfg.OutputDir)),
	})
}

// consumers returns each durable consumer's lag on each signal stream, when
// the bus is reachable; consumers that do not exist are left out.
func (d *Dashboard) consumers(ctx context.Context) []consumerJSON {
	out := []consumerJSON{}
	if d.cfg.Conn == nil || !d.cfg.Conn.IsConnected() {
		return out
	}
	js, err := jetstream.New(d.cfg.Conn)
	if err != nil {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, sig := range schema.Signals {
		stream := bus.StreamName(sig)
		for _, name := range d.cfg.Durables {
			c, err := js.Consumer(ctx, stream, name)
			if err != nil {
				continue
			}
			info := c.CachedInfo()
			out = append(out, consumerJSON{Stream: stream, Name: name, Pending: info.NumPending, AckPending: info.NumAckPending})
		}
	}
	return out
}

// handleOverview summarizes the files: services and rows per signal, the
// number of files and the time they cover.
func (d *Dashboard) handleOverview(w http.ResponseWriter, _ *http.Request) {
	services := map[string][]string{}
	rows := map[string]int64{}
	var lo, hi time.Time
	files := d.index.Files("", time.Time{}, time.Time{})
	for _, sig := range fileindex.Signals {
		services[sig] = []string{}
		rows[sig] = 0
	}
	for _, f := range files {
		rows[f.Signal] += f.Rows
		for _, s := range f.Services {
			if !slices.Contains(services[f.Signal], s) {
				services[f.Signal] = append(services[f.Signal], s)
			}
		}
		if !f.MinTime.IsZero() && (lo.IsZero() || f.MinTime.Before(lo)) {
			lo = f.MinTime
		}
		if f.MaxTime.After(hi) {
			hi = f.MaxTime
		}
	}
	for _, s := range services {
		slices.Sort(s)
	}
	writeJSON(w, http.StatusOK, map[string]any{"services": services, "rows": rows, "files": len(files),
		"min_ms": msOf(lo), "max_ms": msOf(hi)})
}

// handleDownload serves a data file from under the output directory. Any
// other path (outside it, not a data file, a symbolic link out) is a 404
// and a log line.
func (d *Dashboard) handleDownload(w http.ResponseWriter, r *http.Request) {
	rel := r.PathValue("path")
	f, name, err := d.openDataFile(rel)
	if err != nil {
		d.log.Warn("file download refused", "path", rel, "remote", r.RemoteAddr, "err", err)
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		d.log.Warn("file download refused", "path", rel, "remote", r.RemoteAddr, "err", "not a regular file")
		http.NotFound(w, r)
		return
	}
	ctype := "application/vnd.apache.arrow.stream"
	if fileindex.IsParquet(name) {
		ctype = "application/vnd.apache.parquet"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// errNotDataFile refuses a download path.
var errNotDataFile = errors.New("not a data file under the output directory")

// openDataFile opens otlp/<signal>/<file> under the output directory
// through an os.Root, so neither ".." nor a symbolic link leads out.
func (d *Dashboard) openDataFile(rel string) (*os.File, string, error) {
	if rel == "" || strings.Contains(rel, "\\") || strings.ContainsRune(rel, 0) || path.IsAbs(rel) || path.Clean(rel) != rel {
		return nil, "", errNotDataFile
	}
	parts := strings.Split(rel, "/")
	if len(parts) != 3 || parts[0] != "otlp" || !slices.Contains(fileindex.Signals, parts[1]) ||
		!strings.HasPrefix(parts[2], parts[1]+"-") ||
		!(strings.HasSuffix(strings.TrimSuffix(parts[2], fileindex.PartialExt), ".arrows") || fileindex.IsParquet(parts[2])) {
		return nil, "", errNotDataFile
	}
	root, err := os.OpenRoot(d.cfg.OutputDir)
	if err != nil {
		return nil, "", err
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(rel))
	if err != nil {
		return nil, "", err
	}
	return f, parts[2], nil
}
