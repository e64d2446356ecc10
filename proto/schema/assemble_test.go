package schema

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// assembleSchema has every kind of nesting the signal schemas have, and
// more: a list of structs holding a map and a list, and a top-level struct.
var assembleSchema = arrow.NewSchema([]arrow.Field{
	{Name: "dict", Type: DictString, Nullable: true},
	{Name: "int", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "map", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64), Nullable: true},
	{Name: "list", Type: arrow.ListOf(arrow.PrimitiveTypes.Uint64), Nullable: true},
	{Name: "structs", Type: arrow.ListOf(arrow.StructOf(
		arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		arrow.Field{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), Nullable: true},
		arrow.Field{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64), Nullable: true},
	)), Nullable: true},
	{Name: "struct", Type: arrow.StructOf(
		arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		arrow.Field{Name: "y", Type: SpanID, Nullable: true},
	), Nullable: true},
}, nil)

// What a row appends to, in both implementations.
type (
	rowAppender interface {
		Append(bool)
		AppendNull()
	}
	mapAppender interface {
		rowAppender
		KeyBuilder() array.Builder
		ItemBuilder() array.Builder
	}
	assembleView struct {
		dict                 *array.BinaryDictionaryBuilder
		int                  *array.Int64Builder
		mp                   mapAppender
		mpKeys               *array.StringBuilder
		mpItems              *array.Int64Builder
		list                 rowAppender
		listVals             *array.Uint64Builder
		structs, structsItem rowAppender
		a                    *array.Int32Builder
		s                    *array.StringBuilder
		m                    mapAppender
		l                    rowAppender
		lVals                *array.Float64Builder
		st                   rowAppender
		x                    *array.Int64Builder
		y                    *array.FixedSizeBinaryBuilder
		reserve              func(int)
		newBatch             func() arrow.RecordBatch
		release              func()
	}
)

func arrowView(mem memory.Allocator) *assembleView {
	rb := array.NewRecordBuilder(mem, assembleSchema)
	bs := rb.Fields()
	v := &assembleView{reserve: rb.Reserve, newBatch: rb.NewRecordBatch, release: rb.Release}
	v.dict = bs[0].(*array.BinaryDictionaryBuilder)
	v.int = bs[1].(*array.Int64Builder)
	mb := bs[2].(*array.MapBuilder)
	v.mp = mb
	v.list = bs[3].(*array.ListBuilder)
	v.listVals = bs[3].(*array.ListBuilder).ValueBuilder().(*array.Uint64Builder)
	v.structs = bs[4].(*array.ListBuilder)
	sb := bs[4].(*array.ListBuilder).ValueBuilder().(*array.StructBuilder)
	v.structsItem = sb
	v.a = sb.FieldBuilder(0).(*array.Int32Builder)
	v.s = sb.FieldBuilder(1).(*array.StringBuilder)
	v.m = sb.FieldBuilder(2).(*array.MapBuilder)
	v.l = sb.FieldBuilder(3).(*array.ListBuilder)
	v.lVals = sb.FieldBuilder(3).(*array.ListBuilder).ValueBuilder().(*array.Float64Builder)
	st := bs[5].(*array.StructBuilder)
	v.st = st
	v.x = st.FieldBuilder(0).(*array.Int64Builder)
	v.y = st.FieldBuilder(1).(*array.FixedSizeBinaryBuilder)
	v.finishView()
	return v
}

func batchView(mem memory.Allocator) *assembleView {
	bb := newBatchBuilder(mem, assembleSchema)
	bs := bb.Fields()
	v := &assembleView{reserve: bb.Reserve, newBatch: bb.NewRecordBatch, release: bb.Release}
	v.dict = bs[0].(*array.BinaryDictionaryBuilder)
	v.int = bs[1].(*array.Int64Builder)
	v.mp = bs[2].(*mapCol)
	v.list = bs[3].(*listCol)
	v.listVals = bs[3].(*listCol).ValueBuilder().(*array.Uint64Builder)
	v.structs = bs[4].(*listCol)
	sc := bs[4].(*listCol).ValueBuilder().(*structCol)
	v.structsItem = sc
	fs := sc.Fields()
	v.a = fs[0].(*array.Int32Builder)
	v.s = fs[1].(*array.StringBuilder)
	v.m = fs[2].(*mapCol)
	v.l = fs[3].(*listCol)
	v.lVals = fs[3].(*listCol).ValueBuilder().(*array.Float64Builder)
	st := bs[5].(*structCol)
	v.st = st
	v.x = st.Fields()[0].(*array.Int64Builder)
	v.y = st.Fields()[1].(*array.FixedSizeBinaryBuilder)
	v.finishView()
	return v
}

func (v *assembleView) finishView() {
	v.mpKeys = v.mp.KeyBuilder().(*array.StringBuilder)
	v.mpItems = v.mp.ItemBuilder().(*array.Int64Builder)
}

// appendRows appends rows random rows drawn from r, with nulls and empty
// values at every level.
func (v *assembleView) appendRows(r *rand.Rand, rows int) {
	v.reserve(rows)
	for range rows {
		if r.IntN(5) == 0 {
			v.dict.AppendNull()
		} else if err := v.dict.AppendString(fmt.Sprint("v", r.IntN(4))); err != nil {
			panic(err)
		}
		if r.IntN(4) == 0 {
			v.int.AppendNull()
		} else {
			v.int.Append(r.Int64())
		}
		switch r.IntN(3) {
		case 0:
			v.mp.AppendNull()
		default:
			v.mp.Append(true)
			for j := range r.IntN(3) {
				v.mpKeys.Append(fmt.Sprint("k", j))
				v.mpItems.Append(int64(j))
			}
		}
		switch r.IntN(3) {
		case 0:
			v.list.AppendNull()
		default:
			v.list.Append(true)
			for range r.IntN(4) {
				v.listVals.Append(r.Uint64())
			}
		}
		switch r.IntN(4) {
		case 0:
			v.structs.AppendNull()
		default:
			v.structs.Append(true)
			for range r.IntN(3) {
				if r.IntN(4) == 0 {
					v.structsItem.AppendNull() // appends nulls to the fields
					continue
				}
				v.structsItem.Append(true)
				v.a.Append(r.Int32())
				if r.IntN(3) == 0 {
					v.s.AppendNull()
				} else {
					v.s.Append("s")
				}
				if r.IntN(2) == 0 {
					v.m.AppendNull()
				} else {
					v.m.Append(true)
					for range r.IntN(2) {
						v.m.KeyBuilder().(*array.StringBuilder).Append("mk")
						v.m.ItemBuilder().(*array.StringBuilder).Append("mv")
					}
				}
				if r.IntN(2) == 0 {
					v.l.AppendNull()
				} else {
					v.l.Append(true)
					for range r.IntN(3) {
						v.lVals.Append(r.Float64())
					}
				}
			}
		}
		if r.IntN(3) == 0 {
			v.st.AppendNull()
		} else {
			v.st.Append(true)
			v.x.Append(r.Int64())
			v.y.Append([]byte{1, 2, 3, 4, 5, 6, 7, 8})
		}
	}
}

// sameData fails t unless a and b have the same type, length, nulls and
// offset, recursively: array.Equal compares the values only.
func sameData(t *testing.T, path string, a, b arrow.ArrayData) {
	t.Helper()
	if !arrow.TypeEqual(a.DataType(), b.DataType()) || a.Len() != b.Len() || a.NullN() != b.NullN() || a.Offset() != b.Offset() {
		t.Fatalf("%s: got %s len %d nulls %d offset %d, want %s len %d nulls %d offset %d", path,
			b.DataType(), b.Len(), b.NullN(), b.Offset(), a.DataType(), a.Len(), a.NullN(), a.Offset())
	}
	if len(a.Children()) != len(b.Children()) {
		t.Fatalf("%s: %d children, want %d", path, len(b.Children()), len(a.Children()))
	}
	for i := range a.Children() {
		sameData(t, fmt.Sprintf("%s.%d", path, i), a.Children()[i], b.Children()[i])
	}
}

// TestBatchBuilderMatchesRecordBuilder appends the same rows to a
// batchBuilder and an array.RecordBuilder, batch after batch, and compares
// the batches.
func TestBatchBuilderMatchesRecordBuilder(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	want, got := arrowView(mem), batchView(mem)
	defer want.release()
	defer got.release()
	for batch, rows := range []int{0, 1, 7, 32, 33, 100, 0, 3, 257} {
		seed := uint64(batch)
		want.appendRows(rand.New(rand.NewPCG(seed, 1)), rows)
		got.appendRows(rand.New(rand.NewPCG(seed, 1)), rows)
		w, g := want.newBatch(), got.newBatch()
		if !array.RecordEqual(w, g) {
			t.Fatalf("batch %d (%d rows) differs:\nwant %v\ngot  %v", batch, rows, w, g)
		}
		for i := range w.Columns() {
			sameData(t, fmt.Sprintf("batch %d column %s", batch, w.ColumnName(i)), w.Column(i).Data(), g.Column(i).Data())
		}
		w.Release()
		g.Release()
		// The record builders keep their dictionaries; so does the pool,
		// which resets them.
		want.dict.ResetFull()
		got.dict.ResetFull()
	}
}

// TestBatchBuilderReleasesUnbuilt checks that rows appended and never
// built are freed with the builder (a request that failed halfway).
func TestBatchBuilderReleasesUnbuilt(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	v := batchView(mem)
	v.appendRows(rand.New(rand.NewPCG(1, 2)), 50)
	rec := v.newBatch()
	v.appendRows(rand.New(rand.NewPCG(3, 4)), 20)
	v.release()
	rec.Release()
}

// TestToArrowConcurrent converts from several goroutines at once, sharing
// the pooled builders (and the empty arrays they keep), and compares with
// the batches converted one at a time.
func TestToArrowConcurrent(t *testing.T) {
	const seeds = 8
	var want [seeds][3]arrow.RecordBatch
	convert := func(seed uint64) (recs [3]arrow.RecordBatch, err error) {
		g := newGen(seed)
		if recs[0], err = TracesToArrow(memory.DefaultAllocator, g.traces()); err != nil {
			return recs, err
		}
		if recs[1], err = LogsToArrow(memory.DefaultAllocator, g.logs()); err != nil {
			return recs, err
		}
		recs[2], err = MetricsToArrow(memory.DefaultAllocator, g.metrics())
		return recs, err
	}
	for s := range uint64(seeds) {
		var err error
		if want[s], err = convert(s); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, recs := range want {
			for _, r := range recs {
				r.Release()
			}
		}
	}()
	// The batches are compared after the goroutines end: comparing reads
	// the expected batches, and arrow-go's arrays initialize parts of
	// themselves lazily on first read, which is not safe concurrently.
	type result struct {
		seed uint64
		recs [3]arrow.RecordBatch
	}
	var (
		wg      sync.WaitGroup
		results [4][]result
	)
	for w := range 4 {
		wg.Go(func() {
			for i := range 3 * seeds {
				s := uint64((i + w) % seeds)
				got, err := convert(s)
				if err != nil {
					t.Error(err)
					return
				}
				results[w] = append(results[w], result{s, got})
			}
		})
	}
	wg.Wait()
	for _, rs := range results {
		for _, res := range rs {
			for k, r := range res.recs {
				if !array.RecordApproxEqual(want[res.seed][k], r, array.WithNaNsEqual(true)) {
					t.Errorf("seed %d, signal %d: batch differs from the one converted alone", res.seed, k)
				}
				r.Release()
			}
		}
	}
}
