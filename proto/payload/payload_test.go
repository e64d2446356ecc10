package payload_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/otlp-arrow/otlp-arrow/proto/payload"
)

// testSchema has the shapes the real schemas use: a dictionary column, a
// fixed-size id, a timestamp and a list<struct> holding another dictionary.
func testSchema() *arrow.Schema {
	dict := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	attr := arrow.StructOf(
		arrow.Field{Name: "key", Type: dict},
		arrow.Field{Name: "value", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	)
	return arrow.NewSchema([]arrow.Field{
		{Name: "service_name", Type: dict},
		{Name: "trace_id", Type: &arrow.FixedSizeBinaryType{ByteWidth: 16}},
		{Name: "start_time", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "attributes", Type: arrow.ListOf(attr), Nullable: true},
	}, nil)
}

// makeBatch builds rows [first, first+n) with deterministic contents; row i
// has i%4 attributes and a name of nameLen bytes.
func makeBatch(t testing.TB, mem memory.Allocator, first, n, nameLen int) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(mem, testSchema())
	defer b.Release()
	svc := b.Field(0).(*array.BinaryDictionaryBuilder)
	tid := b.Field(1).(*array.FixedSizeBinaryBuilder)
	ts := b.Field(2).(*array.TimestampBuilder)
	name := b.Field(3).(*array.StringBuilder)
	attrs := b.Field(4).(*array.ListBuilder)
	attr := attrs.ValueBuilder().(*array.StructBuilder)
	key := attr.FieldBuilder(0).(*array.BinaryDictionaryBuilder)
	val := attr.FieldBuilder(1).(*array.Int64Builder)
	for i := first; i < first+n; i++ {
		if err := svc.AppendString(fmt.Sprintf("svc-%d", i%3)); err != nil {
			t.Fatal(err)
		}
		id := make([]byte, 16)
		id[0], id[15] = byte(i), byte(i>>8)
		tid.Append(id)
		ts.Append(arrow.Timestamp(int64(i) * 1000))
		nm := fmt.Sprintf("span-%d-", i)
		for len(nm) < nameLen {
			nm += "x"
		}
		name.Append(nm)
		if i%5 == 4 {
			attrs.AppendNull()
			continue
		}
		attrs.Append(true)
		for j := 0; j < i%4; j++ {
			attr.Append(true)
			if err := key.AppendString(fmt.Sprintf("k%d", j)); err != nil {
				t.Fatal(err)
			}
			if j == 2 {
				val.AppendNull()
			} else {
				val.Append(int64(i*10 + j))
			}
		}
	}
	return b.NewRecordBatch()
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// rowsOf renders every row of recs as text, for comparing contents across
// different batch boundaries.
func rowsOf(t *testing.T, recs []arrow.RecordBatch) []string {
	t.Helper()
	var rows []string
	for _, rec := range recs {
		for i := 0; i < int(rec.NumRows()); i++ {
			row := ""
			for c := 0; c < int(rec.NumCols()); c++ {
				row += rec.Column(c).ValueStr(i) + "|"
			}
			rows = append(rows, row)
		}
	}
	return rows
}

func equalRows(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("row %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

func decodeAll(t *testing.T, mem memory.Allocator, payloads [][]byte) []arrow.RecordBatch {
	t.Helper()
	var all []arrow.RecordBatch
	for i, p := range payloads {
		schema, recs, err := payload.Decode(p, mem)
		if err != nil {
			t.Fatalf("decode payload %d: %v", i, err)
		}
		if !schema.Equal(testSchema()) {
			t.Fatalf("payload %d schema: got %v, want %v", i, schema, testSchema())
		}
		all = append(all, recs...)
	}
	return all
}

func TestRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []payload.Option
	}{
		{"none", nil},
		{"zstd", []payload.Option{payload.WithZstd()}},
		{"lz4", []payload.Option{payload.WithLZ4()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)

			in := []arrow.RecordBatch{makeBatch(t, mem, 0, 10, 8), makeBatch(t, mem, 10, 7, 8)}
			defer releaseAll(in)
			opts := append([]payload.Option{payload.WithAllocator(mem)}, tt.opts...)
			payloads, err := payload.Encode(in, 0, opts...)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if got, want := len(payloads), 1; got != want {
				t.Fatalf("payloads: got %d, want %d", got, want)
			}
			out := decodeAll(t, mem, payloads)
			defer releaseAll(out)
			if got, want := len(out), 2; got != want {
				t.Fatalf("batches: got %d, want %d", got, want)
			}
			for i := range in {
				if !array.RecordEqual(out[i], in[i]) {
					t.Fatalf("batch %d differs:\ngot  %v\nwant %v", i, out[i], in[i])
				}
			}
		})
	}
}

func TestEncodeEmpty(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	empty := makeBatch(t, mem, 0, 0, 0)
	defer empty.Release()
	for _, in := range [][]arrow.RecordBatch{nil, {empty}} {
		got, err := payload.Encode(in, 100, payload.WithAllocator(mem))
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		if len(got) != 0 {
			t.Fatalf("payloads: got %d, want 0", len(got))
		}
	}
}

func TestEncodeSchemaMismatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := makeBatch(t, mem, 0, 2, 0)
	defer a.Release()
	other := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	bb := array.NewRecordBuilder(mem, other)
	defer bb.Release()
	bb.Field(0).(*array.Int64Builder).Append(1)
	b := bb.NewRecordBatch()
	defer b.Release()
	if _, err := payload.Encode([]arrow.RecordBatch{a, b}, 0); err == nil {
		t.Fatal("encode: got nil error for mixed schemas")
	}
}

func TestSplit(t *testing.T) {
	for _, tt := range []struct {
		name    string
		batches [][2]int // first row, row count
		nameLen int
		limit   int
		opts    []payload.Option
	}{
		{"one big batch", [][2]int{{0, 500}}, 64, 8 << 10, nil},
		{"many small batches share", [][2]int{{0, 3}, {3, 4}, {7, 2}, {9, 5}, {14, 1}}, 16, 3 << 10, nil},
		{"mixed", [][2]int{{0, 2}, {2, 300}, {302, 1}, {303, 40}}, 100, 6 << 10, nil},
		{"zstd", [][2]int{{0, 1000}}, 200, 16 << 10, []payload.Option{payload.WithZstd()}},
		{"fits", [][2]int{{0, 10}, {10, 10}}, 8, 1 << 20, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			var in []arrow.RecordBatch
			for _, b := range tt.batches {
				in = append(in, makeBatch(t, mem, b[0], b[1], tt.nameLen))
			}
			defer releaseAll(in)

			opts := append([]payload.Option{payload.WithAllocator(mem)}, tt.opts...)
			payloads, rows, err := payload.EncodeRows(in, tt.limit, opts...)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if len(rows) != len(payloads) {
				t.Fatalf("%d row counts for %d payloads", len(rows), len(payloads))
			}
			for i, p := range payloads {
				if len(p) > tt.limit {
					t.Errorf("payload %d: %d bytes, limit %d", i, len(p), tt.limit)
				}
				one := decodeAll(t, mem, [][]byte{p})
				n := 0
				for _, b := range one {
					n += int(b.NumRows())
				}
				releaseAll(one)
				if n != rows[i] {
					t.Errorf("payload %d: EncodeRows says %d rows, it holds %d", i, rows[i], n)
				}
			}
			out := decodeAll(t, mem, payloads)
			defer releaseAll(out)
			equalRows(t, rowsOf(t, out), rowsOf(t, in))
			t.Logf("%d payloads, %d batches", len(payloads), len(out))
		})
	}
}

func TestSplitSharesPayloads(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var in []arrow.RecordBatch
	for i := 0; i < 20; i++ {
		in = append(in, makeBatch(t, mem, i*2, 2, 8))
	}
	defer releaseAll(in)
	one, err := payload.Encode(in[:1], 0, payload.WithAllocator(mem))
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	// Room for several batches but not all twenty.
	limit := len(one[0]) * 5
	payloads, err := payload.Encode(in, limit, payload.WithAllocator(mem))
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if len(payloads) < 2 || len(payloads) >= len(in) {
		t.Fatalf("payloads: got %d, want between 2 and %d", len(payloads), len(in)-1)
	}
}

func TestTooLarge(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := makeBatch(t, mem, 0, 4, 4096)
	defer in.Release()
	_, err := payload.Encode([]arrow.RecordBatch{in}, 2048, payload.WithAllocator(mem))
	if !errors.Is(err, payload.ErrTooLarge) {
		t.Fatalf("encode: got %v, want ErrTooLarge", err)
	}
}

func TestDecodeMalformed(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	in := makeBatch(t, mem, 0, 20, 16)
	payloads, err := payload.Encode([]arrow.RecordBatch{in}, 0, payload.WithAllocator(mem))
	in.Release()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	valid := payloads[0]
	cases := map[string][]byte{
		"empty":   nil,
		"garbage": []byte("definitely not arrow"),
		"half":    valid[:len(valid)/2],
		"no body": valid[:len(valid)-100],
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, recs, err := payload.Decode(b, mem)
			if !errors.Is(err, payload.ErrMalformed) {
				t.Fatalf("decode: got %v, want ErrMalformed", err)
			}
			if recs != nil {
				t.Fatalf("decode: got %d batches with an error", len(recs))
			}
		})
	}
	mem.AssertSize(t, 0)
}

func BenchmarkEncodeDecode(b *testing.B) {
	const rows = 1000
	for _, tt := range []struct {
		name string
		opts []payload.Option
	}{
		{"none", nil},
		{"zstd", []payload.Option{payload.WithZstd()}},
		{"lz4", []payload.Option{payload.WithLZ4()}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			rec := makeBatch(b, memory.DefaultAllocator, 0, rows, 32)
			defer rec.Release()
			in := []arrow.RecordBatch{rec}
			var size int
			b.ResetTimer()
			for b.Loop() {
				payloads, err := payload.Encode(in, 8<<20, tt.opts...)
				if err != nil {
					b.Fatal(err)
				}
				size = len(payloads[0])
				_, out, err := payload.Decode(payloads[0], nil)
				if err != nil {
					b.Fatal(err)
				}
				releaseAll(out)
			}
			b.ReportMetric(float64(size)/rows, "bytes/row")
			b.SetBytes(int64(size))
		})
	}
}

func TestCompressionNames(t *testing.T) {
	rec := makeBatch(t, memory.DefaultAllocator, 0, 500, 32)
	defer rec.Release()
	var plain int
	for _, name := range []string{"", payload.CompressionNone, payload.CompressionLZ4, payload.CompressionZstd} {
		opt, err := payload.Compression(name)
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		out, err := payload.Encode([]arrow.RecordBatch{rec}, 0, opt)
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		_, recs, err := payload.Decode(out[0], nil)
		if err != nil {
			t.Fatalf("%q: decode: %v", name, err)
		}
		if len(recs) != 1 || !array.RecordEqual(recs[0], rec) {
			t.Errorf("%q: decoded batches differ from the encoded one", name)
		}
		for _, r := range recs {
			r.Release()
		}
		if name == "" {
			plain = len(out[0])
		} else if name != payload.CompressionNone && len(out[0]) >= plain {
			t.Errorf("%q: %d bytes, not less than %d uncompressed", name, len(out[0]), plain)
		}
	}
	if _, err := payload.Compression("snappy"); err == nil {
		t.Error("snappy: no error")
	}
}
