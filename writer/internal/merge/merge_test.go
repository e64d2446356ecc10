package merge

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// fill appends one random value (or a null, a fifth of the time, where the
// builder allows one) to b.
func fill(r *rand.Rand, b array.Builder, nullable bool) {
	if nullable && r.IntN(5) == 0 {
		b.AppendNull()
		return
	}
	switch b := b.(type) {
	case *array.BooleanBuilder:
		b.Append(r.IntN(2) == 0)
	case *array.Int32Builder:
		b.Append(r.Int32())
	case *array.Int64Builder:
		b.Append(r.Int64())
	case *array.Uint32Builder:
		b.Append(r.Uint32())
	case *array.Uint64Builder:
		b.Append(r.Uint64())
	case *array.Float64Builder:
		b.Append(r.Float64())
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(r.Int64()))
	case *array.FixedSizeBinaryBuilder:
		v := make([]byte, b.Type().(*arrow.FixedSizeBinaryType).ByteWidth)
		for i := range v {
			v[i] = byte(r.Uint32())
		}
		b.Append(v)
	case *array.BinaryDictionaryBuilder:
		if err := b.AppendString(fmt.Sprint("d", r.IntN(7))); err != nil {
			panic(err)
		}
	case *array.StringBuilder:
		v := fmt.Sprint("s", r.IntN(1000))
		b.Append(v[:r.IntN(len(v)+1)])
	case *array.BinaryBuilder:
		v := make([]byte, r.IntN(6))
		for i := range v {
			v[i] = byte(r.Uint32())
		}
		b.Append(v)
	case *array.MapBuilder:
		b.Append(true)
		for range r.IntN(4) {
			fill(r, b.KeyBuilder(), false)
			fill(r, b.ItemBuilder(), true)
		}
	case *array.ListBuilder:
		b.Append(true)
		for range r.IntN(4) {
			fill(r, b.ValueBuilder(), true)
		}
	case *array.StructBuilder:
		b.Append(true)
		for i := range b.NumField() {
			fill(r, b.FieldBuilder(i), true)
		}
	default:
		panic(fmt.Sprintf("no generator for %T", b))
	}
}

// randomBatch is a batch of sch with n random rows, sliced from a larger
// one at a random offset half the time, as batches of a payload may be.
func randomBatch(r *rand.Rand, mem memory.Allocator, sch *arrow.Schema, n int) arrow.RecordBatch {
	extra := 0
	if r.IntN(2) == 0 {
		extra = r.IntN(5)
	}
	b := array.NewRecordBuilder(mem, sch)
	defer b.Release()
	for range n + 2*extra {
		for i, f := range sch.Fields() {
			fill(r, b.Field(i), f.Nullable)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return rec.NewSlice(int64(extra), int64(extra+n))
}

var generic = arrow.NewSchema([]arrow.Field{
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "id", Type: &arrow.FixedSizeBinaryType{ByteWidth: 8}, Nullable: true},
	{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "lists", Type: arrow.ListOf(arrow.ListOf(arrow.BinaryTypes.String)), Nullable: true},
	{Name: "s", Type: arrow.StructOf(
		arrow.Field{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.ListOf(arrow.PrimitiveTypes.Float64)), Nullable: true},
		arrow.Field{Name: "t", Type: arrow.StructOf(arrow.Field{Name: "u", Type: arrow.PrimitiveTypes.Uint64, Nullable: true}), Nullable: true},
		arrow.Field{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: false},
	), Nullable: true},
}, nil)

// TestRecordsSameAsConcatenate merges random batches of every signal's
// schema and of a schema nesting every supported type, in parts of random
// sizes (empty ones among them), and compares each column with
// array.Concatenate's.
func TestRecordsSameAsConcatenate(t *testing.T) {
	schemas := map[string]*arrow.Schema{"generic": generic}
	for _, sig := range schema.Signals {
		schemas[string(sig)] = schema.Schema(sig)
	}
	for name, sch := range schemas {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(1, uint64(len(name))))
			for round := range 12 {
				var recs []arrow.RecordBatch
				sizes := []int{0, 1, 3, 40}
				if name != "generic" {
					// array.Concatenate fails on an empty dictionary array
					// (the signals' dictionary columns go through it).
					sizes = sizes[1:]
				}
				for range 1 + r.IntN(9) {
					recs = append(recs, randomBatch(r, mem, sch, sizes[r.IntN(len(sizes))]))
				}
				got, err := Records(recs, mem)
				if err != nil {
					t.Fatal(err)
				}
				var rows int64
				for _, rec := range recs {
					rows += rec.NumRows()
				}
				if got.NumRows() != rows {
					t.Fatalf("round %d: %d rows, want %d", round, got.NumRows(), rows)
				}
				parts := make([]arrow.Array, len(recs))
				for c := range sch.NumFields() {
					for i, rec := range recs {
						parts[i] = rec.Column(c)
					}
					want, err := array.Concatenate(parts, mem)
					if err != nil {
						t.Fatal(err)
					}
					if err := array.ValidateFull(got.Column(c)); err != nil {
						t.Errorf("round %d: column %s invalid: %v", round, sch.Field(c).Name, err)
					}
					if !array.Equal(got.Column(c), want) {
						t.Errorf("round %d: column %s:\n got %v\nwant %v", round, sch.Field(c).Name, got.Column(c), want)
					}
					if got.Column(c).NullN() != want.NullN() {
						t.Errorf("round %d: column %s: %d nulls, want %d", round, sch.Field(c).Name, got.Column(c).NullN(), want.NullN())
					}
					want.Release()
				}
				got.Release()
				for _, rec := range recs {
					rec.Release()
				}
			}
		})
	}
}

// TestArraysOverflow: string offsets that would pass 2^31-1 are an error,
// as they are for array.Concatenate. The parts claim a GiB each through their
// offsets alone (no array.Array accepts that); merge checks the offsets
// before it copies any value.
func TestArraysOverflow(t *testing.T) {
	offsets := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes([]int32{0, 1 << 30}))
	data := array.NewData(arrow.BinaryTypes.Binary, 1, []*memory.Buffer{nil, offsets, memory.NewBufferBytes(nil)}, nil, 0, 0)
	defer data.Release()
	part := span{d: data, n: 1}
	if _, err := gather(data.DataType(), []span{part, part, part}, memory.DefaultAllocator); !errors.Is(err, ErrOverflow) {
		t.Fatalf("err = %v, want ErrOverflow", err)
	}
}

// BenchmarkRecords merges 400 traces batches of 100 random rows each (a
// writer's flush at 100-span requests) with Records and with
// array.Concatenate column by column, as the writer did before.
//
//	go test -run '^$' -bench Records -benchmem ./internal/merge/
func BenchmarkRecords(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	sch := schema.Schema(schema.Traces)
	recs := make([]arrow.RecordBatch, 400)
	for i := range recs {
		recs[i] = randomBatch(r, memory.DefaultAllocator, sch, 100)
	}
	b.Run("merge", func(b *testing.B) {
		for b.Loop() {
			rec, err := Records(recs, memory.DefaultAllocator)
			if err != nil {
				b.Fatal(err)
			}
			rec.Release()
		}
	})
	b.Run("concatenate", func(b *testing.B) {
		parts := make([]arrow.Array, len(recs))
		for b.Loop() {
			for c := range sch.NumFields() {
				for i, rec := range recs {
					parts[i] = rec.Column(c)
				}
				a, err := array.Concatenate(parts, memory.DefaultAllocator)
				if err != nil {
					b.Fatal(err)
				}
				a.Release()
			}
		}
	})
}
