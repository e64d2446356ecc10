package schema

import (
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// batchBuilder builds record batches of one schema, like
// array.RecordBuilder, with arrow builders for the leaf columns and its own
// builders for the list, struct and map columns.
//
// arrow-go builds a nested array level by level: each level builds the
// complete arrays of the levels below it, their types again (StructOf at
// every level) and then keeps only their data, so that a schema with about
// two hundred nested arrays costs thousands of allocations per batch,
// whatever its rows. Here each leaf array is built once, the nested levels
// are assembled from its data with array.NewData, and each column's array
// is made once, at the top. The types are the schema's, built once.
//
// A nested level that has no null has no validity buffer: arrow builders
// give it one with every bit set, which means the same (the IPC writer
// drops it).
type batchBuilder struct {
	schema *arrow.Schema
	cols   []column
	fields []any
}

// column is a builder of one array, at any level of the schema.
type column interface {
	// handle is what the signal builders append to: an arrow builder for a
	// leaf, else a *listCol, *structCol or *mapCol.
	handle() any
	len() int
	reserve(n int)
	appendNulls(n int)
	// newData returns the data of everything appended and resets the
	// builder; the caller releases it.
	newData() arrow.ArrayData
	// newArray is newData as an array.
	newArray() arrow.Array
	release()
}

// newBatchBuilder returns a builder of batches of schema on mem.
func newBatchBuilder(mem memory.Allocator, schema *arrow.Schema) *batchBuilder {
	b := &batchBuilder{schema: schema, cols: make([]column, schema.NumFields()), fields: make([]any, schema.NumFields())}
	for i := range b.cols {
		b.cols[i] = newColumn(mem, schema.Field(i).Type)
		b.fields[i] = b.cols[i].handle()
	}
	return b
}

func newColumn(mem memory.Allocator, dt arrow.DataType) column {
	switch t := dt.(type) {
	case *arrow.MapType:
		return &mapCol{mem: mem, typ: t,
			keys:  &leafCol{b: array.NewBuilder(mem, t.KeyType())},
			items: &leafCol{b: array.NewBuilder(mem, t.ItemType())}}
	case *arrow.ListType:
		return &listCol{mem: mem, typ: t, values: newColumn(mem, t.Elem())}
	case *arrow.StructType:
		s := &structCol{mem: mem, typ: t, fields: make([]column, t.NumFields()), handles: make([]any, t.NumFields())}
		for i := range s.fields {
			s.fields[i] = newColumn(mem, t.Field(i).Type)
			s.handles[i] = s.fields[i].handle()
		}
		return s
	}
	return &leafCol{b: array.NewBuilder(mem, dt)}
}

// Fields returns the builders of the top-level columns, in schema order:
// an arrow builder for a leaf column, else a *listCol, *structCol or
// *mapCol.
func (b *batchBuilder) Fields() []any { return b.fields }

// Reserve makes room for n more rows in the top-level columns.
func (b *batchBuilder) Reserve(n int) {
	for _, c := range b.cols {
		c.reserve(n)
	}
}

// NewRecordBatch returns the batch of everything appended and resets the
// builders (but not the dictionaries' memo tables, as with
// array.RecordBuilder). It panics, as array.NewRecordBatch does, when the
// columns have different lengths.
func (b *batchBuilder) NewRecordBatch() arrow.RecordBatch {
	cols := make([]arrow.Array, len(b.cols))
	for i, c := range b.cols {
		cols[i] = c.newArray()
	}
	rows := 0
	if len(cols) > 0 {
		rows = cols[0].Len()
	}
	rec := array.NewRecordBatch(b.schema, cols, int64(rows))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// Release frees the memory the builders hold.
func (b *batchBuilder) Release() {
	for _, c := range b.cols {
		c.release()
	}
}

// leafCol is a column of an arrow builder.
type leafCol struct {
	b array.Builder
	// empty is the data of an empty array from the builder with nothing
	// reserved, made once: many nested leaves are empty (the maps of the
	// attribute kinds a request does not have, the fields of lists no row
	// has items in), and arrays are immutable.
	empty arrow.ArrayData
}

func (c *leafCol) handle() any { return c.b }
func (c *leafCol) len() int    { return c.b.Len() }

// reserve reserves room for n more values. Reserve(0) is not passed on: it
// gives an empty builder an empty bitmap buffer, after which the builder
// grows its bitmap (and the IPC bytes of its arrays) otherwise.
func (c *leafCol) reserve(n int) {
	if n > 0 {
		c.b.Reserve(n)
	}
}

func (c *leafCol) appendNulls(n int)     { c.b.AppendNulls(n) }
func (c *leafCol) newArray() arrow.Array { return c.b.NewArray() }

func (c *leafCol) release() {
	c.b.Release()
	if c.empty != nil {
		c.empty.Release()
		c.empty = nil
	}
}

func (c *leafCol) newData() arrow.ArrayData {
	// A builder without capacity holds no buffers: it is left as it is.
	// One that has some is reset (by NewArray), so that it does not keep
	// the memory of a large request in the pool.
	unused := c.b.Len() == 0 && c.b.Cap() == 0
	if unused && c.empty != nil {
		c.empty.Retain()
		return c.empty
	}
	arr := c.b.NewArray()
	defer arr.Release()
	d := arr.Data()
	d.Retain()
	if unused {
		d.Retain()
		c.empty = d
	}
	return d
}

// validity is the validity bitmap of a nested column being built.
type validity struct {
	bits  []byte
	n     int
	nulls int
}

func (v *validity) grow(n int) {
	if need := int(bitutil.BytesForBits(int64(v.n+n))) - len(v.bits); need > 0 {
		v.bits = slices.Grow(v.bits, need)
	}
}

func (v *validity) append(ok bool) {
	if v.n&7 == 0 {
		v.bits = append(v.bits, 0)
	}
	if ok {
		v.bits[v.n>>3] |= 1 << (v.n & 7)
	} else {
		v.nulls++
	}
	v.n++
}

func (v *validity) appendN(ok bool, n int) {
	if n <= 0 {
		return
	}
	if need := int(bitutil.BytesForBits(int64(v.n+n))) - len(v.bits); need > 0 {
		v.bits = append(v.bits, make([]byte, need)...)
	}
	if ok {
		bitutil.SetBitsTo(v.bits, int64(v.n), int64(n), true)
	} else {
		v.nulls += n
	}
	v.n += n
}

// buffer returns the bitmap on mem, or nil when there is no null. It is
// as long as the bitmap of an arrow builder reserved for its rows at once,
// which the IPC writer writes whole, so that the IPC bytes stay those
// array.RecordBuilder gave.
func (v *validity) buffer(mem memory.Allocator) *memory.Buffer {
	if v.nulls == 0 {
		return nil
	}
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(max(bitutil.NextPowerOf2(v.n), 32) / 8)
	copy(buf.Bytes(), v.bits)
	return buf
}

func (v *validity) reset() {
	v.bits = keepScratch(v.bits)
	v.n, v.nulls = 0, 0
}

// rangeRows are the rows of a list or a map column: a validity bit and
// the offset of each row's first child (a list's value, a map's entry).
type rangeRows struct {
	offsets []int32
	valid   validity
}

// start appends a row (a null one unless v) whose children start at at.
func (r *rangeRows) start(at int, v bool) {
	r.offsets = append(r.offsets, int32(at))
	r.valid.append(v)
}

// startNulls appends n null rows at at.
func (r *rangeRows) startNulls(at, n int) {
	for range n {
		r.offsets = append(r.offsets, int32(at))
	}
	r.valid.appendN(false, n)
}

// startEach appends n valid rows of size children each, the first at at.
func (r *rangeRows) startEach(at, n, size int) {
	for i := range n {
		r.offsets = append(r.offsets, int32(at+i*size))
	}
	r.valid.appendN(true, n)
}

// reserve makes room for n more rows.
func (r *rangeRows) reserve(n int) {
	r.offsets = slices.Grow(r.offsets, n)
	r.valid.grow(n)
}

func (r *rangeRows) len() int { return r.valid.n }

// take returns the validity bitmap (nil without nulls) and the offsets,
// followed by end, on mem, with the number of rows and of nulls, and
// resets the rows.
func (r *rangeRows) take(mem memory.Allocator, end int) (bits, offs *memory.Buffer, n, nulls int) {
	bits = r.valid.buffer(mem)
	offs = memory.NewResizableBuffer(mem)
	offs.Resize(arrow.Int32Traits.BytesRequired(len(r.offsets) + 1))
	o := arrow.Int32Traits.CastFromBytes(offs.Bytes())
	copy(o, r.offsets)
	o[len(r.offsets)] = int32(end)
	n, nulls = r.valid.n, r.valid.nulls
	r.offsets = keepScratch(r.offsets)
	r.valid.reset()
	return bits, offs, n, nulls
}

// listCol builds a list column: its rows are ranges of its values.
type listCol struct {
	mem    memory.Allocator
	typ    *arrow.ListType
	values column
	rows   rangeRows
}

// Append starts a row (a null one unless v), whose values are appended to
// the value builder next.
func (l *listCol) Append(v bool) { l.rows.start(l.values.len(), v) }

// AppendNull appends a null row.
func (l *listCol) AppendNull() { l.Append(false) }

// AppendNulls appends n null rows.
func (l *listCol) AppendNulls(n int) { l.rows.startNulls(l.values.len(), n) }

// Reserve makes room for n more rows (not their values).
func (l *listCol) Reserve(n int) { l.rows.reserve(n) }

// ValueBuilder returns the builder of the values: an arrow builder or a
// *structCol.
func (l *listCol) ValueBuilder() any { return l.values.handle() }

func (l *listCol) handle() any       { return l }
func (l *listCol) len() int          { return l.rows.len() }
func (l *listCol) reserve(n int)     { l.Reserve(n) }
func (l *listCol) appendNulls(n int) { l.AppendNulls(n) }
func (l *listCol) release()          { l.values.release() }

func (l *listCol) newData() arrow.ArrayData {
	bits, offs, n, nulls := l.rows.take(l.mem, l.values.len())
	defer offs.Release()
	if bits != nil {
		defer bits.Release()
	}
	vals := l.values.newData()
	defer vals.Release()
	return array.NewData(l.typ, n, []*memory.Buffer{bits, offs}, []arrow.ArrayData{vals}, nulls, 0)
}

func (l *listCol) newArray() arrow.Array { return makeArray(l.newData()) }

// structCol builds a struct column: a row of each of its fields.
type structCol struct {
	mem     memory.Allocator
	typ     *arrow.StructType
	fields  []column
	handles []any
	valid   validity
}

// Append appends a row (a null one unless v); the fields are appended to
// separately, except that a null row appends a null to each, as with
// array.StructBuilder.
func (s *structCol) Append(v bool) {
	s.valid.append(v)
	if !v {
		for _, f := range s.fields {
			f.appendNulls(1)
		}
	}
}

// AppendNull appends a null row.
func (s *structCol) AppendNull() { s.Append(false) }

// AppendNulls appends n null rows.
func (s *structCol) AppendNulls(n int) {
	s.valid.appendN(false, n)
	for _, f := range s.fields {
		f.appendNulls(n)
	}
}

// Reserve makes room for n more rows, in the fields too.
func (s *structCol) Reserve(n int) {
	s.valid.grow(n)
	for _, f := range s.fields {
		f.reserve(n)
	}
}

// Fields returns the builders of the fields: arrow builders, or *listCol,
// *structCol or *mapCol.
func (s *structCol) Fields() []any { return s.handles }

func (s *structCol) handle() any       { return s }
func (s *structCol) len() int          { return s.valid.n }
func (s *structCol) reserve(n int)     { s.Reserve(n) }
func (s *structCol) appendNulls(n int) { s.AppendNulls(n) }

func (s *structCol) release() {
	for _, f := range s.fields {
		f.release()
	}
}

func (s *structCol) newData() arrow.ArrayData {
	bits := s.valid.buffer(s.mem)
	if bits != nil {
		defer bits.Release()
	}
	children := make([]arrow.ArrayData, len(s.fields))
	for i, f := range s.fields {
		children[i] = f.newData()
	}
	d := array.NewData(s.typ, s.valid.n, []*memory.Buffer{bits}, children, s.valid.nulls, 0)
	for _, c := range children {
		c.Release()
	}
	s.valid.reset()
	return d
}

func (s *structCol) newArray() arrow.Array { return makeArray(s.newData()) }

// mapCol builds a map column. Its rows are ranges of its entries: a row is
// started (Append, AppendNulls, appendRows), then its entries' keys and
// items are appended to the two arrow builders.
type mapCol struct {
	mem   memory.Allocator
	typ   *arrow.MapType
	keys  *leafCol
	items *leafCol
	rows  rangeRows
}

// KeyBuilder returns the builder of the entries' keys.
func (m *mapCol) KeyBuilder() array.Builder { return m.keys.b }

// ItemBuilder returns the builder of the entries' items.
func (m *mapCol) ItemBuilder() array.Builder { return m.items.b }

// Append starts a row (a null one unless v) at the next entry.
func (m *mapCol) Append(v bool) { m.rows.start(m.keys.len(), v) }

// AppendNull appends a null row.
func (m *mapCol) AppendNull() { m.Append(false) }

// appendRows starts n rows of size entries each at the next entry; their
// entries are appended next.
func (m *mapCol) appendRows(n, size int) {
	m.rows.startEach(m.keys.len(), n, size)
}

// AppendNulls appends n null rows.
func (m *mapCol) AppendNulls(n int) { m.rows.startNulls(m.keys.len(), n) }

// Reserve makes room for n more rows (not their entries).
func (m *mapCol) Reserve(n int) { m.rows.reserve(n) }

func (m *mapCol) handle() any       { return m }
func (m *mapCol) len() int          { return m.rows.len() }
func (m *mapCol) reserve(n int)     { m.Reserve(n) }
func (m *mapCol) appendNulls(n int) { m.AppendNulls(n) }

func (m *mapCol) release() {
	m.keys.release()
	m.items.release()
}

// mapParts holds the slices a map's data and its entries' data keep, in
// one allocation.
type mapParts struct {
	bufs        [2]*memory.Buffer
	entryBufs   [1]*memory.Buffer
	entries     [1]arrow.ArrayData
	keysAndItem [2]arrow.ArrayData
}

func (m *mapCol) newData() arrow.ArrayData {
	entries := m.keys.len()
	p := new(mapParts)
	bits, offs, n, nulls := m.rows.take(m.mem, entries)
	p.bufs = [2]*memory.Buffer{bits, offs}
	p.keysAndItem[0] = m.keys.newData()
	p.keysAndItem[1] = m.items.newData()
	p.entries[0] = array.NewData(m.typ.Elem(), entries, p.entryBufs[:], p.keysAndItem[:], 0, 0)
	d := array.NewData(m.typ, n, p.bufs[:], p.entries[:], nulls, 0)
	// NewData retained what it holds.
	for _, b := range p.bufs {
		if b != nil {
			b.Release()
		}
	}
	p.keysAndItem[0].Release()
	p.keysAndItem[1].Release()
	p.entries[0].Release()
	return d
}

func (m *mapCol) newArray() arrow.Array { return makeArray(m.newData()) }

// makeArray makes the array of d and releases d.
func makeArray(d arrow.ArrayData) arrow.Array {
	defer d.Release()
	return array.MakeFromData(d)
}
