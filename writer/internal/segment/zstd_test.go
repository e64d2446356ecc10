package segment

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

func pageLike(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 0, n)
	for len(b) < n {
		b = append(b, "value-"...)
		b = append(b, byte('0'+r.IntN(10)), byte('0'+r.IntN(10)), byte(r.IntN(256)))
	}
	return b[:n]
}

func TestPageCodec(t *testing.T) {
	codec, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := codec.(*pageCodec); !ok {
		t.Fatalf("zstd codec is %T, want *pageCodec", codec)
	}
	src := pageLike(1 << 20)
	enc := codec.EncodeLevel(nil, src, 3)
	if len(enc) >= len(src) {
		t.Fatalf("compressed %d bytes to %d", len(src), len(enc))
	}
	if got := codec.Decode(make([]byte, len(src)), enc); !bytes.Equal(got, src) {
		t.Fatal("Decode differs from the input")
	}
	// A standard zstd frame: any decoder reads it.
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	if got, err := dec.DecodeAll(enc, nil); err != nil || !bytes.Equal(got, src) {
		t.Fatalf("zstd.DecodeAll: %v", err)
	}
	if _, err := codec.(compress.ErrorCodec).DecodeWithError(nil, []byte("not zstd")); err == nil {
		t.Fatal("DecodeWithError accepted garbage")
	}
}

// TestPageCodecKeepsItsEncoder checks pages are compressed without building
// an encoder again after a garbage collection (arrow-go's own codec takes
// one from a sync.Pool, and a new one allocates megabytes).
func TestPageCodecKeepsItsEncoder(t *testing.T) {
	codec, _ := compress.GetCodec(compress.Codecs.Zstd)
	src := pageLike(1 << 20)
	dst := make([]byte, codec.CompressBound(int64(len(src))))
	codec.Encode(dst, src) // the first page builds the encoder
	const pages = 10
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range pages {
		runtime.GC()
		codec.Encode(dst, src)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / pages; per > 1<<20 {
		t.Fatalf("%d bytes allocated per page after a GC, want under 1 MiB", per)
	}
}

// TestPageCodecMemory bounds what the codec's encoder takes at its first use,
// whatever the number of cores (an encoder of GOMAXPROCS concurrency builds
// every one of its encoders then).
func TestPageCodecMemory(t *testing.T) {
	orig, _ := compress.GetCodec(compress.Codecs.Zstd)
	c := &pageCodec{orig: orig.(*pageCodec).orig}
	src := pageLike(1 << 20)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c.Encode(nil, src)
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 32<<20 {
		t.Fatalf("first page allocated %d MiB, want at most 32", got>>20)
	}
}
