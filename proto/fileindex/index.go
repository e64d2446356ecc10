package fileindex

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// PartialExt ends the name of a file the writer still writes.
const PartialExt = ".partial"

// The formats and states of [File].
const (
	FormatArrow   = "arrow"
	FormatParquet = "parquet"
	StatePartial  = "partial"
	StateFinished = "finished"
)

// Signals are the signal directories the index looks in.
var Signals = []string{"traces", "metrics", "logs"}

// DefaultInterval is how often [Index.Run] polls by default.
const DefaultInterval = 2 * time.Second

// File describes one output file.
type File struct {
	Path             string    // relative to the output dir, slash-separated, e.g. "otlp/traces/traces-...arrows"
	Signal           string    // traces | metrics | logs
	Format           string    // arrow | parquet
	State            string    // partial | finished
	Bytes            int64     // the file's size
	Rows             int64     // rows read so far (a .partial file may hold more than its complete messages)
	MinTime, MaxTime time.Time // span start / point time / log time range (zero if empty or unknown)
	Services         []string  // the distinct service_name values, sorted
	SchemaVersion    string    // e.g. traces/v1; traces/v2 for an Arrow file in that layout
	ModTime          time.Time
}

// Overlaps reports whether the file may hold rows in [from, to]; zero from or
// to is unbounded. A file whose time range is unknown (no timed rows yet)
// overlaps every window, so that nothing is missed.
func (f File) Overlaps(from, to time.Time) bool {
	if f.MinTime.IsZero() {
		return true
	}
	return (from.IsZero() || !f.MaxTime.Before(from)) && (to.IsZero() || !f.MinTime.After(to))
}

// Option configures an Index.
type Option func(*Index)

// WithInterval sets how often Run polls (default [DefaultInterval]).
func WithInterval(d time.Duration) Option { return func(ix *Index) { ix.interval = d } }

// WithLogger sets the logger for files that cannot be read (default: discard).
func WithLogger(l *slog.Logger) Option { return func(ix *Index) { ix.log = l } }

// Index is the index of an output directory's files. Its methods are safe for
// concurrent use.
type Index struct {
	dir      string
	interval time.Duration
	log      *slog.Logger

	refresh sync.Mutex // one Refresh at a time; guards entries and dirMod
	entries map[string]*entry
	dirMod  map[string]time.Time // per signal: the directory's time when last listed

	mu      sync.RWMutex
	files   []File // sorted by MinTime, then Path
	version uint64
}

// entry is what the index keeps of one file, keyed by its path without
// .partial, so a rotation carries it over.
type entry struct {
	file     File
	rdr      *Reader // an Arrow file still followed
	complete bool    // an Arrow file read to its end
	broken   bool    // a file that could not be read: retried when it changes
}

// New returns an index of outputDir. It reads nothing until Refresh or Run.
func New(outputDir string, opts ...Option) *Index {
	ix := &Index{dir: outputDir, interval: DefaultInterval, entries: map[string]*entry{}, dirMod: map[string]time.Time{}}
	for _, o := range opts {
		o(ix)
	}
	if ix.log == nil {
		ix.log = slog.New(slog.DiscardHandler)
	}
	return ix
}

// Dir returns the output directory.
func (ix *Index) Dir() string { return ix.dir }

// Version counts the changes Refresh has seen: a caller that cached
// something derived from the files can tell whether to look again.
func (ix *Index) Version() uint64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.version
}

// Run refreshes the index now and then every interval until ctx is done; it
// returns nil then. A failed refresh is logged and retried at the next tick.
func (ix *Index) Run(ctx context.Context) error {
	t := time.NewTicker(ix.interval)
	defer t.Stop()
	defer ix.close()
	for {
		if err := ix.Refresh(ctx); err != nil && ctx.Err() == nil {
			ix.log.Warn("file index refresh failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// close releases the readers of followed files.
func (ix *Index) close() {
	ix.refresh.Lock()
	defer ix.refresh.Unlock()
	for _, e := range ix.entries {
		if e.rdr != nil {
			_ = e.rdr.Close()
			e.rdr = nil
		}
	}
}

// Files returns the files of signal ("" for all) whose time range overlaps
// [from, to] (zero from or to is unbounded; a file with no known time range
// is always included), sorted by MinTime then Path.
func (ix *Index) Files(signal string, from, to time.Time) []File {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []File
	for _, f := range ix.files {
		if (signal == "" || f.Signal == signal) && f.Overlaps(from, to) {
			out = append(out, f)
		}
	}
	return out
}

// Lookup returns the indexed file at the slash-separated path relative to
// the output dir.
func (ix *Index) Lookup(rel string) (File, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	for _, f := range ix.files {
		if f.Path == rel {
			return f, true
		}
	}
	return File{}, false
}

// Refresh rescans the output directory: it adds new files, reads what grew
// in .partial files, carries a renamed file's entry over and forgets removed
// files. A file that cannot be read is logged and skipped until it changes.
// New files are listed (with an unknown time range, so every window
// includes them) before they are read, and the list is published again
// every second while a long scan reads them. A directory whose modification
// time is unchanged (and over a second old) is not listed again: only its
// .partial files are looked at. It returns an error only when ctx is done.
func (ix *Index) Refresh(ctx context.Context) error {
	ix.refresh.Lock()
	defer ix.refresh.Unlock()
	changed := false
	seen := make(map[string]bool, len(ix.entries))
	var stale []string // entries to read, in listing order
	for _, sig := range Signals {
		rel := path.Join("otlp", sig)
		dir := filepath.Join(ix.dir, filepath.FromSlash(rel))
		st, err := os.Stat(dir)
		if err != nil {
			continue // not there yet
		}
		if mod, ok := ix.dirMod[sig]; ok && mod.Equal(st.ModTime()) && time.Since(mod) > time.Second {
			stale = ix.checkPartials(sig, seen, stale)
			continue
		}
		ix.dirMod[sig] = st.ModTime()
		des, err := os.ReadDir(dir)
		if err != nil {
			delete(ix.dirMod, sig)
			continue
		}
		for _, de := range des {
			name := de.Name()
			format, partial, ok := parseName(name, sig)
			if !ok || de.IsDir() {
				continue
			}
			info, err := de.Info()
			if err != nil {
				continue // removed since the listing
			}
			p := path.Join(rel, name)
			key := strings.TrimSuffix(p, PartialExt)
			seen[key] = true
			e := ix.entries[key]
			if e != nil && e.file.Path == p && e.file.Bytes == info.Size() && e.file.ModTime.Equal(info.ModTime()) {
				continue
			}
			if e == nil {
				e = &entry{file: File{Signal: sig, Format: format, SchemaVersion: sig + "/v1"}}
				ix.entries[key] = e
			}
			e.file.Path = p
			e.file.State = StateFinished
			if partial {
				e.file.State = StatePartial
			}
			e.file.Bytes = info.Size()
			e.file.ModTime = info.ModTime()
			stale = append(stale, key)
		}
	}
	for key := range ix.entries {
		if !seen[key] {
			ix.forget(key)
			changed = true
		}
	}
	if len(stale) > 0 {
		ix.publish()
		changed = false
	}
	published := time.Now()
	for _, key := range stale {
		if err := ctx.Err(); err != nil {
			ix.publish()
			return err
		}
		e := ix.entries[key]
		if e == nil {
			continue
		}
		changed = true
		if err := ix.read(ctx, e); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				ix.forget(key)
				continue
			}
			if !e.broken {
				ix.log.Warn("cannot read file", "file", e.file.Path, "err", err)
			}
			e.broken = true
			continue
		}
		e.broken = false
		if time.Since(published) > time.Second {
			ix.publish()
			published, changed = time.Now(), false
		}
	}
	if changed {
		ix.publish()
	}
	return nil
}

// checkPartials marks the signal's entries seen and adds its .partial
// files that changed to stale (the directory itself did not change).
func (ix *Index) checkPartials(sig string, seen map[string]bool, stale []string) []string {
	for key, e := range ix.entries {
		if e.file.Signal != sig {
			continue
		}
		seen[key] = true
		if e.file.State != StatePartial {
			continue
		}
		info, err := os.Stat(filepath.Join(ix.dir, filepath.FromSlash(e.file.Path)))
		if err != nil {
			delete(ix.dirMod, sig) // list it again next time
			continue
		}
		if info.Size() != e.file.Bytes || !info.ModTime().Equal(e.file.ModTime) {
			e.file.Bytes, e.file.ModTime = info.Size(), info.ModTime()
			stale = append(stale, key)
		}
	}
	return stale
}

// forget drops an entry and closes its reader.
func (ix *Index) forget(key string) {
	if e := ix.entries[key]; e != nil && e.rdr != nil {
		_ = e.rdr.Close()
	}
	delete(ix.entries, key)
}

// publish rebuilds the sorted file list.
func (ix *Index) publish() {
	files := make([]File, 0, len(ix.entries))
	for _, e := range ix.entries {
		f := e.file
		f.Services = slices.Clone(f.Services)
		files = append(files, f)
	}
	slices.SortFunc(files, func(a, b File) int {
		if c := a.MinTime.Compare(b.MinTime); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
	ix.mu.Lock()
	ix.files = files
	ix.version++
	ix.mu.Unlock()
}

// read brings e's rows, time range and services up to date with its file.
func (ix *Index) read(ctx context.Context, e *entry) error {
	full := filepath.Join(ix.dir, filepath.FromSlash(e.file.Path))
	timeCol := TimeColumn(e.file.Signal)
	if e.file.Format == FormatParquet {
		// A Parquet file is whole or unreadable: read it again from the start.
		s := summary{}
		err := ReadFile(ctx, full, []string{"service_name", timeCol}, func(rec arrow.RecordBatch) error {
			s.add(rec, timeCol)
			return nil
		})
		if err != nil {
			if e.file.State == StatePartial && !errors.Is(err, fs.ErrNotExist) {
				err = nil // its footer is not written yet
			}
			return err
		}
		s.apply(&e.file)
		return nil
	}
	if e.rdr == nil {
		if e.complete {
			return nil
		}
		r, err := OpenReader(full)
		if err != nil {
			return err
		}
		e.rdr = r
		e.file.Rows, e.file.MinTime, e.file.MaxTime, e.file.Services = 0, time.Time{}, time.Time{}, nil
	}
	s := summary{services: e.file.Services, rows: e.file.Rows, min: e.file.MinTime, max: e.file.MaxTime}
	// The summary's columns (service_name, the time column) are the same
	// in v1 and v2 files: no conversion.
	err := e.rdr.ReadNewStored(func(rec arrow.RecordBatch) error {
		s.add(rec, timeCol)
		return nil
	})
	s.apply(&e.file)
	if v := e.rdr.FileVersion(); v != "" {
		e.file.SchemaVersion = v
	}
	if err != nil || e.rdr.Done() || e.file.State == StateFinished {
		e.complete = err == nil
		_ = e.rdr.Close()
		e.rdr = nil
	}
	return err
}

// TimeColumn returns the column that times a row of signal: start_time for
// traces, time for metrics and logs.
func TimeColumn(signal string) string {
	if signal == "traces" {
		return "start_time"
	}
	return "time"
}

// summary accumulates the rows, time range and services of batches.
type summary struct {
	services []string
	rows     int64
	min, max time.Time
}

func (s *summary) add(rec arrow.RecordBatch, timeCol string) {
	s.rows += rec.NumRows()
	sc := rec.Schema()
	if idx := sc.FieldIndices(timeCol); len(idx) > 0 {
		if ts, ok := rec.Column(idx[0]).(*array.Timestamp); ok {
			for i := range ts.Len() {
				if ts.IsNull(i) {
					continue
				}
				t := time.Unix(0, int64(ts.Value(i))).UTC()
				if s.min.IsZero() || t.Before(s.min) {
					s.min = t
				}
				if s.max.IsZero() || t.After(s.max) {
					s.max = t
				}
			}
		}
	}
	if idx := sc.FieldIndices("service_name"); len(idx) > 0 {
		s.services = addServices(s.services, rec.Column(idx[0]))
	}
}

// addServices adds the distinct non-null strings of col to set (sorted).
func addServices(set []string, col arrow.Array) []string {
	add := func(v string) {
		if i, found := slices.BinarySearch(set, v); !found {
			set = slices.Insert(set, i, v)
		}
	}
	switch c := col.(type) {
	case *array.Dictionary:
		dict, ok := c.Dictionary().(*array.String)
		if !ok {
			return set
		}
		used := make([]bool, dict.Len())
		for i := range c.Len() {
			if c.IsValid(i) {
				used[c.GetValueIndex(i)] = true
			}
		}
		for j, u := range used {
			if u && dict.IsValid(j) {
				add(dict.Value(j))
			}
		}
	case *array.String:
		for i := range c.Len() {
			if c.IsValid(i) {
				add(c.Value(i))
			}
		}
	}
	return set
}

func (s *summary) apply(f *File) {
	f.Rows, f.MinTime, f.MaxTime, f.Services = s.rows, s.min, s.max, s.services
}

// parseName reports whether name is an output file of signal, and its format.
func parseName(name, signal string) (format string, partial, ok bool) {
	if !strings.HasPrefix(name, signal+"-") || strings.HasPrefix(name, ".") {
		return "", false, false
	}
	rest, partial := strings.CutSuffix(name, PartialExt)
	switch {
	case strings.HasSuffix(rest, ".arrows"):
		return FormatArrow, partial, true
	case strings.HasSuffix(rest, ".parquet"):
		return FormatParquet, partial, true
	}
	return "", false, false
}
