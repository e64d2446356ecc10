package payload_test

import (
	"fmt"
	"math/rand"
	"time"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/otlp-arrow/otlp-arrow/proto/payload"
)

func TestHunt(t *testing.T) {
	var seeds [][]byte
	for _, opts := range [][]payload.Option{nil, {payload.WithZstd()}, {payload.WithLZ4()}} {
		rec := makeBatch(t, memory.DefaultAllocator, 0, 12, 6)
		p, _ := payload.Encode([]arrow.RecordBatch{rec}, 0, opts...)
		seeds = append(seeds, p[0])
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		b := append([]byte(nil), seeds[r.Intn(len(seeds))]...)
		for k := 0; k < 1+r.Intn(4); k++ {
			pos := r.Intn(len(b))
			switch r.Intn(3) {
			case 0:
				b[pos] ^= byte(1 << r.Intn(8))
			case 1:
				b[pos] = byte(r.Intn(256))
			case 2:
				b[pos] = 0xff
			}
		}
		os.WriteFile("/tmp/last.bin", b, 0o644)
		st := time.Now()
		_, recs, err := payload.Decode(b, nil)
		if d := time.Since(st); d > 200*time.Millisecond {
			t.Logf("slow %d: %v %v", i, d, err)
			os.WriteFile(fmt.Sprintf("/tmp/slow%d.bin", i), b, 0o644)
		}
		if err == nil {
			for _, rec := range recs {
				for c := 0; c < int(rec.NumCols()); c++ {
					col := rec.Column(c)
					for i := 0; i < col.Len(); i++ {
						_ = col.ValueStr(i)
					}
				}
				rec.Release()
			}
		}
	}
}
