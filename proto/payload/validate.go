package payload

import (
	"fmt"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// ValidateColumns returns what array.ValidateRecordFull(rec) returns (the
// first column array.ValidateFull finds invalid), faster.
//
// array.ValidateFull rebuilds every child array from its data at every level
// of nesting (the subtree under a node is built once per ancestor) and
// formats a path string for every child, valid or not: for our schemas, with
// their dozens of map<string, …> and struct columns, that is most of its
// cost. ValidateColumns first runs fastValid, which checks each struct, list
// and map node from its data without building arrays and hands every other
// node to array.ValidateFull. fastValid is only ever stricter than
// array.ValidateFull: when it accepts a column, array.ValidateFull accepts it
// too. When it does not, array.ValidateFull decides, so the result and the
// error are exactly array.ValidateRecordFull's.
func ValidateColumns(rec arrow.RecordBatch) error {
	for i, col := range rec.Columns() {
		if fastValid(col) {
			continue
		}
		if err := array.ValidateFull(col); err != nil {
			return fmt.Errorf("column %d (%s): %w", i, rec.Schema().Field(i).Name, err)
		}
	}
	return nil
}

// fastValid reports whether col is valid by checks that imply every check
// array.ValidateFull(col) makes, including that building each child array
// would not panic. False means "not shown valid", not "invalid".
func fastValid(col arrow.Array) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	data, isData := col.Data().(*array.Data)
	if !isData {
		return false
	}
	switch col.DataType().(type) {
	case *arrow.StructType, *arrow.ListType, *arrow.MapType:
		return validNested(data)
	case *arrow.StringType:
		return validString(col)
	}
	return array.ValidateFull(col) == nil
}

// validData checks data as array.ValidateFull checks an array built from it.
func validData(data arrow.ArrayData) bool {
	d, ok := data.(*array.Data)
	if !ok || d == nil {
		return false
	}
	switch d.DataType().(type) {
	case *arrow.StructType, *arrow.ListType, *arrow.MapType:
		return validNested(d)
	}
	// The rest is built exactly as array.ValidateFull builds a child (from
	// the same data) and checked by it.
	arr := array.MakeFromData(d)
	defer arr.Release()
	if _, ok := arr.(*array.String); ok {
		return validString(arr)
	}
	return array.ValidateFull(arr) == nil
}

// validString makes the checks array.ValidateFull makes of a string array:
// array.Validate's (data, layout, buffer sizes, first and last offset in
// bounds), the null count, non-negative and non-decreasing offsets, and
// every value valid UTF-8. The last is where array.ValidateFull spends its
// time at 1000-row payloads, one utf8.ValidString call per value; here it
// is one utf8.Valid over the bytes from the first offset to the last and a
// check that no inner offset falls on a UTF-8 continuation byte. The two
// are equivalent: in valid UTF-8 the positions of non-continuation bytes
// are exactly the character boundaries, so when the whole range is valid
// and every cut is a boundary, each value is whole characters, hence valid;
// and when some value is invalid, either the range is invalid or a cut
// splits a character (the next value starts with a continuation byte).
func validString(arr arrow.Array) bool {
	s, ok := arr.(*array.String)
	if !ok || array.Validate(arr) != nil {
		return false
	}
	d := s.Data()
	if !nullCountMatches(d) {
		return false
	}
	n := s.Len()
	if n == 0 {
		return true
	}
	offsets := s.ValueOffsets()
	if offsets[0] < 0 {
		return false
	}
	for i := 1; i <= n; i++ {
		if offsets[i] < offsets[i-1] {
			return false
		}
	}
	var values []byte
	if b := d.Buffers()[2]; b != nil {
		values = b.Bytes()
	}
	first, last := offsets[0], offsets[n]
	if !utf8.Valid(values[first:last]) {
		return false
	}
	for _, o := range offsets[1:n] {
		if o > first && o < last && values[o]&0xC0 == 0x80 {
			return false
		}
	}
	return true
}

// validNested checks a struct, list or map node and, recursively, its
// children. Against array.ValidateFull's node checks (array data, structure,
// null count, the type's own ValidateFull) it is as strict or stricter: it
// wants offset 0, and struct children exactly as long as the struct, so that
// building the array (array.MakeFromData) slices nothing and builds each
// child from the very data this function checks.
func validNested(d *array.Data) bool {
	n := d.Len()
	if d.Offset() != 0 || n < 0 {
		return false
	}
	// Dictionary returns its *array.Data field as an interface: nil is a
	// typed nil.
	if dict, ok := d.Dictionary().(*array.Data); !ok || dict != nil {
		return false
	}
	nulls := d.NullN()
	if nulls < array.UnknownNullCount || nulls > n {
		return false
	}
	bufs := d.Buffers()
	var bitmap []byte
	if len(bufs) > 0 && bufs[0] != nil {
		bitmap = bufs[0].Bytes()
		if int64(len(bitmap)) < bitutil.BytesForBits(int64(n)) {
			return false
		}
	}
	if !nullCountMatches(d) {
		return false
	}
	children := d.Children()
	for _, c := range children {
		if c == nil {
			return false
		}
	}

	switch dt := d.DataType().(type) {
	case *arrow.StructType:
		// Layout: the validity bitmap only.
		if len(bufs) != 1 || len(children) != dt.NumFields() {
			return false
		}
		for i, c := range children {
			if c.Len() != n || !arrow.TypeEqual(dt.Field(i).Type, c.DataType()) {
				return false
			}
		}
	case *arrow.ListType, *arrow.MapType:
		// Layout: validity bitmap and int32 offsets; one child.
		if len(bufs) != 2 || len(children) != 1 {
			return false
		}
		elem := dt.(arrow.ListLikeType).ElemField().Type
		if !arrow.TypeEqual(elem, children[0].DataType()) {
			return false
		}
		if n > 0 {
			if bufs[1] == nil {
				return false
			}
			offsets := arrow.Int32Traits.CastFromBytes(bufs[1].Bytes())
			if len(offsets) < n+1 {
				return false
			}
			childLen := int64(children[0].Len())
			prev := int64(0)
			for _, o := range offsets[:n+1] {
				if int64(o) < prev || int64(o) > childLen {
					return false
				}
				prev = int64(o)
			}
		}
		if _, isMap := dt.(*arrow.MapType); isMap {
			// What building a map array panics on (array.Map's validateData).
			entries := children[0]
			if entries.DataType().ID() != arrow.STRUCT || entries.NullN() != 0 ||
				len(entries.Children()) != 2 || entries.Children()[0] == nil ||
				entries.Children()[0].NullN() != 0 {
				return false
			}
		}
	default:
		return false
	}
	for _, c := range children {
		if !validData(c) {
			return false
		}
	}
	return true
}

// nullCountMatches makes arrow's null count check (validateNullCount): a
// known null count equals the unset bits of the validity bitmap over the
// array's rows, or 0 without a bitmap. The caller has checked the bitmap
// is long enough.
func nullCountMatches(d arrow.ArrayData) bool {
	nulls := d.NullN()
	if nulls == array.UnknownNullCount {
		return true
	}
	actual := 0
	if bufs := d.Buffers(); len(bufs) > 0 && bufs[0] != nil {
		actual = d.Len() - bitutil.CountSetBits(bufs[0].Bytes(), d.Offset(), d.Len())
	}
	return actual == nulls
}
