package payload

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// withFreshWriter encodes with a new ipc.Writer for every payload: the
// encoder before the writer cache, the reference for its bytes.
func withFreshWriter() Option { return func(o *options) { o.fresh = true } }

// rowStrings renders every row of recs as text.
func rowStrings(recs []arrow.RecordBatch) []string {
	var rows []string
	for _, rec := range recs {
		for i := 0; i < int(rec.NumRows()); i++ {
			var b bytes.Buffer
			for c := 0; c < int(rec.NumCols()); c++ {
				b.WriteString(rec.Column(c).ValueStr(i))
				b.WriteByte('|')
			}
			rows = append(rows, b.String())
		}
	}
	return rows
}

// checkSameAsFresh encodes recs with the cached writers and with fresh ones,
// wants the same payloads byte for byte and the same row counts, and decodes
// every payload back to the rows of recs. It returns the payloads.
func checkSameAsFresh(t *testing.T, mem memory.Allocator, recs []arrow.RecordBatch, maxBytes int, opts ...Option) [][]byte {
	t.Helper()
	got, gotRows, err := EncodeRows(recs, maxBytes, opts...)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	want, wantRows, err := EncodeRows(recs, maxBytes, append(opts[:len(opts):len(opts)], withFreshWriter())...)
	if err != nil {
		t.Fatalf("encode with a fresh writer: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d payloads, a fresh writer makes %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("payload %d of %d: %d bytes differ from a fresh writer's %d", i, len(got), len(got[i]), len(want[i]))
		}
		if gotRows[i] != wantRows[i] {
			t.Fatalf("payload %d: %d rows, a fresh writer says %d", i, gotRows[i], wantRows[i])
		}
	}
	var out []arrow.RecordBatch
	defer func() {
		for _, r := range out {
			r.Release()
		}
	}()
	for i, p := range got {
		_, recs, err := Decode(p, mem)
		if err != nil {
			t.Fatalf("decode payload %d: %v", i, err)
		}
		n := 0
		for _, r := range recs {
			n += int(r.NumRows())
		}
		out = append(out, recs...)
		if n != gotRows[i] {
			t.Fatalf("payload %d holds %d rows, EncodeRows says %d", i, n, gotRows[i])
		}
	}
	gotStr, wantStr := rowStrings(out), rowStrings(recs)
	if len(gotStr) != len(wantStr) {
		t.Fatalf("decoded %d rows, encoded %d", len(gotStr), len(wantStr))
	}
	for i := range gotStr {
		if gotStr[i] != wantStr[i] {
			t.Fatalf("row %d: decoded %q, encoded %q", i, gotStr[i], wantStr[i])
		}
	}
	return got
}

var codecCases = []struct {
	name string
	opt  Option
}{{"none", WithoutCompression()}, {"lz4", WithLZ4()}, {"zstd", WithZstd()}}

// TestCachedWriterSameBytes runs consecutive payloads of every signal and
// compression through one cached writer: single rows, 100 rows, several
// batches with changing and repeating dictionaries, slices sharing a
// dictionary, and payloads split by maxBytes.
func TestCachedWriterSameBytes(t *testing.T) {
	scratches := []string{"default", "checked"}
	if raceOn {
		scratches = scratches[1:]
	}
	for _, sig := range schema.Signals {
		for _, c := range codecCases {
			if raceOn && c.name == "zstd" {
				continue // arrow-go's zstd codec is slow under the race detector
			}
			for _, scratch := range scratches {
				t.Run(fmt.Sprintf("%s/%s/%s", sig, c.name, scratch), func(t *testing.T) {
					mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
					defer mem.AssertSize(t, 0)
					opts := []Option{c.opt}
					if scratch == "checked" {
						opts = append(opts, WithAllocator(mem))
					}
					var held []arrow.RecordBatch
					defer func() {
						for _, r := range held {
							r.Release()
						}
					}()
					seed := uint64(0)
					batch := func(service string, rows int) arrow.RecordBatch {
						seed++
						rec := signalBatch(t, mem, string(sig), rows, seed, service)
						held = append(held, rec)
						return rec
					}
					slice := func(rec arrow.RecordBatch, i, j int64) arrow.RecordBatch {
						s := rec.NewSlice(i, j)
						held = append(held, s)
						return s
					}
					before := rewrites.Load()

					checkSameAsFresh(t, mem, []arrow.RecordBatch{batch("svc-a", 1)}, 0, opts...)
					checkSameAsFresh(t, mem, []arrow.RecordBatch{batch("svc-a", 1)}, 0, opts...)
					checkSameAsFresh(t, mem, []arrow.RecordBatch{batch("svc-b", 100)}, 0, opts...)
					checkSameAsFresh(t, mem, []arrow.RecordBatch{batch("svc-a", 100)}, 0, opts...)
					for i := range 4 { // alternating services
						checkSameAsFresh(t, mem, []arrow.RecordBatch{batch([]string{"svc-a", "svc-b"}[i%2], 3)}, 0, opts...)
					}
					checkSameAsFresh(t, mem, []arrow.RecordBatch{batch("svc-a", 10), batch("svc-a", 10), batch("svc-b", 5), batch("svc-a", 3)}, 0, opts...)
					same := batch("svc-c", 20)
					checkSameAsFresh(t, mem, []arrow.RecordBatch{same, same}, 0, opts...)
					checkSameAsFresh(t, mem, []arrow.RecordBatch{same}, 0, opts...)
					big := batch("svc-c", 100)
					checkSameAsFresh(t, mem, []arrow.RecordBatch{slice(big, 0, 30), slice(big, 30, 100)}, 0, opts...)

					// Split by maxBytes: one batch halved, and groups of batches.
					// Limits count what every payload repeats: the schema
					// message, and with compression a frame per buffer.
					whole := checkSameAsFresh(t, mem, []arrow.RecordBatch{big}, 0, opts...)
					one := checkSameAsFresh(t, mem, []arrow.RecordBatch{slice(big, 0, 1)}, 0, opts...)
					rest := len(whole[0]) - len(one[0])
					if got := checkSameAsFresh(t, mem, []arrow.RecordBatch{big}, len(one[0])+rest/3, opts...); len(got) < 2 {
						t.Fatalf("split into %d payloads, want at least 2", len(got))
					}
					group := []arrow.RecordBatch{batch("svc-a", 40), batch("svc-b", 40), batch("svc-a", 40), batch("svc-a", 1)}
					if got := checkSameAsFresh(t, mem, group, len(one[0])+rest*2/3, opts...); len(got) < 2 {
						t.Fatalf("split into %d payloads, want at least 2", len(got))
					}
					checkSameAsFresh(t, mem, []arrow.RecordBatch{batch("svc-b", 1)}, 0, opts...)

					if n := rewrites.Load() - before; n != 0 {
						t.Errorf("%d payloads written afresh, want none for builder dictionaries", n)
					}
				})
			}
		}
	}
}

func TestSignalSchemasCached(t *testing.T) {
	for _, sig := range schema.Signals {
		p := newStreamPool(schema.Schema(sig))
		if p == nil {
			t.Errorf("%s: schema not cacheable", sig)
			continue
		}
		if len(p.dictCols) == 0 {
			t.Errorf("%s: no dictionary columns found", sig)
		}
		// The cached writer itself writes them (no fresh writer behind).
		o := newOptions(nil)
		s := p.get(schema.Schema(sig), o)
		for _, service := range []string{"a", "a", "b"} {
			rec := signalBatch(t, memory.DefaultAllocator, string(sig), 5, 1, service)
			var got, want bytes.Buffer
			ok, err := s.write(&got, []arrow.RecordBatch{rec})
			if err == nil {
				err = writeFresh(&want, rec.Schema(), []arrow.RecordBatch{rec}, o)
			}
			rec.Release()
			if !ok || err != nil {
				t.Fatalf("%s: cached writer: ok %v, %v", sig, ok, err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("%s: payload differs from a fresh writer's", sig)
			}
		}
	}
	nested := arrow.NewSchema([]arrow.Field{{Name: "l", Type: arrow.ListOf(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String})}}, nil)
	if newStreamPool(nested) != nil {
		t.Error("schema with a dictionary in a list: cacheable, want a fresh writer")
	}
}

// TestCachedWriterEqualDictionaryOtherBuffers gives the writer a dictionary
// equal to the one it wrote last but in other buffers (a slice): the writer
// skips it, the payload is written afresh, and the bytes still match.
func TestCachedWriterEqualDictionaryOtherBuffers(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "d", Type: dt},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	strs := func(vs ...string) arrow.Array {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.AppendValues(vs, nil)
		return b.NewArray()
	}
	mk := func(dict arrow.Array, idx ...int32) arrow.RecordBatch {
		ib := array.NewInt32Builder(mem)
		defer ib.Release()
		ib.AppendValues(idx, nil)
		ind := ib.NewArray()
		defer ind.Release()
		d := array.NewDictionaryArray(dt, ind, dict)
		defer d.Release()
		nb := array.NewInt64Builder(mem)
		defer nb.Release()
		for i := range idx {
			nb.Append(int64(i))
		}
		n := nb.NewArray()
		defer n.Release()
		return array.NewRecordBatch(sc, []arrow.Array{d, n}, int64(len(idx)))
	}
	ab := strs("a", "b")
	defer ab.Release()
	xab := strs("x", "a", "b")
	defer xab.Release()
	sliced := array.NewSlice(xab, 1, 3)
	defer sliced.Release()
	other := strs("c")
	defer other.Release()

	r1, r2, r3, r4 := mk(ab, 0, 1), mk(sliced, 1, 0), mk(ab, 1, 1), mk(other, 0)
	defer func() {
		for _, r := range []arrow.RecordBatch{r1, r2, r3, r4} {
			r.Release()
		}
	}()
	before := rewrites.Load()
	checkSameAsFresh(t, mem, []arrow.RecordBatch{r1}, 0)
	checkSameAsFresh(t, mem, []arrow.RecordBatch{r2}, 0) // skipped: written afresh
	// Under the race detector sync.Pool drops writers at random, so which
	// writer a payload gets, and the count, is only checked without it.
	if n := rewrites.Load() - before; n != 1 && !raceOn {
		t.Fatalf("%d payloads written afresh, want 1", n)
	}
	checkSameAsFresh(t, mem, []arrow.RecordBatch{r3}, 0) // the kept message
	checkSameAsFresh(t, mem, []arrow.RecordBatch{r1, r2, r4, r3}, 0)
	checkSameAsFresh(t, mem, []arrow.RecordBatch{r2, r1}, 0)
	checkSameAsFresh(t, mem, []arrow.RecordBatch{r4}, 0)
	if n := rewrites.Load() - before; n != 2 && !raceOn {
		t.Fatalf("%d payloads written afresh, want 2", n)
	}
}

// TestCachedWriterEmptyStream: a stream without batches (what splitting
// measures as every payload's overhead) from a started cached writer.
func TestCachedWriterEmptyStream(t *testing.T) {
	for _, c := range codecCases {
		rec := signalBatch(t, memory.DefaultAllocator, "logs", 3, 1, "svc")
		o := newOptions([]Option{c.opt})
		var got, want bytes.Buffer
		for range 2 { // before and after the writer started
			got.Reset()
			if err := writeStream(&got, rec.Schema(), nil, o); err != nil {
				t.Fatal(err)
			}
			if _, err := Encode([]arrow.RecordBatch{rec}, 0, c.opt); err != nil {
				t.Fatal(err)
			}
		}
		rec.Release()
		if err := writeFresh(&want, rec.Schema(), nil, o); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s: empty stream of %d bytes differs from a fresh writer's %d", c.name, got.Len(), want.Len())
		}
	}
}

// TestCachedWriterConcurrent encodes from many goroutines at once, each with
// its own batches, through the shared writer pools.
func TestCachedWriterConcurrent(t *testing.T) {
	const goroutines, rounds = 8, 12
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				sig := schema.Signals[(g+i)%3]
				rows := []int{1, 7, 60}[i%3]
				recs := []arrow.RecordBatch{
					signalBatch(t, memory.DefaultAllocator, string(sig), rows, uint64(g*100+i), fmt.Sprintf("svc-%d", i%2)),
				}
				if i%4 == 3 {
					recs = append(recs, signalBatch(t, memory.DefaultAllocator, string(sig), 5, uint64(g*100+i+50), "svc-x"))
				}
				opts := []Option{codecCases[(g+i)%3].opt}
				got, err := Encode(recs, 0, opts...)
				if err == nil {
					var want [][]byte
					want, err = Encode(recs, 0, append(opts, withFreshWriter())...)
					if err == nil && (len(got) != 1 || len(want) != 1 || !bytes.Equal(got[0], want[0])) {
						err = fmt.Errorf("goroutine %d round %d: payload differs from a fresh writer's", g, i)
					}
				}
				for _, r := range recs {
					r.Release()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestMessageHeaderMalformed(t *testing.T) {
	for _, b := range [][]byte{nil, {1, 2}, {0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0}, bytes.Repeat([]byte{0xff}, 64)} {
		if _, _, err := messageHeader(b); err == nil {
			t.Errorf("%x: no error", b)
		}
	}
}

// BenchmarkEncodeTraces encodes one traces batch of the real schema into
// one payload, as the publisher does for every request; writer=fresh is the
// encoder without the writer cache.
func BenchmarkEncodeTraces(b *testing.B) {
	for _, rows := range []int{1, 100, 1000} {
		for _, c := range codecCases[:2] {
			if c.name != "none" && rows != 100 {
				continue
			}
			for _, writer := range []string{"cached", "fresh"} {
				b.Run(fmt.Sprintf("rows=%d/%s/writer=%s", rows, c.name, writer), func(b *testing.B) {
					rec := signalBatch(b, memory.DefaultAllocator, "traces", rows, 1, "checkout")
					defer rec.Release()
					in := []arrow.RecordBatch{rec}
					opts := []Option{c.opt}
					if writer == "fresh" {
						opts = append(opts, withFreshWriter())
					}
					b.ReportAllocs()
					for b.Loop() {
						if _, err := Encode(in, 8<<20, opts...); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
