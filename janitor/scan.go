package janitor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// logKeyFile is the attribute key for a file path (the same as the proto
// bus package's LogKeyFile, without importing the bus).
const logKeyFile = "file"

// namePattern matches a finished file's base name for each signal:
// <signal>-<UTC start>-<writer id>-<seq, 6 digits or more>.arrows (or
// .parquet), the writer's naming. Anything else (including .partial files)
// is left alone.
var namePattern = func() map[schema.Signal]*regexp.Regexp {
	m := make(map[schema.Signal]*regexp.Regexp, len(schema.Signals))
	for _, sig := range schema.Signals {
		m[sig] = regexp.MustCompile(`^` + regexp.QuoteMeta(string(sig)) +
			`-\d{8}T\d{6}(?:\.\d{1,9})?Z-[A-Za-z0-9_][A-Za-z0-9._-]*-\d{6,}\.(?:arrows|parquet)$`)
	}
	return m
}()

// Report is the outcome of one [Janitor.Scan]. In dry-run mode it describes
// what would have been removed and what would have been kept.
type Report struct {
	Files     int      // files removed
	Bytes     int64    // bytes removed
	Removed   []string // paths of the removed files, in removal order
	Kept      int      // finished files left
	KeptBytes int64    // bytes of the finished files left
}

// file is one finished file found by a scan.
type file struct {
	signal schema.Signal
	path   string
	name   string
	size   int64
	mtime  time.Time
	gone   bool // removed (or would be, in dry-run), or vanished
	onDisk bool // still on disk after the scan
}

// Scan makes one pass: it lists the finished files of every signal and
// removes those past their retention, then the oldest until the total is
// within [Config.MaxTotalBytes], then the oldest until [Config.MinFreeBytes]
// is free. A file that vanishes before it is removed is skipped silently.
// Scan continues past errors (an unreadable directory, a file it cannot
// remove, a failed free-space measurement) and returns them joined, with the
// report of what it did. If ctx is done it stops early and returns ctx's
// error. Scans never overlap: a concurrent call waits.
func (j *Janitor) Scan(ctx context.Context) (Report, error) {
	j.scanMu.Lock()
	defer j.scanMu.Unlock()
	j.m.scans.Inc()
	rep, err := j.scan(ctx)
	j.setState(err)
	return rep, err
}

// scan implements Scan.
func (j *Janitor) scan(ctx context.Context) (Report, error) {
	now := j.now()
	files, errs := j.list()
	var rep Report

	removeOne := func(f *file, reason string) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		if err := j.remove(f, reason, now, &rep); err != nil {
			errs = append(errs, err)
		}
		return nil
	}
	finish := func(err error) (Report, error) {
		j.account(files, &rep)
		return rep, errors.Join(append(errs, err)...)
	}

	// Per-signal retention.
	for _, f := range files {
		ret := j.cfg.Retention[f.signal]
		if ret <= 0 || now.Sub(f.mtime) <= ret {
			continue
		}
		if err := removeOne(f, ReasonAge); err != nil {
			return finish(err)
		}
	}

	// Total size, oldest first across signals.
	if limit := j.cfg.MaxTotalBytes; limit > 0 {
		var total int64
		for _, f := range files {
			if !f.gone {
				total += f.size
			}
		}
		for _, f := range files {
			if total <= limit {
				break
			}
			if f.gone {
				continue
			}
			if err := removeOne(f, ReasonMaxTotalBytes); err != nil {
				return finish(err)
			}
			if f.gone {
				total -= f.size
			}
		}
	}

	// Free space, oldest first. Freed space is estimated from file sizes so a
	// dry run gives the same answer as a real one.
	if want := j.cfg.MinFreeBytes; want > 0 {
		free, err := j.freeSpace(j.cfg.OutputDir)
		if err != nil {
			errs = append(errs, fmt.Errorf("measure free space: %w", err))
		} else {
			for _, f := range files {
				if free >= want {
					break
				}
				if f.gone {
					continue
				}
				if err := removeOne(f, ReasonMinFree); err != nil {
					return finish(err)
				}
				if f.gone {
					free += f.size
				}
			}
		}
	}
	return finish(nil)
}

// remove removes f (or, in dry-run, logs that it would) and records it in
// rep and the metrics. A file already gone is not an error.
func (j *Janitor) remove(f *file, reason string, now time.Time, rep *Report) error {
	attrs := []any{logKeyFile, f.path, "reason", reason, "signal", string(f.signal),
		"bytes", f.size, "age", now.Sub(f.mtime).Round(time.Millisecond)}
	if j.cfg.DryRun {
		f.gone = true
		j.log.Info("would remove", attrs...)
	} else {
		if err := os.Remove(f.path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				f.gone, f.onDisk = true, false
				j.log.Debug("already gone", logKeyFile, f.path)
				return nil
			}
			return fmt.Errorf("remove %s: %w", f.path, err)
		}
		f.gone, f.onDisk = true, false
		j.m.filesRemoved.WithLabelValues(string(f.signal), reason).Inc()
		j.m.bytesRemoved.WithLabelValues(string(f.signal), reason).Add(float64(f.size))
		j.log.Debug("removed", attrs...)
	}
	rep.Files++
	rep.Bytes += f.size
	rep.Removed = append(rep.Removed, f.path)
	return nil
}

// account fills rep's kept totals, sets the gauges to what is on disk and
// logs the scan summary.
func (j *Janitor) account(files []*file, rep *Report) {
	n := make(map[schema.Signal]int, len(schema.Signals))
	b := make(map[schema.Signal]int64, len(schema.Signals))
	for _, f := range files {
		if !f.gone {
			rep.Kept++
			rep.KeptBytes += f.size
		}
		if f.onDisk {
			n[f.signal]++
			b[f.signal] += f.size
		}
	}
	for _, sig := range schema.Signals {
		j.m.files.WithLabelValues(string(sig)).Set(float64(n[sig]))
		j.m.bytes.WithLabelValues(string(sig)).Set(float64(b[sig]))
	}
	j.log.Debug("janitor scan", "removed", rep.Files, "removed_bytes", rep.Bytes,
		"kept", rep.Kept, "kept_bytes", rep.KeptBytes, "dry_run", j.cfg.DryRun)
}

// list returns the finished files of every signal, oldest first (by
// modification time, then name). A missing signal directory holds no files;
// other listing errors are returned and the other directories still listed.
func (j *Janitor) list() ([]*file, []error) {
	var files []*file
	var errs []error
	for _, sig := range schema.Signals {
		dir := filepath.Join(j.cfg.OutputDir, "otlp", string(sig))
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			// ReadDir returns what it read before the error; keep going with it.
			errs = append(errs, fmt.Errorf("list %s: %w", dir, err))
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || !namePattern[sig].MatchString(e.Name()) {
				continue
			}
			info, err := e.Info()
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, fmt.Errorf("stat %s: %w", filepath.Join(dir, e.Name()), err))
				}
				continue
			}
			files = append(files, &file{signal: sig, path: filepath.Join(dir, e.Name()), name: e.Name(),
				size: info.Size(), mtime: info.ModTime(), onDisk: true})
		}
	}
	slices.SortFunc(files, func(a, b *file) int {
		if c := a.mtime.Compare(b.mtime); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	return files, errs
}
