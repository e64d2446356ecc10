package payload_test

import (
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/otlp-arrow/otlp-arrow/proto/payload"
)

// FuzzDecode checks that Decode never panics and either fails with
// ErrMalformed or returns batches that are safe to read.
func FuzzDecode(f *testing.F) {
	for _, tt := range []struct {
		rows int
		opts []payload.Option
	}{
		{1, nil},
		{12, nil},
		{12, []payload.Option{payload.WithZstd()}},
		{12, []payload.Option{payload.WithLZ4()}},
	} {
		rec := makeBatch(f, memory.DefaultAllocator, 0, tt.rows, 6)
		payloads, err := payload.Encode([]arrow.RecordBatch{rec}, 0, tt.opts...)
		rec.Release()
		if err != nil {
			f.Fatal(err)
		}
		p := payloads[0]
		f.Add(p)
		for _, cut := range []int{8, len(p) / 3, len(p) / 2, len(p) - 9} {
			f.Add(p[:cut])
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})

	f.Fuzz(func(t *testing.T, b []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		schema, recs, err := payload.Decode(b, mem)
		if err != nil {
			if !errors.Is(err, payload.ErrMalformed) {
				t.Fatalf("decode: error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if schema == nil {
			t.Fatal("decode: nil schema without error")
		}
		// Reading every value must be safe once Decode accepted the batches.
		for _, rec := range recs {
			for c := 0; c < int(rec.NumCols()); c++ {
				col := rec.Column(c)
				for i := 0; i < col.Len(); i++ {
					_ = col.ValueStr(i)
				}
			}
			rec.Release()
		}
		mem.AssertSize(t, 0)
	})
}
