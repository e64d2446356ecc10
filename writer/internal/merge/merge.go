// Package merge concatenates record batches of one schema into one batch,
// column by column, the way the writer merges the small batches of many bus
// messages before it writes them to a file.
//
// It gives the same arrays as arrow-go's array.Concatenate, at a fraction of
// its fixed cost per part: array.Concatenate builds an arrow.Array for every
// part of every nested column and compares their types, which at a hundred
// rows per part costs more than copying the values (writer profiles,
// docs/BENCHMARKS.md). Here each column is gathered from the parts' buffers
// directly: validity bitmaps and booleans bit by bit, fixed-width values
// with one copy, offsets rebased, and the children of lists, maps and
// structs gathered over the ranges their parents cover. Columns of a type it
// does not handle (dictionaries, and anything nested around one) go through
// array.Concatenate.
package merge

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ErrOverflow reports a merged string, binary, list or map column whose
// offsets would not fit in 32 bits.
var ErrOverflow = errors.New("merge: offsets overflow int32")

// Records concatenates recs, which share one schema, into one batch with
// memory from mem. The caller releases the result; recs are left as they
// are (the result shares none of their buffers).
func Records(recs []arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
	if len(recs) == 0 {
		return nil, errors.New("merge: no batches")
	}
	sch := recs[0].Schema()
	var rows int64
	for _, r := range recs {
		rows += r.NumRows()
	}
	cols := make([]arrow.Array, sch.NumFields())
	release := func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}
	parts := make([]arrow.Array, len(recs))
	for c := range cols {
		for i, r := range recs {
			parts[i] = r.Column(c)
		}
		a, err := Arrays(parts, mem)
		if err != nil {
			release()
			return nil, fmt.Errorf("column %s: %w", sch.Field(c).Name, err)
		}
		cols[c] = a
	}
	rec := array.NewRecordBatch(sch, cols, rows)
	release()
	return rec, nil
}

// Arrays concatenates arrays of one type into one array, as
// array.Concatenate does.
func Arrays(arrs []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	if len(arrs) == 0 {
		return nil, errors.New("merge: no arrays")
	}
	if !supported(arrs[0].DataType()) {
		return array.Concatenate(arrs, mem)
	}
	spans := make([]span, len(arrs))
	for i, a := range arrs {
		spans[i] = span{d: a.Data(), start: 0, n: a.Len()}
	}
	data, err := gather(arrs[0].DataType(), spans, mem)
	if err != nil {
		return nil, err
	}
	defer data.Release()
	return array.MakeFromData(data), nil
}

// supported reports whether gather handles dt and every type nested in it.
func supported(dt arrow.DataType) bool {
	switch t := dt.(type) {
	case *arrow.BooleanType, *arrow.StringType, *arrow.BinaryType:
		return true
	case *arrow.ListType:
		return supported(t.Elem())
	case *arrow.MapType:
		return supported(t.Elem())
	case *arrow.StructType:
		for _, f := range t.Fields() {
			if !supported(f.Type) {
				return false
			}
		}
		return true
	case arrow.FixedWidthDataType:
		// Fixed-width values of whole bytes (integers, floats, temporal
		// types, fixed-size binary); booleans are handled above.
		return t.BitWidth() >= 8 && t.BitWidth()%8 == 0 && dt.ID() != arrow.DICTIONARY
	}
	return false
}

// span is the elements [start, start+n) of d, in d's logical indexes
// (d.Offset() not included).
type span struct {
	d        arrow.ArrayData
	start, n int
}

// gather builds the concatenation of spans, all of type dt.
func gather(dt arrow.DataType, spans []span, mem memory.Allocator) (arrow.ArrayData, error) {
	length, nulls := 0, 0
	for _, s := range spans {
		length += s.n
		nulls += spanNulls(s)
	}
	validity := gatherValidity(spans, length, nulls, mem)
	defer release(validity)

	switch t := dt.(type) {
	case *arrow.BooleanType:
		vals := newBitmap(mem, length)
		defer vals.Release()
		pos := 0
		for _, s := range spans {
			if s.n > 0 {
				bitutil.CopyBitmap(s.d.Buffers()[1].Bytes(), s.d.Offset()+s.start, s.n, vals.Bytes(), pos)
			}
			pos += s.n
		}
		return array.NewData(dt, length, []*memory.Buffer{validity, vals}, nil, nulls, 0), nil

	case *arrow.StringType, *arrow.BinaryType:
		offsets, ranges, err := gatherOffsets(spans, length, mem)
		if err != nil {
			return nil, err
		}
		defer offsets.Release()
		size := 0
		for _, r := range ranges {
			size += r.n
		}
		vals := newBuffer(mem, size)
		defer vals.Release()
		pos := 0
		for i, s := range spans {
			if src := s.d.Buffers()[2]; src != nil && ranges[i].n > 0 {
				pos += copy(vals.Bytes()[pos:], src.Bytes()[ranges[i].start:ranges[i].start+ranges[i].n])
			}
		}
		return array.NewData(dt, length, []*memory.Buffer{validity, offsets, vals}, nil, nulls, 0), nil

	case *arrow.ListType, *arrow.MapType:
		offsets, ranges, err := gatherOffsets(spans, length, mem)
		if err != nil {
			return nil, err
		}
		defer offsets.Release()
		for i, s := range spans {
			ranges[i].d = s.d.Children()[0]
		}
		child, err := gather(dt.(arrow.ListLikeType).Elem(), ranges, mem)
		if err != nil {
			return nil, err
		}
		defer child.Release()
		return array.NewData(dt, length, []*memory.Buffer{validity, offsets}, []arrow.ArrayData{child}, nulls, 0), nil

	case *arrow.StructType:
		children := make([]arrow.ArrayData, len(t.Fields()))
		defer func() {
			for _, c := range children {
				if c != nil {
					c.Release()
				}
			}
		}()
		sub := make([]span, len(spans))
		for f, field := range t.Fields() {
			for i, s := range spans {
				// A struct's children are not sliced with it: element i
				// of the struct is element Offset()+i of each child.
				sub[i] = span{d: s.d.Children()[f], start: s.d.Offset() + s.start, n: s.n}
			}
			c, err := gather(field.Type, sub, mem)
			if err != nil {
				return nil, err
			}
			children[f] = c
		}
		return array.NewData(dt, length, []*memory.Buffer{validity}, children, nulls, 0), nil

	case arrow.FixedWidthDataType:
		width := t.BitWidth() / 8
		vals := newBuffer(mem, length*width)
		defer vals.Release()
		pos := 0
		for _, s := range spans {
			if s.n == 0 {
				continue
			}
			from := (s.d.Offset() + s.start) * width
			pos += copy(vals.Bytes()[pos:], s.d.Buffers()[1].Bytes()[from:from+s.n*width])
		}
		return array.NewData(dt, length, []*memory.Buffer{validity, vals}, nil, nulls, 0), nil
	}
	return nil, fmt.Errorf("merge: unsupported type %s", dt)
}

// spanNulls counts the null elements of s.
func spanNulls(s span) int {
	if s.n == 0 || s.d.Buffers()[0] == nil {
		return 0
	}
	if s.start == 0 && s.n == s.d.Len() && s.d.NullN() >= 0 { // not array.UnknownNullCount
		return s.d.NullN()
	}
	return s.n - bitutil.CountSetBits(s.d.Buffers()[0].Bytes(), s.d.Offset()+s.start, s.n)
}

// gatherValidity is the validity bitmap of the concatenation, nil when no
// element is null.
func gatherValidity(spans []span, length, nulls int, mem memory.Allocator) *memory.Buffer {
	if nulls == 0 {
		return nil
	}
	buf := newBitmap(mem, length)
	bits := buf.Bytes()
	pos := 0
	for _, s := range spans {
		if s.n == 0 {
			continue
		}
		if v := s.d.Buffers()[0]; v != nil {
			bitutil.CopyBitmap(v.Bytes(), s.d.Offset()+s.start, s.n, bits, pos)
		} else {
			bitutil.SetBitsTo(bits, int64(pos), int64(s.n), true)
		}
		pos += s.n
	}
	return buf
}

// gatherOffsets builds the int32 offsets of the concatenation of spans of a
// string, binary, list or map type, and returns with them each span's range
// of values (for lists and maps, of its child's elements).
func gatherOffsets(spans []span, length int, mem memory.Allocator) (*memory.Buffer, []span, error) {
	buf := newBuffer(mem, (length+1)*4)
	out := unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(buf.Bytes()))), length+1)
	ranges := make([]span, len(spans))
	pos, base := 0, int64(0)
	for i, s := range spans {
		if s.n == 0 {
			continue
		}
		in := int32s(s.d.Buffers()[1])[s.d.Offset()+s.start : s.d.Offset()+s.start+s.n+1]
		first := in[0]
		if base+int64(in[s.n]-first) > math.MaxInt32 {
			buf.Release()
			return nil, nil, ErrOverflow
		}
		shift := int32(base) - first
		for j, o := range in[:s.n] {
			out[pos+j] = o + shift
		}
		ranges[i] = span{start: int(first), n: int(in[s.n] - first)}
		pos += s.n
		base += int64(in[s.n] - first)
	}
	out[length] = int32(base)
	return buf, ranges, nil
}

// int32s views an offsets buffer as int32 values.
func int32s(b *memory.Buffer) []int32 {
	bs := b.Bytes()
	if len(bs) < 4 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(bs))), len(bs)/4)
}

// newBuffer is a buffer of n bytes from mem, for values that will all be
// written.
func newBuffer(mem memory.Allocator, n int) *memory.Buffer {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n)
	return buf
}

// newBitmap is a zeroed buffer for a bitmap of n bits (not every allocator
// zeroes, and the bits past n are written as they are).
func newBitmap(mem memory.Allocator, n int) *memory.Buffer {
	buf := newBuffer(mem, int(bitutil.BytesForBits(int64(n))))
	clear(buf.Bytes())
	return buf
}

func release(b *memory.Buffer) {
	if b != nil {
		b.Release()
	}
}
