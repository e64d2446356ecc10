package payload

import (
	"bytes"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Decode reads every record batch of the Arrow IPC stream in b and returns
// the stream's schema and its batches, each validated in full. The caller
// owns the batches and must Release them. A nil mem means
// memory.DefaultAllocator.
//
// Decode never panics on bad input: anything that is not a valid stream,
// that would decode to more than MinDecodeBudget+MaxExpansion*len(b)
// bytes, or whose batches claim more than 8 rows a byte, returns an error wrapping [ErrMalformed] and no batches.
func Decode(b []byte, mem memory.Allocator) (*arrow.Schema, []arrow.RecordBatch, error) {
	return decode(b, mem, validateRecord)
}

// decode is Decode with validate checking each batch; tests pass
// array.ValidateRecordFull to compare validateRecord with it.
func decode(b []byte, mem memory.Allocator, validate func(arrow.RecordBatch) error) (schema *arrow.Schema, recs []arrow.RecordBatch, err error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	mem = &budgetAllocator{mem: mem, limit: MinDecodeBudget + MaxExpansion*int64(len(b))}
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

	if err := verifyStream(b); err != nil {
		return nil, nil, fmt.Errorf("decode payload: %w: %w", ErrMalformed, err)
	}
	// No message can be larger than the payload holding it: the limits stop
	// a corrupt length from allocating far more than len(b).
	limit := int64(len(b))
	rdr, err := ipc.NewReader(bytes.NewReader(b),
		ipc.WithAllocator(mem),
		ipc.WithMetadataSizeLimit(limit),
		ipc.WithBodySizeLimit(limit),
	)
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
