package schema

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The v2 layout of the files (traces/v2, docs/schema.md) is the v1 schema
// with every string dictionary-encoded, at any depth: the keys and the
// string values of every attribute map (resource, scope, span, event and
// link attributes), event names, trace states, status messages. The columns,
// their names and their nesting are v1's, so one attribute stays one
// expression (attributes_str['http.route']) and a reader that decodes
// dictionaries (all the Arrow readers do) sees the same values. What it
// saves: a batch stores each distinct key and string once, and a row holds
// small integer indices that zstd compresses far better than repeated text.
// The bus keeps v1; the writer turns a v1 batch into v2 right before it is
// written (ToV2), and our readers turn it back (FromV2).

// SchemaKey is the schema metadata key that marks a file's schema version
// when it is not v1: "traces/v2". A schema without it is v1.
const SchemaKey = "otlp.schema"

// V2 returns the v2 schema version of sig, for example "traces/v2".
func (s Signal) V2() string { return string(s) + "/v2" }

// V2Schema returns the v2 schema of a v1 schema of sig: every utf8 type,
// nested ones included, becomes dictionary<int32, utf8>, and the metadata
// carries SchemaKey.
func V2Schema(sig Signal, v1 *arrow.Schema) *arrow.Schema {
	fs := make([]arrow.Field, v1.NumFields())
	for i, f := range v1.Fields() {
		f.Type = v2Type(f.Type)
		fs[i] = f
	}
	md := arrow.NewMetadata([]string{SchemaKey}, []string{sig.V2()})
	return arrow.NewSchema(fs, &md)
}

// SchemaVersion returns the schema version a file's schema declares
// (SchemaKey), or sig's v1 version when it declares none.
func SchemaVersion(sig Signal, s *arrow.Schema) string {
	if v, ok := s.Metadata().GetValue(SchemaKey); ok {
		return v
	}
	return sig.Version()
}

// ErrUnknownVersion is returned for a file whose schema declares a version
// (SchemaKey) this build does not read.
var ErrUnknownVersion = errors.New("schema: unknown schema version")

// CheckVersion returns nil when s is a schema this build reads: one without
// SchemaKey (v1) or a v2 one; otherwise an error wrapping
// ErrUnknownVersion that names the version.
func CheckVersion(s *arrow.Schema) error {
	v, ok := s.Metadata().GetValue(SchemaKey)
	if !ok {
		return nil
	}
	if _, ok := IsV2(s); ok {
		return nil
	}
	return fmt.Errorf("%w %q: this build reads v1 and v2 files; a newer otlp-arrow reads it", ErrUnknownVersion, v)
}

// IsV2 reports whether s is a v2 file schema, and of which signal.
func IsV2(s *arrow.Schema) (Signal, bool) {
	v, ok := s.Metadata().GetValue(SchemaKey)
	if !ok {
		return "", false
	}
	for _, sig := range Signals {
		if v == sig.V2() {
			return sig, true
		}
	}
	return "", false
}

// v2Type is dt with every utf8 dictionary-encoded.
func v2Type(dt arrow.DataType) arrow.DataType {
	switch t := dt.(type) {
	case *arrow.StringType:
		return DictString
	case *arrow.MapType:
		m := arrow.MapOf(v2Type(t.KeyType()), v2Type(t.ItemType()))
		m.KeysSorted = t.KeysSorted
		m.SetItemNullable(t.ItemField().Nullable)
		return m
	case *arrow.ListType:
		f := t.ElemField()
		f.Type = v2Type(f.Type)
		return arrow.ListOfField(f)
	case *arrow.StructType:
		fs := t.Fields()
		for i := range fs {
			fs[i].Type = v2Type(fs[i].Type)
		}
		return arrow.StructOf(fs...)
	}
	return dt
}

// ToV2 returns rec, a batch of sig's v1 schema, in the v2 layout of
// V2Schema(sig, rec.Schema()). The caller releases the result. Arrays that do
// not change are shared with rec, not copied.
func ToV2(mem memory.Allocator, sig Signal, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	return convertBatch(mem, rec, V2Schema(sig, rec.Schema()))
}

// FromV2 returns rec, a batch of a v2 file, in the v1 schema of its signal
// (Schema(sig)), as the v1 readers (TracesFromArrow, ...) and tools expect
// it. A v1 batch is returned as it is, retained. The caller releases the
// result. It fails with ErrUnknownVersion for a schema version this build
// does not know (a later layout is never misread as v1), and with
// ErrInvalid when a v2 column does not match the v1 column of its name.
func FromV2(mem memory.Allocator, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if err := CheckVersion(rec.Schema()); err != nil {
		return nil, err
	}
	sig, ok := IsV2(rec.Schema())
	if !ok {
		rec.Retain()
		return rec, nil
	}
	return convertBatch(mem, rec, V1Schema(sig, rec.Schema()))
}

// V1Schema returns the v1 schema of a v2 file schema of sig: each column
// takes the type of the v1 column of its name (a column v1 does not know
// keeps its type), and the metadata is dropped.
func V1Schema(sig Signal, v2 *arrow.Schema) *arrow.Schema {
	v1 := Schema(sig)
	fs := make([]arrow.Field, v2.NumFields())
	for i, f := range v2.Fields() {
		if idx := v1.FieldIndices(f.Name); len(idx) > 0 {
			f = v1.Field(idx[0])
		}
		fs[i] = f
	}
	return arrow.NewSchema(fs, nil)
}

// convertBatch converts every column of rec to the type of its field in to.
func convertBatch(mem memory.Allocator, rec arrow.RecordBatch, to *arrow.Schema) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, col := range rec.Columns() {
		d, err := convertData(mem, col.Data(), to.Field(i).Type)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", to.Field(i).Name, err)
		}
		cols[i] = array.MakeFromData(d)
		d.Release()
	}
	return array.NewRecordBatch(to, cols, rec.NumRows()), nil
}

// convertData returns d as type to: utf8 and dictionary<int32, utf8> convert
// into each other, and maps, lists and structs convert their children,
// keeping their own buffers (validity, offsets). The caller releases the
// result.
func convertData(mem memory.Allocator, d arrow.ArrayData, to arrow.DataType) (arrow.ArrayData, error) {
	from := d.DataType()
	if arrow.TypeEqual(from, to) {
		d.Retain()
		return d, nil
	}
	switch from.ID() {
	case arrow.STRING:
		if dt, ok := to.(*arrow.DictionaryType); ok && dt.ValueType.ID() == arrow.STRING {
			return encodeDict(mem, d, dt)
		}
	case arrow.DICTIONARY:
		if to.ID() == arrow.STRING {
			return decodeDict(mem, d)
		}
	case arrow.MAP, arrow.LIST, arrow.STRUCT:
		if from.ID() != to.ID() {
			break
		}
		var childTypes []arrow.DataType
		switch t := to.(type) {
		case *arrow.MapType:
			childTypes = []arrow.DataType{t.Elem()}
		case *arrow.ListType:
			childTypes = []arrow.DataType{t.Elem()}
		case *arrow.StructType:
			for _, f := range t.Fields() {
				childTypes = append(childTypes, f.Type)
			}
		}
		in := d.Children()
		if len(in) != len(childTypes) {
			break
		}
		children := make([]arrow.ArrayData, len(in))
		defer func() {
			for _, c := range children {
				if c != nil {
					c.Release()
				}
			}
		}()
		for i, c := range in {
			out, err := convertData(mem, c, childTypes[i])
			if err != nil {
				return nil, err
			}
			children[i] = out
		}
		return array.NewData(to, d.Len(), d.Buffers(), children, d.NullN(), d.Offset()), nil
	}
	return nil, fmt.Errorf("%w: %s cannot become %s", ErrInvalid, from, to)
}

// encodeDict dictionary-encodes the strings of d.
func encodeDict(mem memory.Allocator, d arrow.ArrayData, dt *arrow.DictionaryType) (arrow.ArrayData, error) {
	s := array.NewStringData(d)
	defer s.Release()
	b := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
	defer b.Release()
	b.Reserve(s.Len())
	for i := range s.Len() {
		if s.IsNull(i) {
			b.AppendNull()
			continue
		}
		// Append, not AppendString: the memo table copies what it keeps,
		// so the bytes need not be copied out of the array first.
		v := s.Value(i)
		if err := b.Append(unsafe.Slice(unsafe.StringData(v), len(v))); err != nil {
			return nil, fmt.Errorf("dictionary-encode: %w", err)
		}
	}
	a := b.NewArray()
	defer a.Release()
	out := a.Data()
	out.Retain()
	return out, nil
}

// decodeDict turns a dictionary of strings back into plain strings.
func decodeDict(mem memory.Allocator, d arrow.ArrayData) (arrow.ArrayData, error) {
	a := array.MakeFromData(d).(*array.Dictionary)
	defer a.Release()
	dict, ok := a.Dictionary().(*array.String)
	if !ok {
		return nil, fmt.Errorf("%w: a dictionary of %s, want utf8", ErrInvalid, a.Dictionary().DataType())
	}
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.Reserve(a.Len())
	for i := range a.Len() {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		b.Append(dict.Value(a.GetValueIndex(i)))
	}
	s := b.NewArray()
	defer s.Release()
	out := s.Data()
	out.Retain()
	return out, nil
}
