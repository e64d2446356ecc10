package dashboard

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/util"

	"github.com/otlp-arrow/otlp-arrow/proto/fileindex"
)

// cache keeps the decoded record batches of the files queries read. A
// finished file is decoded once; a .partial Arrow file is followed, each
// query reading only the messages appended since the last one, and keeps
// its batches when it is renamed on rotation; a Parquet file is decoded
// again when it changes. Least recently used files are dropped past the
// byte budget. Safe for concurrent use.
type cache struct {
	dir string
	max int64

	mu      sync.Mutex
	used    int64
	clock   uint64
	entries map[string]*cached // by path without .partial
}

// cached is one file's batches.
type cached struct {
	mu     sync.Mutex // held while loading
	path   string     // the path read (partial or final)
	bytes  int64      // the file size when last read
	recs   []arrow.RecordBatch
	tables []*traceTable // recs' trace tables, built on demand
	size   int64         // memory held by recs
	rdr    *fileindex.Reader
	done   bool // read to the end of a finished file
	used   uint64
}

func newCache(dir string, max int64) *cache {
	return &cache{dir: dir, max: max, entries: map[string]*cached{}}
}

// batches returns f's record batches, each retained: the caller releases
// them (releaseAll). A file removed meanwhile gives no batches and no error.
func (c *cache) batches(ctx context.Context, f fileindex.File) ([]arrow.RecordBatch, error) {
	recs, _, err := c.load(ctx, f, false)
	return recs, err
}

// withTables is batches with each batch's trace table.
func (c *cache) withTables(ctx context.Context, f fileindex.File) ([]arrow.RecordBatch, []*traceTable, error) {
	return c.load(ctx, f, true)
}

func (c *cache) load(ctx context.Context, f fileindex.File, tables bool) ([]arrow.RecordBatch, []*traceTable, error) {
	key := strings.TrimSuffix(f.Path, fileindex.PartialExt)
	c.mu.Lock()
	e := c.entries[key]
	if e == nil {
		e = &cached{}
		c.entries[key] = e
	}
	c.clock++
	e.used = c.clock
	c.mu.Unlock()

	e.mu.Lock()
	before := e.size
	err := e.load(ctx, c.dir, f)
	recs := make([]arrow.RecordBatch, len(e.recs))
	for i, r := range e.recs {
		r.Retain()
		recs[i] = r
	}
	var tbls []*traceTable
	if tables {
		for len(e.tables) < len(e.recs) {
			t := newTraceTable(e.recs[len(e.tables)])
			e.tables = append(e.tables, t)
			e.size += t.size()
		}
		tbls = slices.Clone(e.tables)
	}
	// e.mu, then c.mu: the budget counts e's growth before anyone can
	// evict e (evict only tries e.mu).
	c.mu.Lock()
	if c.entries[key] == e {
		c.used += e.size - before
		c.evict(e)
	} else {
		e.drop() // evicted or forgotten while this load waited: keep nothing
	}
	c.mu.Unlock()
	e.mu.Unlock()
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	return recs, tbls, err
}

// load brings e up to date with f.
func (e *cached) load(ctx context.Context, dir string, f fileindex.File) error {
	full := filepath.Join(dir, filepath.FromSlash(f.Path))
	if f.Format == fileindex.FormatParquet {
		if e.path == f.Path && e.bytes == f.Bytes && e.recs != nil {
			return nil
		}
		e.drop()
		var recs []arrow.RecordBatch
		err := fileindex.ReadFile(ctx, full, nil, func(r arrow.RecordBatch) error {
			r.Retain()
			recs = append(recs, r)
			return nil
		})
		if err != nil {
			releaseAll(recs)
			if f.State == fileindex.StatePartial {
				return nil // not readable until its footer is written
			}
			return err
		}
		e.add(recs...)
		e.path, e.bytes, e.done = f.Path, f.Bytes, true
		return nil
	}
	if e.done {
		return nil
	}
	if e.rdr == nil {
		e.drop()
		r, err := fileindex.OpenReader(full)
		if err != nil {
			return err
		}
		e.rdr = r
	}
	e.path = f.Path
	err := e.rdr.ReadNew(func(r arrow.RecordBatch) error {
		r.Retain()
		e.add(r)
		return nil
	})
	e.bytes = e.rdr.Size()
	if err != nil || e.rdr.Done() || (f.State == fileindex.StateFinished && e.bytes >= f.Bytes) {
		e.done = err == nil
		_ = e.rdr.Close()
		e.rdr = nil
	}
	return err
}

func (e *cached) add(recs ...arrow.RecordBatch) {
	for _, r := range recs {
		e.recs = append(e.recs, r)
		e.size += util.TotalRecordSize(r)
	}
}

// drop releases what e holds.
func (e *cached) drop() {
	releaseAll(e.recs)
	e.recs, e.tables, e.size, e.done = nil, nil, 0, false
	if e.rdr != nil {
		_ = e.rdr.Close()
		e.rdr = nil
	}
}

// evict drops the least recently used entries (not keep, nor one being
// loaded) while over budget. c.mu is held.
func (c *cache) evict(keep *cached) {
	if c.used <= c.max {
		return
	}
	type cand struct {
		key string
		e   *cached
	}
	var cands []cand
	for k, e := range c.entries {
		if e != keep {
			cands = append(cands, cand{k, e})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int { return cmp.Compare(a.e.used, b.e.used) })
	for _, cd := range cands {
		if c.used <= c.max {
			return
		}
		if !cd.e.mu.TryLock() {
			continue
		}
		c.used -= cd.e.size
		cd.e.drop()
		cd.e.mu.Unlock()
		delete(c.entries, cd.key)
	}
}

// forget drops the entries of files the index no longer lists.
func (c *cache) forget(files []fileindex.File) {
	live := make(map[string]bool, len(files))
	for _, f := range files {
		live[strings.TrimSuffix(f.Path, fileindex.PartialExt)] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if !live[k] && e.mu.TryLock() {
			c.used -= e.size
			e.drop()
			e.mu.Unlock()
			delete(c.entries, k)
		}
	}
}

// close releases everything.
func (c *cache) close() {
	c.mu.Lock()
	entries := c.entries
	c.entries, c.used = map[string]*cached{}, 0
	c.mu.Unlock()
	for _, e := range entries {
		e.mu.Lock()
		e.drop()
		e.mu.Unlock()
	}
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}
