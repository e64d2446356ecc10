package payload

import (
	"fmt"
	"io"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Decode reads every record batch of the Arrow IPC stream in b and returns
// the stream's schema and its batches, each validated in full. The caller
// owns the batches and must Release them. A nil mem means
// memory.DefaultAllocator. The batches' uncompressed buffers are views of b
// (no copy), so b must not change while they are in use.
//
// Payloads whose schema message repeats one decoded before reuse its parsed
// schema (see decode_cache.go): their batches share one *arrow.Schema, and
// a few idle readers keep a reference to the last payload they read (at
// most maxCachedReaders payloads of at most maxCachedPayload bytes).
//
// Decode never panics on bad input: anything that is not a valid stream,
// that would decode to more than MinDecodeBudget+MaxExpansion*len(b)
// bytes, or whose batches claim more than 8 rows a byte, returns an error wrapping [ErrMalformed] and no batches.
func Decode(b []byte, mem memory.Allocator) (*arrow.Schema, []arrow.RecordBatch, error) {
	return decode(b, mem, ValidateColumns)
}

// decode is Decode with validate checking each batch; tests pass
// array.ValidateRecordFull to compare ValidateColumns with it.
func decode(b []byte, mem memory.Allocator, validate func(arrow.RecordBatch) error) (schema *arrow.Schema, recs []arrow.RecordBatch, err error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	defer func() {
		if r := recover(); r != nil {
			for _, rec := range recs {
				rec.Release()
			}
			schema, recs = nil, nil
			if r == errBudget {
				err = fmt.Errorf("decode payload: %w", errBudget)
				return
			}
			err = fmt.Errorf("decode payload: %w: panic: %v", ErrMalformed, r)
		}
	}()

	frames, err := verifyStream(b)
	if err != nil {
		return nil, nil, fmt.Errorf("decode payload: %w: %w", ErrMalformed, err)
	}
	if schema, recs, ok := decodeCached(b, frames, mem, validate); ok {
		return schema, recs, nil
	}
	mem = &budgetAllocator{mem: mem, limit: MinDecodeBudget + MaxExpansion*int64(len(b))}
	// No message can be larger than the payload holding it: the limits stop
	// a corrupt length from allocating far more than len(b).
	limit := int64(len(b))
	mr := &sliceMessageReader{frames: frames}
	mr.refCount.Add(1)
	rdr, err := ipc.NewReaderFromMessageReader(mr, ipc.WithAllocator(mem))
	if err != nil {
		return nil, nil, fmt.Errorf("decode payload: %w: %w", ErrMalformed, err)
	}
	defer rdr.Release()

	fail := func(err error) (*arrow.Schema, []arrow.RecordBatch, error) {
		for _, rec := range recs {
			rec.Release()
		}
		return nil, nil, fmt.Errorf("decode payload: %w: %w", ErrMalformed, err)
	}
	for rdr.Next() {
		rec := rdr.RecordBatch()
		// Columns without buffers (null type) let a few bytes claim any
		// number of rows; nothing we write takes less than a bit a row.
		if rec.NumRows() > 8*limit {
			return fail(fmt.Errorf("batch %d: %d rows in %d bytes", len(recs), rec.NumRows(), limit))
		}
		if err := validate(rec); err != nil {
			return fail(fmt.Errorf("batch %d: %w", len(recs), err))
		}
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := rdr.Err(); err != nil {
		return fail(err)
	}
	return rdr.Schema(), recs, nil
}

// sliceMessageReader hands the messages verifyStream found to an
// ipc.Reader with their metadata and bodies as views of the stream's bytes:
// arrow's own message reader copies every body into a new buffer, which was
// a tenth of decoding a payload. A body whose start is not 8-byte aligned
// (arrow reads buffers in place as typed slices) is copied instead.
type sliceMessageReader struct {
	frames   []frame
	refCount atomic.Int64
	msg      *ipc.Message
}

// bufferAlign is the alignment a body needs to be read in place.
const bufferAlign = 8

func (r *sliceMessageReader) Message() (*ipc.Message, error) {
	if len(r.frames) == 0 {
		return nil, io.EOF
	}
	f := r.frames[0]
	r.frames = r.frames[1:]
	body := f.body
	if len(body) > 0 && uintptr(unsafe.Pointer(&body[0]))%bufferAlign != 0 {
		body = append(make([]byte, 0, len(body)), body...) // Go aligns it
	}
	if r.msg != nil {
		r.msg.Release()
	}
	r.msg = ipc.NewMessage(memory.NewBufferBytes(f.meta), memory.NewBufferBytes(body))
	return r.msg, nil
}

func (r *sliceMessageReader) Retain() { r.refCount.Add(1) }

func (r *sliceMessageReader) Release() {
	if r.refCount.Add(-1) == 0 && r.msg != nil {
		r.msg.Release()
		r.msg = nil
	}
}
