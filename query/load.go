//go:build cgo && !nosql

package query

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/otlp-arrow/otlp-arrow/proto/fileindex"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// loaded is one output file whose rows are in its table, under the id
// stored in the table's _file column.
type loaded struct {
	id     int64
	signal string
	rd     *fileindex.Reader // an Arrow file still read as it grows; nil once done
	done   bool              // every row is in the table
}

func (l *loaded) close() {
	if l.rd != nil {
		l.rd.Close()
		l.rd = nil
	}
}

// Sync brings the tables up to date with the output directory: rows of
// new files and of what .partial files gained are added, rows of removed
// files dropped. Query does it for the tables the query names; it is cheap
// when nothing changed.
func (e *Engine) Sync(ctx context.Context) error { return e.sync(ctx, Tables) }

func (e *Engine) sync(ctx context.Context, tables []string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.ix.Refresh(ctx); err != nil {
		return fmt.Errorf("scan %s: %w", e.dir, err)
	}
	seen := map[string]bool{}
	for _, sig := range tables {
		for _, f := range e.ix.Files(sig, e.opts.Since, e.opts.Until) {
			if f.Format == "parquet" && f.State == "partial" {
				continue // never readable before it is renamed
			}
			key := strings.TrimSuffix(f.Path, ".partial")
			seen[key] = true
			l := e.files[key]
			if l == nil {
				e.nextID++
				l = &loaded{id: e.nextID, signal: sig}
				e.files[key] = l
			}
			if l.done {
				continue
			}
			if err := e.load(ctx, l, f); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // renamed or removed since the scan: next time
				}
				return fmt.Errorf("load %s: %w", f.Path, err)
			}
		}
	}
	for key, l := range e.files {
		if seen[key] || !slices.Contains(tables, l.signal) {
			continue
		}
		if _, err := e.loader.ExecContext(ctx, fmt.Sprintf("DELETE FROM _%s WHERE _file = %d", l.signal, l.id)); err != nil {
			return fmt.Errorf("drop the rows of %s: %w", key, err)
		}
		l.close()
		delete(e.files, key)
	}
	return nil
}

// load adds the rows of f that are not in its table yet.
func (e *Engine) load(ctx context.Context, l *loaded, f fileindex.File) error {
	abs := filepath.Join(e.dir, filepath.FromSlash(f.Path))
	if f.Format == "parquet" {
		if err := e.insert(ctx, l, abs); err != nil {
			if _, serr := os.Stat(abs); errors.Is(serr, fs.ErrNotExist) {
				return serr
			}
			return err
		}
		l.done = true
		return nil
	}
	if l.rd == nil {
		rd, err := fileindex.OpenReader(abs)
		if err != nil {
			return err
		}
		l.rd = rd
	}
	var recs []arrow.RecordBatch
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	err := l.rd.ReadNew(func(rec arrow.RecordBatch) error {
		rec.Retain()
		recs = append(recs, rec)
		return nil
	})
	if err != nil {
		return err
	}
	if len(recs) > 0 {
		// DuckDB reads no Arrow IPC without an extension: the new
		// batches go to DuckDB as a Parquet file in the scratch dir.
		tmp, err := writeParquet(e.tmp, recs)
		if err != nil {
			return err
		}
		err = e.insert(ctx, l, tmp)
		os.Remove(tmp)
		if err != nil {
			return err
		}
	}
	if l.rd.Done() {
		l.close()
		l.done = true
	}
	return nil
}

// insert adds the rows of the Parquet file at path to l's table.
func (e *Engine) insert(ctx context.Context, l *loaded, path string) error {
	extra := ""
	if l.signal == "traces" {
		extra = ", (epoch_ns(end_time) - epoch_ns(start_time)) / 1e6 AS duration_ms"
	}
	q := fmt.Sprintf("INSERT INTO _%s BY NAME SELECT *%s, %d AS _file FROM read_parquet(%s)", l.signal, extra, l.id, quote(path))
	_, err := e.loader.ExecContext(ctx, q)
	return err
}

// parquetProps favour speed: the file lives for one INSERT.
var parquetProps = parquet.NewWriterProperties(
	parquet.WithCompression(compress.Codecs.Uncompressed),
	parquet.WithDictionaryDefault(false),
	parquet.WithStats(false),
	parquet.WithMaxRowGroupLength(128<<10),
)

// writeParquet writes recs (one schema) to a new Parquet file in dir.
func writeParquet(dir string, recs []arrow.RecordBatch) (path string, err error) {
	f, err := os.CreateTemp(dir, "batch-*.parquet")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w, err := pqarrow.NewFileWriter(recs[0].Schema(), f, parquetProps,
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(memory.DefaultAllocator)))
	if err != nil {
		return "", err
	}
	for _, r := range recs {
		if err := w.WriteBuffered(r); err != nil {
			w.Close()
			return "", err
		}
	}
	if err := w.Close(); err != nil { // closes f too
		return "", err
	}
	return f.Name(), nil
}

// writeEmpty writes an empty Parquet file of sig's schema, whose columns
// give the table's.
func writeEmpty(dir, sig string) (string, error) {
	s, err := schema.ParseSignal(sig)
	if err != nil {
		return "", err
	}
	sch := schema.Schema(s)
	f, err := os.Create(filepath.Join(dir, "empty-"+sig+".parquet"))
	if err != nil {
		return "", fmt.Errorf("%w", err)
	}
	w, err := pqarrow.NewFileWriter(sch, f, parquetProps, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		f.Close()
		return "", fmt.Errorf("%w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("%w", err)
	}
	return f.Name(), nil
}
