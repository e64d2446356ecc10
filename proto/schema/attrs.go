package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"go.opentelemetry.io/collector/pdata/pcommon"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// Attribute sets are stored as six map columns, one per value kind, so that a
// query picks one attribute in one expression (attributes_str['http.route']).
// Arrays, key-value lists, empty values and values of kinds a map cannot hold
// go to the "_other" map as the OTLP JSON encoding of the AnyValue; a
// KeyValue without any value (a nil AnyValue), which pdata decodes as the
// empty value, is {} there too. Reading back, a null in that map is a
// KeyValue without a value.
//
// The six suffixes, in column order. Converting back, attributes come out
// grouped in this order, each group in its original order: that stable
// regrouping by kind is part of the documented normalization.
var attrSuffixes = [...]string{"str", "int", "double", "bool", "bytes", "other"}

const (
	kindStr = iota
	kindInt
	kindDouble
	kindBool
	kindBytes
	kindOther
	numAttrKinds
)

var attrItemTypes = [numAttrKinds]arrow.DataType{
	arrow.BinaryTypes.String,
	arrow.PrimitiveTypes.Int64,
	arrow.PrimitiveTypes.Float64,
	arrow.FixedWidthTypes.Boolean,
	arrow.BinaryTypes.Binary,
	arrow.BinaryTypes.String,
}

// attrFields returns the six map fields of an attribute set named
// <prefix>attributes_<kind>, e.g. resource_attributes_str.
func attrFields(name string) []arrow.Field {
	fs := make([]arrow.Field, numAttrKinds)
	for k := range numAttrKinds {
		fs[k] = arrow.Field{
			Name:     name + "_" + attrSuffixes[k],
			Type:     arrow.MapOf(arrow.BinaryTypes.String, attrItemTypes[k]),
			Nullable: true,
		}
	}
	return fs
}

// attrKind tells which map column holds v.
func attrKind(v *commonpb.AnyValue) int {
	if v == nil {
		return kindOther
	}
	switch v.Value.(type) {
	case *commonpb.AnyValue_StringValue:
		return kindStr
	case *commonpb.AnyValue_IntValue:
		return kindInt
	case *commonpb.AnyValue_DoubleValue:
		return kindDouble
	case *commonpb.AnyValue_BoolValue:
		return kindBool
	case *commonpb.AnyValue_BytesValue:
		return kindBytes
	}
	return kindOther
}

// pdataKind tells which map column holds v. pdata's empty value (an absent
// or empty AnyValue) is "other".
func pdataKind(v pcommon.Value) int {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return kindStr
	case pcommon.ValueTypeInt:
		return kindInt
	case pcommon.ValueTypeDouble:
		return kindDouble
	case pcommon.ValueTypeBool:
		return kindBool
	case pcommon.ValueTypeBytes:
		return kindBytes
	}
	return kindOther
}

// checkUTF8 rejects a string that is not valid UTF-8, naming its field:
// proto3 strings must be UTF-8, and so must Arrow utf8 columns, which other
// readers reject or mangle otherwise. pdata's decoder does not check.
func checkUTF8(field, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s contains invalid UTF-8", ErrInvalid, field)
	}
	return nil
}

// checkAttr checks an attribute's key and, for a string, its value.
// Values nested in arrays and lists are checked as they are encoded.
func checkAttr(k string, v pcommon.Value) error {
	if err := checkUTF8("attribute key", k); err != nil {
		return err
	}
	// The field is named only on failure: formatting it for every value
	// was a third of the metrics conversion's CPU.
	if v.Type() == pcommon.ValueTypeStr && !utf8.ValidString(v.Str()) {
		return fmt.Errorf("%w: attribute %q contains invalid UTF-8", ErrInvalid, k)
	}
	return nil
}

// attrBuilder appends attribute sets to six map builders.
//
// A map row is a validity bit and the offset of its first entry (kept by
// the mapCol), and its entries go to the map's key and item builders.
type attrBuilder struct {
	maps    [numAttrKinds]*mapCol
	keys    [numAttrKinds]*array.StringBuilder
	strs    *array.StringBuilder
	ints    *array.Int64Builder
	doubles *array.Float64Builder
	bools   *array.BooleanBuilder
	bytes   *array.BinaryBuilder
	other   *array.StringBuilder
	json    []byte // scratch for the JSON of "other" values
}

// newAttrBuilder takes the six map builders starting at index first of bs.
func newAttrBuilder(bs []any, first int) *attrBuilder {
	a := &attrBuilder{}
	for k := range numAttrKinds {
		a.maps[k] = bs[first+k].(*mapCol)
		a.keys[k] = a.maps[k].KeyBuilder().(*array.StringBuilder)
	}
	a.strs = a.maps[kindStr].ItemBuilder().(*array.StringBuilder)
	a.ints = a.maps[kindInt].ItemBuilder().(*array.Int64Builder)
	a.doubles = a.maps[kindDouble].ItemBuilder().(*array.Float64Builder)
	a.bools = a.maps[kindBool].ItemBuilder().(*array.BooleanBuilder)
	a.bytes = a.maps[kindBytes].ItemBuilder().(*array.BinaryBuilder)
	a.other = a.maps[kindOther].ItemBuilder().(*array.StringBuilder)
	return a
}

// startRow begins a row of kind k at the next entry.
func (a *attrBuilder) startRow(k int, valid bool) {
	a.maps[k].Append(valid)
}

// key appends an entry's key to kind k, first starting the row of that
// kind if seen (a bit per kind) says it has not been started.
func (a *attrBuilder) key(k int, seen uint8, key string) uint8 {
	if seen&(1<<k) == 0 {
		seen |= 1 << k
		a.startRow(k, true)
	}
	a.keys[k].Append(key)
	return seen
}

// appendMap adds one row holding m. A kind with no entries is a null map.
// Every key and string is checked to be valid UTF-8.
func (a *attrBuilder) appendMap(m pcommon.Map) error {
	var seen uint8
	for k, v := range m.All() {
		if err := checkAttr(k, v); err != nil {
			return err
		}
		switch v.Type() {
		case pcommon.ValueTypeStr:
			seen = a.key(kindStr, seen, k)
			a.strs.Append(v.Str())
		case pcommon.ValueTypeInt:
			seen = a.key(kindInt, seen, k)
			a.ints.Append(v.Int())
		case pcommon.ValueTypeDouble:
			seen = a.key(kindDouble, seen, k)
			a.doubles.Append(v.Double())
		case pcommon.ValueTypeBool:
			seen = a.key(kindBool, seen, k)
			a.bools.Append(v.Bool())
		case pcommon.ValueTypeBytes:
			seen = a.key(kindBytes, seen, k)
			a.bytes.Append(v.Bytes().AsRaw())
		default:
			seen = a.key(kindOther, seen, k)
			var err error
			if a.json, err = appendPdataJSON(a.json[:0], v); err != nil {
				return fmt.Errorf("attribute %q: %w", k, err)
			}
			a.other.BinaryBuilder.Append(a.json)
		}
	}
	for k := range numAttrKinds {
		if seen&(1<<k) == 0 {
			a.startRow(k, false)
		}
	}
	return nil
}

// attrSet is an attribute set classified once, to be appended to many
// rows (a resource's, a scope's, a metric's metadata): per kind its keys,
// and the values of each kind in order.
type attrSet struct {
	keys    [numAttrKinds][]string
	strs    []string
	ints    []int64
	doubles []float64
	bools   []bool
	bytes   [][]byte
	other   []string // OTLP JSON
}

// resetMap classifies m into s, reusing its memory, checking every key and
// string to be valid UTF-8.
func (s *attrSet) resetMap(m pcommon.Map) error {
	for k := range s.keys {
		s.keys[k] = s.keys[k][:0]
	}
	s.strs, s.ints, s.doubles = s.strs[:0], s.ints[:0], s.doubles[:0]
	s.bools, s.bytes, s.other = s.bools[:0], s.bytes[:0], s.other[:0]
	var js []byte
	for key, v := range m.All() {
		if err := checkAttr(key, v); err != nil {
			return err
		}
		k := pdataKind(v)
		s.keys[k] = append(s.keys[k], key)
		switch k {
		case kindStr:
			s.strs = append(s.strs, v.Str())
		case kindInt:
			s.ints = append(s.ints, v.Int())
		case kindDouble:
			s.doubles = append(s.doubles, v.Double())
		case kindBool:
			s.bools = append(s.bools, v.Bool())
		case kindBytes:
			s.bytes = append(s.bytes, v.Bytes().AsRaw())
		default:
			var err error
			if js, err = appendPdataJSON(js[:0], v); err != nil {
				return fmt.Errorf("attribute %q: %w", key, err)
			}
			s.other = append(s.other, string(js))
		}
	}
	return nil
}

// clear drops the references into the request, keeping the memory.
func (s *attrSet) clear() {
	for k := range s.keys {
		clear(s.keys[k][:cap(s.keys[k])])
		s.keys[k] = s.keys[k][:0]
	}
	clear(s.strs[:cap(s.strs)])
	clear(s.bytes[:cap(s.bytes)])
	clear(s.other[:cap(s.other)])
	s.strs, s.bytes, s.other = s.strs[:0], s.bytes[:0], s.other[:0]
	s.ints, s.doubles, s.bools = s.ints[:0], s.doubles[:0], s.bools[:0]
}

// appendSet adds n rows each holding the set s.
func (a *attrBuilder) appendSet(s *attrSet, n int) {
	for k := range numAttrKinds {
		keys := s.keys[k]
		if len(keys) == 0 {
			a.maps[k].AppendNulls(n)
			continue
		}
		a.maps[k].appendRows(n, len(keys))
		kb := a.keys[k]
		for range n {
			kb.AppendValues(keys, nil)
			switch k {
			case kindStr:
				a.strs.AppendValues(s.strs, nil)
			case kindInt:
				a.ints.AppendValues(s.ints, nil)
			case kindDouble:
				a.doubles.AppendValues(s.doubles, nil)
			case kindBool:
				a.bools.AppendValues(s.bools, nil)
			case kindBytes:
				a.bytes.AppendValues(s.bytes, nil)
			default:
				a.other.AppendValues(s.other, nil)
			}
		}
	}
}

// flush drops the scratch memory of a request, before the batch is built.
func (a *attrBuilder) flush() {
	a.json = keepScratch(a.json)
}

// maxScratch bounds the scratch memory (in elements) a pooled builder keeps
// between requests: more is dropped, so that one large batch does not stay
// allocated in the pool.
const maxScratch = 1 << 14

// keepScratch empties s for the next request.
func keepScratch[E any](s []E) []E {
	if cap(s) > maxScratch {
		return nil
	}
	return s[:0]
}

// attrCount sums what a run of attribute sets needs, so that builder
// capacity is reserved once instead of grown by doubling.
type attrCount struct {
	rows     int
	entries  [numAttrKinds]int
	keyBytes [numAttrKinds]int
	valBytes [numAttrKinds]int // string and bytes values
}

// addMap counts m as the attribute set of times rows.
func (c *attrCount) addMap(m pcommon.Map, times int) {
	c.rows += times
	for key, v := range m.All() {
		k := pdataKind(v)
		c.entries[k] += times
		c.keyBytes[k] += times * len(key)
		switch k {
		case kindStr:
			c.valBytes[k] += times * len(v.Str())
		case kindBytes:
			c.valBytes[k] += times * v.Bytes().Len()
		}
	}
}

// reserve makes room for the sets counted in c.
func (a *attrBuilder) reserve(c *attrCount) {
	for k := range numAttrKinds {
		a.maps[k].Reserve(c.rows)
		if c.entries[k] == 0 {
			continue
		}
		a.keys[k].Reserve(c.entries[k])
		a.maps[k].ItemBuilder().Reserve(c.entries[k])
		a.keys[k].ReserveData(c.keyBytes[k])
	}
	a.strs.ReserveData(c.valBytes[kindStr])
	a.bytes.ReserveData(c.valBytes[kindBytes])
}

// attrReader reads attribute sets back from six map arrays.
type attrReader struct {
	maps [numAttrKinds]*array.Map
}

// newAttrReader takes the six map columns of the attribute set name from
// cols. Missing columns read as empty.
func newAttrReader(cols colSet, name string) (attrReader, error) {
	var a attrReader
	for k := range numAttrKinds {
		col := name + "_" + attrSuffixes[k]
		c := cols.get(col)
		if c == nil {
			continue
		}
		m, ok := c.(*array.Map)
		if !ok {
			return a, fmt.Errorf("%w: column %s is %s, want a map", ErrInvalid, col, c.DataType())
		}
		a.maps[k] = m
	}
	return a, nil
}

// read returns the attributes of row i, grouped by kind (see attrSuffixes).
func (a attrReader) read(i int) ([]*commonpb.KeyValue, error) {
	var out []*commonpb.KeyValue
	for k := range numAttrKinds {
		m := a.maps[k]
		if m == nil || m.IsNull(i) {
			continue
		}
		start, end := m.ValueOffsets(i)
		if start == end {
			continue
		}
		keys, ok := m.Keys().(*array.String)
		if !ok {
			return nil, fmt.Errorf("%w: attribute keys are %s, want utf8", ErrInvalid, m.Keys().DataType())
		}
		items := m.Items()
		if out == nil {
			out = make([]*commonpb.KeyValue, 0, end-start)
		}
		for j := int(start); j < int(end); j++ {
			kv := &commonpb.KeyValue{Key: keys.Value(j)}
			v, err := readAttrItem(k, items, j)
			if err != nil {
				return nil, fmt.Errorf("attribute %q: %w", kv.Key, err)
			}
			kv.Value = v
			out = append(out, kv)
		}
	}
	return out, nil
}

func readAttrItem(kind int, items arrow.Array, j int) (*commonpb.AnyValue, error) {
	if kind != kindOther && items.IsNull(j) {
		return nil, fmt.Errorf("%w: null %s attribute value", ErrInvalid, attrSuffixes[kind])
	}
	switch kind {
	case kindStr:
		if s, ok := items.(*array.String); ok {
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s.Value(j)}}, nil
		}
	case kindInt:
		if s, ok := items.(*array.Int64); ok {
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: s.Value(j)}}, nil
		}
	case kindDouble:
		if s, ok := items.(*array.Float64); ok {
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: s.Value(j)}}, nil
		}
	case kindBool:
		if s, ok := items.(*array.Boolean); ok {
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: s.Value(j)}}, nil
		}
	case kindBytes:
		if s, ok := items.(*array.Binary); ok {
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: bytes.Clone(s.Value(j))}}, nil
		}
	default:
		s, ok := items.(*array.String)
		if !ok {
			break
		}
		if s.IsNull(j) {
			return nil, nil
		}
		return anyValueFromJSON(s.Value(j))
	}
	return nil, fmt.Errorf("%w: %s attribute values have type %s", ErrInvalid, attrSuffixes[kind], items.DataType())
}

// anyValueJSON is the OTLP JSON encoding of v (protojson: int64 as strings,
// bytes as base64, NaN and infinities as strings), compacted so that equal
// values always encode to equal bytes.
func anyValueJSON(v *commonpb.AnyValue) (string, error) {
	b, err := appendValueJSON(nil, v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// appendValueJSON appends anyValueJSON(v) to dst: written directly when
// appendAnyValueJSON can, through protojson otherwise.
func appendValueJSON(dst []byte, v *commonpb.AnyValue) ([]byte, error) {
	n := len(dst)
	out, ok := appendAnyValueJSON(dst, v)
	if ok {
		return out, nil
	}
	js, err := protoValueJSON(v)
	if err != nil {
		return dst, err
	}
	return append(out[:n], js...), nil
}

// protoValueJSON is anyValueJSON through protojson, the reference that
// appendAnyValueJSON agrees with.
func protoValueJSON(v *commonpb.AnyValue) ([]byte, error) {
	b, err := protojson.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode value as JSON: %w", err)
	}
	var buf bytes.Buffer
	if err := jsonCompact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// jsonCompact removes the insignificant (and, in protojson, deliberately
// unstable) white space from js.
func jsonCompact(dst *bytes.Buffer, js []byte) error {
	if err := json.Compact(dst, js); err != nil {
		return fmt.Errorf("compact JSON: %w", err)
	}
	return nil
}

func anyValueFromJSON(s string) (*commonpb.AnyValue, error) {
	v := &commonpb.AnyValue{}
	if err := protojson.Unmarshal([]byte(s), v); err != nil {
		return nil, fmt.Errorf("%w: value JSON %q: %v", ErrInvalid, truncate(s, 64), err)
	}
	return v, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// AnyValueString renders v for display: strings as they are, everything else
// as its OTLP JSON encoding. It is what `otlp-arrow cat` prints.
func AnyValueString(v *commonpb.AnyValue) string {
	if s, ok := v.GetValue().(*commonpb.AnyValue_StringValue); ok {
		return s.StringValue
	}
	js, err := anyValueJSON(v)
	if err != nil {
		return ""
	}
	return js
}
