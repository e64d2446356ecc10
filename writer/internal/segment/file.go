package segment

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// eos is the Arrow IPC end-of-stream marker: a continuation token and a zero
// length.
var eos = [8]byte{0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0}

// File is one open output file. It is not safe for concurrent use; one
// goroutine owns it.
type File struct {
	dir     string
	name    Name
	version string
	schema  *arrow.Schema
	f       *os.File
	buf     *bufio.Writer // between the IPC writer and f: one write per flush, not per buffer
	cw      *countingWriter
	w       *ipc.Writer         // an Arrow IPC stream file; nil after an Append until the next Write
	ipcOpts []ipc.Option        // the options of w
	header  []byte              // an Arrow file's schema message, as framed in it
	pw      *pqarrow.FileWriter // a Parquet file
	sealed  bool                // Parquet: the footer is written, no more rows
	rows    int64
	synced  int64
	closed  bool
}

// countingWriter counts the bytes written to the file so far.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeBufferSize is the write buffer of a file: the IPC writer writes every
// buffer of a batch (several per column) on its own.
const writeBufferSize = 1 << 20

// Create creates dir/<name>.partial and starts an Arrow IPC stream with
// the schema. version is the schema version the file holds (kept for
// [File.Version]). opts are extra IPC writer options, such as ipc.WithZstd().
// The caller owns the file and must Finalize or Abandon it.
func Create(dir string, name Name, version string, schema *arrow.Schema, mem memory.Allocator, opts ...ipc.Option) (*File, error) {
	f, err := create(dir, name, version, schema)
	if err != nil {
		return nil, err
	}
	// The schema message is written here, not by the IPC writer, so that
	// batches appended as they are ([File.Append]) and batches written by
	// IPC writers share it.
	p := ipc.GetSchemaPayload(schema, mem)
	var hdr bytes.Buffer
	_, err = p.WritePayload(&hdr)
	p.Release()
	if err == nil {
		_, err = f.cw.Write(hdr.Bytes())
	}
	if err != nil {
		f.Abandon()
		_ = os.Remove(filepath.Join(dir, name.Partial()))
		return nil, fmt.Errorf("create segment %s: %w", f.Path(), err)
	}
	f.header = hdr.Bytes()
	f.ipcOpts = append([]ipc.Option{ipc.WithSchema(schema), ipc.WithAllocator(mem)}, opts...)
	return f, nil
}

// batchWriter is what an IPC writer of a File writes to: every message but
// the schema message (the File wrote it) and no end-of-stream marker (the
// File writes it when it finalizes).
type batchWriter struct {
	w       io.Writer
	started bool
}

func (b *batchWriter) Start() error { return nil }
func (b *batchWriter) Close() error { return nil }

func (b *batchWriter) WritePayload(p ipc.Payload) error {
	if !b.started { // the schema message comes first
		b.started = true
		return nil
	}
	_, err := p.WritePayload(b.w)
	return err
}

// CreateParquet creates dir/<name>.partial as a Parquet file of the schema,
// written with props (see [ParquetProperties]); the Arrow schema is stored in
// the file so that Arrow readers get the same types back. A Parquet file is
// readable only once its footer is written, so it is synced once: [File.Sync]
// writes the footer, and after it the file takes no more rows. The caller
// owns the file and must Finalize or Abandon it.
func CreateParquet(dir string, name Name, version string, schema *arrow.Schema, props *parquet.WriterProperties, mem memory.Allocator) (*File, error) {
	f, err := create(dir, name, version, schema)
	if err != nil {
		return nil, err
	}
	f.pw, err = pqarrow.NewFileWriter(schema, f.cw, props, pqarrow.NewArrowWriterProperties(
		pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem)))
	if err != nil {
		f.Abandon()
		_ = os.Remove(filepath.Join(dir, name.Partial()))
		return nil, fmt.Errorf("create segment %s: %w", f.Path(), err)
	}
	return f, nil
}

// ParquetProperties returns the Parquet writer properties of the writer's
// files: codec for the pages (compress.Codecs.Zstd, at its "better" level by
// the codec in zstd.go, Lz4Raw or Uncompressed), dictionary encoding for
// every column but the random ids and the timestamps (a dictionary of unique
// values only costs), version 1 data pages (their repetition and definition
// levels are compressed with the values, which matters for the many nested
// attribute maps), row groups of up to maxRowGroup rows, and min/max
// statistics only on the timestamp columns, for the time filters of query
// engines.
func ParquetProperties(codec compress.Compression, maxRowGroup int64, mem memory.Allocator) *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithAllocator(mem),
		parquet.WithCompression(codec),
		parquet.WithVersion(parquet.V2_LATEST),
		parquet.WithDataPageVersion(parquet.DataPageV1),
		parquet.WithDictionaryDefault(true),
		parquet.WithMaxRowGroupLength(maxRowGroup),
		parquet.WithStats(false),
		parquet.WithCreatedBy("otlp-arrow"),
	}
	for _, c := range []string{"trace_id", "span_id", "parent_span_id"} {
		opts = append(opts, parquet.WithDictionaryFor(c, false))
	}
	for _, c := range []string{"start_time", "end_time", "time", "observed_time"} {
		opts = append(opts, parquet.WithDictionaryFor(c, false), parquet.WithStatsFor(c, true))
	}
	return parquet.NewWriterProperties(opts...)
}

// create creates the .partial file and makes its name durable.
func create(dir string, name Name, version string, schema *arrow.Schema) (*File, error) {
	path := filepath.Join(dir, name.Partial())
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create segment %s: %w", path, err)
	}
	// The new name must survive a power loss along with the data synced
	// into the file later.
	if err := SyncDir(dir); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("create segment %s: %w", path, err)
	}
	buf := bufio.NewWriterSize(f, writeBufferSize)
	return &File{
		dir:     dir,
		name:    name,
		version: version,
		schema:  schema,
		f:       f,
		buf:     buf,
		cw:      &countingWriter{w: buf},
	}, nil
}

// Name returns the file's name.
func (f *File) Name() Name { return f.name }

// Path returns the current path of the file (the .partial path while open).
func (f *File) Path() string {
	if f.closed {
		return filepath.Join(f.dir, f.name.String())
	}
	return filepath.Join(f.dir, f.name.Partial())
}

// Version returns the schema version given to Create.
func (f *File) Version() string { return f.version }

// Schema returns the file's Arrow schema.
func (f *File) Schema() *arrow.Schema { return f.schema }

// Rows returns the number of rows written so far.
func (f *File) Rows() int64 { return f.rows }

// Size returns the number of bytes written so far (synced or not).
func (f *File) Size() int64 { return f.cw.n }

// Synced returns the offset of the last successful Sync.
func (f *File) Synced() int64 { return f.synced }

// Write appends one record batch. The schema must equal the file's schema.
// After an error the file is unusable: Abandon it and Repair it from the last
// synced offset.
func (f *File) Write(rec arrow.RecordBatch) error {
	var err error
	switch {
	case f.sealed:
		err = errSealed
	case f.pw != nil:
		err = f.pw.Write(rec) // one row group per record, or more above the maximum
	default:
		if f.w == nil {
			f.w = ipc.NewWriterWithPayloadWriter(&batchWriter{w: f.cw}, f.ipcOpts...)
		}
		err = f.w.Write(rec)
	}
	if err != nil {
		return fmt.Errorf("write segment %s: %w", f.Path(), err)
	}
	f.rows += rec.NumRows()
	return nil
}

// Header returns an Arrow file's schema message as framed in the file (nil
// for a Parquet file): a stream whose schema message is byte for byte the
// same numbers its dictionaries as the file does, so its batches may be
// appended with [File.Append].
func (f *File) Header() []byte { return f.header }

// Append appends batches, the framed dictionary and record batch messages of
// a stream whose schema message equals [File.Header], as they are: a stream
// reader takes its dictionary messages as replacements of the dictionaries
// before them. rows is their row count. The next Write starts a new IPC
// writer, which writes every dictionary again: the last ones in the file are
// no longer those the previous writer wrote. After an error the file is
// unusable: Abandon it and Repair it from the last synced offset.
func (f *File) Append(batches []byte, rows int64) error {
	if f.pw != nil || f.header == nil {
		return fmt.Errorf("append to segment %s: %w", f.Path(), errNotArrow)
	}
	if f.w != nil {
		_ = f.w.Close() // releases its dictionaries; writes nothing
		f.w = nil
	}
	if _, err := f.cw.Write(batches); err != nil {
		return fmt.Errorf("append to segment %s: %w", f.Path(), err)
	}
	f.rows += rows
	return nil
}

// errNotArrow is returned by Append on a Parquet file.
var errNotArrow = errors.New("not an Arrow IPC stream file")

// Sync flushes the file to stable storage and returns the file's size, which
// is then durable. The IPC stream is complete up to that offset except for
// the end-of-stream marker (after at least one Write, the schema is there).
// A Parquet file is sealed first: its footer is written, and Write fails
// from then on.
func (f *File) Sync() (int64, error) {
	if err := f.seal(); err != nil {
		return 0, fmt.Errorf("sync segment %s: %w", f.Path(), err)
	}
	if err := f.buf.Flush(); err != nil {
		return 0, fmt.Errorf("sync segment %s: %w", f.Path(), err)
	}
	if err := f.f.Sync(); err != nil {
		return 0, fmt.Errorf("sync segment %s: %w", f.Path(), err)
	}
	f.synced = f.cw.n
	return f.synced, nil
}

// Finalize writes the end-of-stream marker, syncs, closes and renames the
// file to its final name, then syncs the directory. It returns the final
// path. On error the caller should Abandon the file and Repair it later.
func (f *File) Finalize() (string, error) {
	var err error
	if f.pw != nil {
		err = f.seal()
	} else {
		if f.w != nil {
			err = f.w.Close()
			f.w = nil
		}
		if err == nil {
			_, err = f.cw.Write(eos[:])
		}
	}
	if err != nil {
		return "", fmt.Errorf("close segment stream %s: %w", f.Path(), err)
	}
	if err := f.buf.Flush(); err != nil {
		return "", fmt.Errorf("write segment %s: %w", f.Path(), err)
	}
	if err := f.f.Sync(); err != nil {
		return "", fmt.Errorf("sync segment %s: %w", f.Path(), err)
	}
	f.synced = f.cw.n
	if err := f.f.Close(); err != nil {
		return "", fmt.Errorf("close segment %s: %w", f.Path(), err)
	}
	from := filepath.Join(f.dir, f.name.Partial())
	to := filepath.Join(f.dir, f.name.String())
	if err := os.Rename(from, to); err != nil {
		return "", fmt.Errorf("rename segment %s: %w", from, err)
	}
	f.closed = true
	if err := SyncDir(f.dir); err != nil {
		return "", err
	}
	return to, nil
}

// Abandon closes the file descriptor without finishing the stream, leaving
// the .partial file for Repair. It is safe to call after Finalize.
func (f *File) Abandon() {
	if f.w != nil {
		_ = f.w.Close() // releases dictionaries
		f.w = nil
	}
	_ = f.buf.Flush()
	_ = f.f.Close()
}

// seal writes a Parquet file's footer (once); it does nothing for an Arrow
// file.
func (f *File) seal() error {
	if f.pw == nil || f.sealed {
		return nil
	}
	f.sealed = true
	return f.pw.Close()
}

// errSealed is returned by Write on a Parquet file after Sync.
var errSealed = errors.New("parquet file already sealed by a sync: no more rows")

// Repair finishes a .partial file left open: it truncates the file to
// offset (discarding a torn tail), appends the end-of-stream marker to an
// Arrow file (a Parquet file is durable only whole, footer included, so
// offset is its end), syncs, renames it to its final name and syncs the
// directory. It returns the final path. Repairing a file twice is harmless.
func Repair(partialPath string, offset int64) (string, error) {
	final, ok := trimPartial(partialPath)
	if !ok {
		return "", fmt.Errorf("repair segment %s: %w", partialPath, ErrNotPartial)
	}
	f, err := os.OpenFile(partialPath, os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("repair segment %s: %w", partialPath, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return "", fmt.Errorf("repair segment %s: %w", partialPath, err)
	}
	if fi.Size() < offset {
		_ = f.Close()
		return "", fmt.Errorf("repair segment %s: size %d is below the durable offset %d: %w", partialPath, fi.Size(), offset, ErrShort)
	}
	err = f.Truncate(offset)
	if !strings.HasSuffix(final, ParquetExt) {
		_, werr := f.WriteAt(eos[:], offset)
		err = errors.Join(err, werr)
	}
	err = errors.Join(err, f.Sync())
	err = errors.Join(err, f.Close())
	if err != nil {
		return "", fmt.Errorf("repair segment %s: %w", partialPath, err)
	}
	if err := os.Rename(partialPath, final); err != nil {
		return "", fmt.Errorf("rename segment %s: %w", partialPath, err)
	}
	if err := SyncDir(filepath.Dir(final)); err != nil {
		return "", err
	}
	return final, nil
}

// ErrNotPartial is returned by Repair for a path without the .partial suffix.
var ErrNotPartial = errors.New("segment: not a .partial file")

// ErrShort is returned by Repair when the file is shorter than the durable
// offset, which means the file system lost synced data.
var ErrShort = errors.New("segment: file shorter than its durable offset")

func trimPartial(p string) (string, bool) {
	if len(p) <= len(PartialExt) || p[len(p)-len(PartialExt):] != PartialExt {
		return "", false
	}
	return p[:len(p)-len(PartialExt)], true
}

// SyncDir fsyncs a directory so that renames and creations in it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}
