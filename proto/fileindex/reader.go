package fileindex

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Reader reads an Arrow IPC stream file, finished or still written, one
// complete message at a time: each [Reader.ReadNew] hands over the record
// batches appended since the last call and stops before a message the
// writer has not finished. A file in a v2 layout (traces/v2, see
// schema.FromV2) is handed over in the v1 schema, so every reader of ours
// takes both. It keeps the file open, so a rename (rotation
// from .partial to the final name) or a removal does not disturb it. A
// Reader is not safe for concurrent use; Close it.
type Reader struct {
	f     *os.File
	off   int64 // bytes of complete messages taken so far
	mr    *queueReader
	rdr   *ipc.Reader
	v1    *arrow.Schema // a v2 file's schema converted to v1; nil for a v1 file
	bad   error         // a schema version this build does not read: every ReadNew fails
	done  bool          // the end-of-stream marker was read
	rows  int64
	bytes int64 // the file's size at the last ReadNew
}

// OpenReader opens the Arrow IPC stream file at path. It reads nothing yet.
func OpenReader(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &Reader{f: f, mr: &queueReader{}}, nil
}

// Done reports whether the stream's end-of-stream marker was read: the file
// is finished and ReadNew has nothing more to give.
func (r *Reader) Done() bool { return r.done }

// Rows returns the number of rows handed over so far.
func (r *Reader) Rows() int64 { return r.rows }

// Size returns the file's size when ReadNew last looked.
func (r *Reader) Size() int64 { return r.bytes }

// Schema returns the schema of the batches ReadNew hands over (the v1
// schema of a v2 file), or nil before the stream's schema message was read.
func (r *Reader) Schema() *arrow.Schema {
	if r.rdr == nil {
		return nil
	}
	if r.v1 != nil {
		return r.v1
	}
	return r.rdr.Schema()
}

// FileVersion returns the schema version the file's schema declares
// (schema.SchemaKey, e.g. "traces/v2"), or "" for a v1 file or before the
// schema message was read.
func (r *Reader) FileVersion() string {
	if r.rdr == nil {
		return ""
	}
	v, _ := r.rdr.Schema().Metadata().GetValue(schema.SchemaKey)
	return v
}

// ReadNew calls fn with each record batch that is complete in the file and
// was not handed over before, in order. A file whose schema declares a
// version this build does not read (schema.CheckVersion) fails with
// schema.ErrUnknownVersion, now and at every later call. A batch is valid during the call;
// fn retains what it keeps. An error of fn stops the read and is returned;
// the batch is then counted as read.
func (r *Reader) ReadNew(fn func(arrow.RecordBatch) error) error {
	return r.readNew(fn, true)
}

// ReadNewStored is ReadNew handing the batches over in the file's own
// layout: a v2 file's batches are not converted to v1. For readers of
// columns both layouts share (service_name, the time columns), which then
// skip the conversion's cost.
func (r *Reader) ReadNewStored(fn func(arrow.RecordBatch) error) error {
	return r.readNew(fn, false)
}

// readNew is ReadNew, converting v2 batches to v1 when toV1.
func (r *Reader) readNew(fn func(arrow.RecordBatch) error, toV1 bool) error {
	if r.bad != nil {
		return r.bad
	}
	if r.done {
		return nil
	}
	st, err := r.f.Stat()
	if err != nil {
		return err
	}
	r.bytes = st.Size()
	if st.Size() <= r.off {
		return nil
	}
	b := make([]byte, st.Size()-r.off)
	n, err := r.f.ReadAt(b, r.off)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	b = b[:n]
	records := 0
	for len(b) > 0 {
		f, eos, ok, err := nextFrame(b)
		if err != nil {
			return fmt.Errorf("read %s at offset %d: %w", r.f.Name(), r.off, err)
		}
		if !ok {
			break
		}
		if eos {
			r.done = true
			r.off += 8
			break
		}
		if len(f.body) > 0 && uintptr(unsafe.Pointer(&f.body[0]))%8 != 0 {
			f.body = append(make([]byte, 0, len(f.body)), f.body...)
		}
		r.mr.frames = append(r.mr.frames, f)
		if f.kind == headerRecordBatch {
			records++
		}
		r.off += int64(f.size)
		b = b[f.size:]
	}
	if r.rdr == nil && len(r.mr.frames) > 0 {
		if r.mr.frames[0].kind != headerSchema {
			return fmt.Errorf("read %s: %w: the stream does not start with a schema", r.f.Name(), errBadMessage)
		}
		r.rdr, err = ipc.NewReaderFromMessageReader(r.mr, ipc.WithAllocator(memory.DefaultAllocator))
		if err != nil {
			return fmt.Errorf("read %s: %w", r.f.Name(), err)
		}
		if err := schema.CheckVersion(r.rdr.Schema()); err != nil {
			r.bad = fmt.Errorf("read %s: %w", r.f.Name(), err)
			return r.bad
		}
		if sig, ok := schema.IsV2(r.rdr.Schema()); ok {
			r.v1 = schema.V1Schema(sig, r.rdr.Schema())
		}
	}
	for range records {
		if !r.rdr.Next() {
			err := r.rdr.Err()
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read %s: %w", r.f.Name(), err)
		}
		rec := r.rdr.RecordBatch()
		r.rows += rec.NumRows()
		if !toV1 {
			err = fn(rec)
		} else {
			err = r.handOver(rec, fn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// handOver calls fn with rec, converted to v1 when the file is v2.
func (r *Reader) handOver(rec arrow.RecordBatch, fn func(arrow.RecordBatch) error) error {
	if r.v1 == nil {
		return fn(rec)
	}
	v1, err := schema.FromV2(memory.DefaultAllocator, rec)
	if err != nil {
		return fmt.Errorf("read %s: %w", r.f.Name(), err)
	}
	defer v1.Release()
	return fn(v1)
}

// Close closes the file and releases the reader.
func (r *Reader) Close() error {
	if r.rdr != nil {
		r.rdr.Release()
		r.rdr = nil
	}
	return r.f.Close()
}

// queueReader hands the framed messages to an ipc.Reader.
type queueReader struct {
	frames []frame
	msg    *ipc.Message
}

func (q *queueReader) Message() (*ipc.Message, error) {
	if len(q.frames) == 0 {
		return nil, io.EOF
	}
	f := q.frames[0]
	q.frames[0] = frame{}
	q.frames = q.frames[1:]
	if q.msg != nil {
		q.msg.Release()
	}
	q.msg = ipc.NewMessage(memory.NewBufferBytes(f.meta), memory.NewBufferBytes(f.body))
	return q.msg, nil
}

func (q *queueReader) Retain() {}

func (q *queueReader) Release() {
	if q.msg != nil {
		q.msg.Release()
		q.msg = nil
	}
}

// IsParquet reports whether path names a Parquet file (.parquet, or
// .parquet.partial).
func IsParquet(path string) bool {
	return strings.HasSuffix(strings.TrimSuffix(path, PartialExt), ".parquet")
}

// ReadFile calls fn with every record batch of the file at path, an Arrow IPC
// stream file (read up to its last complete message) or a Parquet file. For
// a Parquet file, columns names the top-level columns to read (nil: all);
// an Arrow file is read whole. A batch is valid during the call; fn retains
// what it keeps.
func ReadFile(ctx context.Context, path string, columns []string, fn func(arrow.RecordBatch) error) error {
	if IsParquet(path) {
		return readParquet(ctx, path, columns, fn)
	}
	r, err := OpenReader(path)
	if err != nil {
		return err
	}
	defer r.Close()
	return r.ReadNew(fn)
}

// readParquet reads the columns of a Parquet file a batch at a time.
func readParquet(ctx context.Context, path string, columns []string, fn func(arrow.RecordBatch) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var leaves []int
	if columns != nil {
		sc := pf.MetaData().Schema
		for i := range sc.NumColumns() {
			top := strings.SplitN(sc.Column(i).Path(), ".", 2)[0]
			for _, c := range columns {
				if top == c {
					leaves = append(leaves, i)
					break
				}
			}
		}
		if len(leaves) == 0 {
			return nil
		}
	}
	rr, err := fr.GetRecordReader(ctx, leaves, nil)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer rr.Release()
	for rr.Next() {
		if err := fn(rr.RecordBatch()); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}
