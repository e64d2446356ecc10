package payload

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// arrowRead reads payload p with arrow's own stream reader, the reference
// for what Decode must return.
func arrowRead(t testing.TB, p []byte) []arrow.RecordBatch {
	t.Helper()
	r, err := ipc.NewReader(bytes.NewReader(p))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	var recs []arrow.RecordBatch
	for r.Next() {
		rec := r.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

// signalPayloads encodes n batches of sig, each of other services and
// rows (so other dictionaries); every fourth payload holds two batches.
func signalPayloads(t testing.TB, sig string, n int) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range n {
		recs := []arrow.RecordBatch{signalBatch(t, memory.DefaultAllocator, sig, 1+i*7%60, uint64(i+1), fmt.Sprint("svc-", i%3))}
		if i%4 == 3 {
			recs = append(recs, signalBatch(t, memory.DefaultAllocator, sig, 5, uint64(100+i), "other"))
		}
		ps, err := Encode(recs, 0)
		releaseRecs(recs)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ps...)
	}
	return out
}

// TestDecodeCachedSameAsArrow decodes payloads of every signal one after
// the other, so that all but the first of each schema go through a cached
// reader, and compares every batch with arrow's reader's. Payloads of one
// signal share one *arrow.Schema, which shows the cached path was taken.
func TestDecodeCachedSameAsArrow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	for _, sig := range []string{"traces", "metrics", "logs"} {
		var first *arrow.Schema
		for i, p := range signalPayloads(t, sig, 24) {
			sch, got, err := Decode(p, mem)
			if err != nil {
				t.Fatalf("%s payload %d: %v", sig, i, err)
			}
			want := arrowRead(t, p)
			if len(got) != len(want) {
				t.Fatalf("%s payload %d: %d batches, want %d", sig, i, len(got), len(want))
			}
			for j := range got {
				if !array.RecordEqual(got[j], want[j]) {
					t.Errorf("%s payload %d batch %d differs from arrow's", sig, i, j)
				}
				got[j].Release()
				want[j].Release()
			}
			if first == nil {
				first = sch
			} else if sch != first {
				t.Errorf("%s payload %d: a schema of its own, not the cached reader's", sig, i)
			}
		}
	}
	drainReaderCache(mem)
	mem.AssertSize(t, 0)
}

// drainReaderCache closes the idle readers of mem.
func drainReaderCache(mem memory.Allocator) {
	readerCache.Lock()
	defer readerCache.Unlock()
	for _, idle := range readerCache.idle[mem] {
		for _, cr := range idle {
			cr.close()
			readerCache.n--
		}
	}
	delete(readerCache.idle, mem)
}

// streamOf frames the messages ms as an IPC stream.
func streamOf(ms []frame) []byte {
	var b []byte
	for _, m := range ms {
		b = binary.LittleEndian.AppendUint32(b, 0xFFFFFFFF)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(m.meta)))
		b = append(b, m.meta...)
		b = append(b, m.body...)
	}
	return binary.LittleEndian.AppendUint64(b, 0xFFFFFFFF)
}

// TestDecodeCachedNoStaleDictionaries: a payload that leaves out a
// dictionary must not be decoded with the one a cached reader kept from the
// payload before; it fails as it does with a fresh reader.
func TestDecodeCachedNoStaleDictionaries(t *testing.T) {
	ps := signalPayloads(t, "traces", 2)
	_, recs, err := Decode(ps[0], nil) // leaves a reader with ps[0]'s dictionaries
	if err != nil {
		t.Fatal(err)
	}
	releaseRecs(recs)
	frames, err := verifyStream(ps[1])
	if err != nil {
		t.Fatal(err)
	}
	var kept []frame
	dropped := 0
	for _, f := range frames {
		if f.kind == headerDictionaryBatch && dropped == 0 {
			dropped++
			continue
		}
		kept = append(kept, f)
	}
	if dropped == 0 {
		t.Fatal("the traces payload has no dictionary batch")
	}
	bad := streamOf(kept)
	for range 2 {
		if _, recs, err := Decode(bad, nil); err == nil {
			releaseRecs(recs)
			t.Fatal("a payload without one of its dictionaries decoded")
		}
	}
}

// TestDecodeCachedConcurrent decodes payloads of every signal from several
// goroutines at once (run it with -race).
func TestDecodeCachedConcurrent(t *testing.T) {
	var ps [][]byte
	for _, sig := range []string{"traces", "metrics", "logs"} {
		ps = append(ps, signalPayloads(t, sig, 8)...)
	}
	want := make([][]arrow.RecordBatch, len(ps))
	for i, p := range ps {
		want[i] = arrowRead(t, p)
		for _, rec := range want[i] {
			// Build the dictionary arrays arrow builds lazily on first
			// use, before the goroutines share them.
			array.RecordEqual(rec, rec)
		}
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for k := range 3 * len(ps) {
				i := (k*7 + g) % len(ps)
				_, got, err := Decode(ps[i], nil)
				if err != nil {
					t.Error(err)
					return
				}
				for j := range got {
					if !array.RecordEqual(got[j], want[i][j]) {
						t.Errorf("payload %d batch %d differs from arrow's", i, j)
					}
					got[j].Release()
				}
			}
		})
	}
	wg.Wait()
	readerCache.Lock()
	n := readerCache.n
	readerCache.Unlock()
	if n > maxCachedReaders {
		t.Errorf("%d idle readers, want at most %d", n, maxCachedReaders)
	}
}

// FuzzDecodeCached decodes arbitrary bytes after a valid payload of the
// same schema, so that they reach a cached reader, and checks that what
// Decode accepts is what arrow's own reader reads from the same bytes.
func FuzzDecodeCached(f *testing.F) {
	base := signalPayloads(f, "logs", 4)
	for _, p := range base {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, warm, err := Decode(base[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		releaseRecs(warm)
		_, got, err := Decode(b, nil)
		if err != nil {
			return
		}
		defer releaseRecs(got)
		r, err := ipc.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("Decode accepted what arrow's reader refuses: %v", err)
		}
		defer r.Release()
		for i := 0; r.Next(); i++ {
			if i >= len(got) || !array.RecordEqual(got[i], r.RecordBatch()) {
				t.Fatalf("batch %d differs from arrow's", i)
			}
		}
	})
}
