package payload

import (
	"bytes"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Decode reads every record batch of the Arrow IPC stream in b and returns
// the stream's schema and its batches, each validated in full. The caller
// owns the batches and must Release them. A nil mem means
// memory.DefaultAllocator.
//
// Decode never panics on bad input: anything that is not a valid stream
// returns an error wrapping [ErrMalformed] and no batches.
func Decode(b []byte, mem memory.Allocator) (schema *arrow.Schema, recs []arrow.RecordBatch, err error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	defer func() {
		if r := recover(); r != nil {
			for _, rec := range recs {
				rec.Release()
			}
			schema, recs = nil, nil
			err = fmt.Errorf("decode payload: %w: panic: %v", ErrMalformed, r)
		}
	}()

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
		if err := array.ValidateRecordFull(rec); err != nil {
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
