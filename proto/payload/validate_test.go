package payload

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// diffPayloads returns payloads of every signal: one and several batches,
// each compression, and pairs that share their schema message but differ in
// their dictionaries.
func diffPayloads(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	codecs := map[string][]Option{"none": nil, "zstd": {WithZstd()}, "lz4": {WithLZ4()}}
	for _, sig := range []string{"traces", "metrics", "logs"} {
		for _, rows := range []int{1, 12, 300} {
			a := signalBatch(t, memory.DefaultAllocator, sig, rows, 1, "checkout", "cart")
			b := signalBatch(t, memory.DefaultAllocator, sig, rows, 2, "payment")
			for codec, opts := range codecs {
				for name, recs := range map[string][]arrow.RecordBatch{
					"a": {a}, "b": {b}, "ab": {a, b},
				} {
					ps, err := Encode(recs, 0, opts...)
					if err != nil {
						t.Fatal(err)
					}
					out[fmt.Sprintf("%s/%d/%s/%s", sig, rows, codec, name)] = ps[0]
				}
				// Split: several payloads, each with its own dictionaries.
				ps, err := Encode([]arrow.RecordBatch{a, b}, 64<<10, opts...)
				if err != nil {
					t.Fatal(err)
				}
				for i, p := range ps {
					out[fmt.Sprintf("%s/%d/%s/split%d", sig, rows, codec, i)] = p
				}
			}
			a.Release()
			b.Release()
		}
	}
	return out
}

// schemaMessage returns the bytes of the first message of the stream p.
func schemaMessage(t testing.TB, p []byte) []byte {
	t.Helper()
	n := int(binary.LittleEndian.Uint32(p[4:]))
	return p[8 : 8+n]
}

// sameDecode fails unless decoding p with ValidateColumns and with
// array.ValidateRecordFull give the same schema, batches or error.
func sameDecode(t *testing.T, name string, p []byte) (ok bool) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	s1, r1, err1 := decode(p, mem, ValidateColumns)
	s2, r2, err2 := decode(p, mem, array.ValidateRecordFull)
	defer func() {
		releaseRecs(r1)
		releaseRecs(r2)
		// The arrow reader leaks buffers when it panics on a corrupt
		// stream (it does with array.ValidateRecordFull as well), so only
		// accepted payloads must give all their memory back.
		if ok {
			mem.AssertSize(t, 0)
		}
	}()
	if (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
		t.Fatalf("%s: ValidateColumns: %v; ValidateRecordFull: %v", name, err1, err2)
	}
	if err1 != nil {
		return false
	}
	if !s1.Equal(s2) || !s1.Metadata().Equal(s2.Metadata()) || len(r1) != len(r2) {
		t.Fatalf("%s: schemas or batch counts differ", name)
	}
	for i := range r1 {
		if !array.RecordEqual(r1[i], r2[i]) {
			t.Fatalf("%s: batch %d differs", name, i)
		}
	}
	return true
}

func releaseRecs(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

func TestValidateRecordSameAsArrow(t *testing.T) {
	payloads := diffPayloads(t)
	for name, p := range payloads {
		if !sameDecode(t, name, p) {
			t.Fatalf("%s: valid payload rejected", name)
		}
		// Every column is shown valid by the fast checks alone: the
		// fallback to array.ValidateFull is for hostile input only.
		_, recs, err := Decode(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			for i, col := range rec.Columns() {
				if !fastValid(col) {
					t.Errorf("%s: column %d (%s) not shown valid by fastValid", name, i, rec.Schema().Field(i).Name)
				}
			}
		}
		releaseRecs(recs)
	}
	// Payloads that share a schema message but not their dictionaries,
	// decoded interleaved, keep their own values.
	a, b := payloads["traces/12/none/a"], payloads["traces/12/none/b"]
	if !bytes.Equal(schemaMessage(t, a), schemaMessage(t, b)) {
		t.Fatal("test payloads should share their schema message")
	}
	_, ra, err := Decode(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseRecs(ra)
	_, rb, err := Decode(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseRecs(rb)
	if array.RecordEqual(ra[0], rb[0]) {
		t.Fatal("payloads with different dictionaries decoded to equal batches")
	}
	for _, p := range [][]byte{a, b, a} {
		sameDecode(t, "interleaved", p)
	}
}

// TestValidateRecordMutated corrupts payloads byte by byte: null counts,
// lengths, offsets, bitmaps and flatbuffers. Whatever array.ValidateRecordFull
// says of the result, ValidateColumns must say the same, and fastValid must
// never accept a column array.ValidateFull rejects.
func TestValidateRecordMutated(t *testing.T) {
	n := 1500
	if raceOn {
		n = 300
	}
	if testing.Short() {
		n = 200
	}
	r := rand.New(rand.NewPCG(7, 7))
	payloads := diffPayloads(t)
	accepted := 0
	for _, name := range []string{"traces/1/none/a", "traces/12/none/ab", "metrics/12/none/a", "logs/12/none/a", "traces/12/lz4/a"} {
		p := payloads[name]
		for i := range n {
			m := bytes.Clone(p)
			for range 1 + r.IntN(3) {
				pos := r.IntN(len(m))
				switch r.IntN(3) {
				case 0:
					m[pos] ^= 1 << r.IntN(8)
				case 1:
					m[pos]++
				default:
					m[pos] = byte(r.IntN(256))
				}
			}
			if sameDecode(t, fmt.Sprintf("%s mutation %d", name, i), m) {
				accepted++
			}
			checkFastSound(t, m)
		}
	}
	t.Logf("%d mutated payloads accepted by both", accepted)
}

// checkFastSound fails if fastValid accepts a column of p that
// array.ValidateFull rejects.
func checkFastSound(t testing.TB, p []byte) {
	t.Helper()
	check := func(rec arrow.RecordBatch) error {
		for i, col := range rec.Columns() {
			if fastValid(col) {
				if err := array.ValidateFull(col); err != nil {
					t.Fatalf("fastValid accepted column %d that ValidateFull rejects: %v", i, err)
				}
			}
		}
		return nil
	}
	_, recs, _ := decode(p, nil, check)
	releaseRecs(recs)
}

// FuzzValidateRecord checks that ValidateColumns and array.ValidateRecordFull
// agree on anything the reader decodes.
func FuzzValidateRecord(f *testing.F) {
	payloads := diffPayloads(f)
	for _, name := range []string{"traces/1/none/a", "traces/12/none/ab", "metrics/12/none/a", "logs/12/none/a", "traces/1/zstd/a"} {
		f.Add(payloads[name])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sameDecode(t, "fuzz", b)
		checkFastSound(t, b)
	})
}

// TestValidStringSameAsArrow: validString accepts exactly the string
// arrays array.ValidateFull accepts, on values cut at random byte positions
// of text mixing ASCII, multi-byte characters and invalid bytes, with
// sliced arrays and corrupted offsets.
func TestValidStringSameAsArrow(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	pieces := []string{"a", "http.route", "é", "€", "𝄞", "\xff", "\xc3", "\x80", "\xed\xa0\x80", ""}
	accepted, rejected := 0, 0
	for i := range 20000 {
		var text []byte
		for range r.IntN(12) {
			text = append(text, pieces[r.IntN(len(pieces))]...)
		}
		n := r.IntN(6)
		offsets := make([]int32, n+1)
		for j := 1; j <= n; j++ {
			offsets[j] = offsets[j-1] + int32(r.IntN(len(text)-int(offsets[j-1])+1))
		}
		if i%7 == 0 && n > 0 { // corrupt an offset
			offsets[r.IntN(n+1)] = int32(r.IntN(len(text)+3)) - 1
		}
		var valid []byte
		nulls := 0
		if i%3 == 0 && n > 0 {
			valid = []byte{byte(r.IntN(256))}
			nulls = n - bitutil.CountSetBits(valid, 0, n)
			if i%9 == 0 {
				nulls = array.UnknownNullCount
			}
		}
		var validBuf *memory.Buffer
		if valid != nil {
			validBuf = memory.NewBufferBytes(valid)
		}
		data := array.NewData(arrow.BinaryTypes.String, n,
			[]*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets)), memory.NewBufferBytes(text)}, nil, nulls, 0)
		arr := func() (a arrow.Array) {
			defer func() {
				if recover() != nil {
					a = nil // arrow refuses to build it at all
				}
			}()
			return array.MakeFromData(data)
		}()
		data.Release()
		if arr == nil {
			continue
		}
		check := func(a arrow.Array) {
			want := func() (ok bool) {
				defer func() {
					if recover() != nil {
						ok = false // arrow panics on some bad offsets; Decode recovers
					}
				}()
				return array.ValidateFull(a) == nil
			}()
			got := func() (ok bool) {
				defer func() {
					if recover() != nil {
						ok = false
					}
				}()
				return validString(a)
			}()
			if got && !want {
				t.Fatalf("case %d: validString accepts what arrow rejects: offsets %v, text %q", i, offsets, text)
			}
			if want && !got {
				t.Fatalf("case %d: validString rejects what arrow accepts: offsets %v, text %q", i, offsets, text)
			}
			if want {
				accepted++
			} else {
				rejected++
			}
		}
		check(arr)
		if n > 1 && validString(arr) {
			s := array.NewSlice(arr, 1, int64(n))
			check(s)
			s.Release()
		}
		arr.Release()
	}
	if accepted < 1000 || rejected < 1000 {
		t.Errorf("cases not spread: %d accepted, %d rejected", accepted, rejected)
	}
}
