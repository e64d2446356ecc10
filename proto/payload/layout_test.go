package payload_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/otlp-arrow/otlp-arrow/proto/payload"
)

// TestReadLayout checks that a payload is its schema message, its batches
// and the end-of-stream marker, with the rows and compression of its
// batches, and that a stream of two payloads' batches after one schema
// message reads back every row (the second payload's dictionaries replace
// the first's).
func TestReadLayout(t *testing.T) {
	mem := memory.DefaultAllocator
	for _, c := range []string{payload.CompressionNone, payload.CompressionLZ4, payload.CompressionZstd} {
		t.Run(c, func(t *testing.T) {
			opt, err := payload.Compression(c)
			if err != nil {
				t.Fatal(err)
			}
			var stream bytes.Buffer
			var want []string
			for i, n := range []int{30, 20} {
				rec := makeBatch(t, mem, i*100, n, 5+i)
				want = append(want, rowsOf(t, []arrow.RecordBatch{rec})...)
				p, err := payload.Encode([]arrow.RecordBatch{rec}, 1<<20, opt)
				rec.Release()
				if err != nil || len(p) != 1 {
					t.Fatalf("encode: %d payloads, %v", len(p), err)
				}
				l, err := payload.ReadLayout(p[0], testSchema())
				if err != nil {
					t.Fatal(err)
				}
				if l.Rows != int64(n) || l.MinBatchRows != int64(n) || l.Compression != c {
					t.Fatalf("layout: rows %d, min %d, compression %s; want %d, %d, %s", l.Rows, l.MinBatchRows, l.Compression, n, n, c)
				}
				whole := append(append(append([]byte(nil), l.Schema...), l.Batches...), 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0)
				if !bytes.Equal(whole, p[0]) {
					t.Fatal("schema, batches and end-of-stream marker are not the payload")
				}
				if i == 0 {
					stream.Write(l.Schema)
				}
				stream.Write(l.Batches)
			}
			rd, err := ipc.NewReader(&stream, ipc.WithAllocator(mem))
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Release()
			var recs []arrow.RecordBatch
			for rd.Next() {
				rec := rd.RecordBatch()
				rec.Retain()
				recs = append(recs, rec)
			}
			defer releaseAll(recs)
			equalRows(t, rowsOf(t, recs), want)
		})
	}
	if _, err := payload.ReadLayout([]byte{1, 2, 3}, testSchema()); !errors.Is(err, payload.ErrMalformed) {
		t.Fatalf("ReadLayout(junk) = %v, want ErrMalformed", err)
	}
}
