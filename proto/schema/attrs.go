package schema

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// Attribute sets are stored as six map columns, one per value kind, so that a
// query picks one attribute in one expression (attributes_str['http.route']).
// Arrays, key-value lists, empty values and values of kinds a map cannot hold
// go to the "_other" map as the OTLP JSON encoding of the AnyValue; a
// KeyValue without any value (a nil AnyValue) is a null in that map.
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

// attrBuilder appends attribute sets to six map builders.
type attrBuilder struct {
	maps [numAttrKinds]*array.MapBuilder
}

// newAttrBuilder takes the six map builders starting at index first of bs.
func newAttrBuilder(bs []array.Builder, first int) attrBuilder {
	var a attrBuilder
	for k := range numAttrKinds {
		a.maps[k] = bs[first+k].(*array.MapBuilder)
	}
	return a
}

// structFieldBuilders returns the field builders of a struct builder.
func structFieldBuilders(sb *array.StructBuilder) []array.Builder {
	bs := make([]array.Builder, sb.NumField())
	for i := range bs {
		bs[i] = sb.FieldBuilder(i)
	}
	return bs
}

// append adds one row holding kvs. A kind with no entries is a null map.
func (a attrBuilder) append(kvs []*commonpb.KeyValue) error {
	var counts [numAttrKinds]int
	for _, kv := range kvs {
		counts[attrKind(kv.GetValue())]++
	}
	for k := range numAttrKinds {
		if counts[k] == 0 {
			a.maps[k].AppendNull()
		} else {
			a.maps[k].Append(true)
		}
	}
	for _, kv := range kvs {
		v := kv.GetValue()
		k := attrKind(v)
		mb := a.maps[k]
		mb.KeyBuilder().(*array.StringBuilder).Append(kv.GetKey())
		ib := mb.ItemBuilder()
		switch k {
		case kindStr:
			ib.(*array.StringBuilder).Append(v.GetStringValue())
		case kindInt:
			ib.(*array.Int64Builder).Append(v.GetIntValue())
		case kindDouble:
			ib.(*array.Float64Builder).Append(v.GetDoubleValue())
		case kindBool:
			ib.(*array.BooleanBuilder).Append(v.GetBoolValue())
		case kindBytes:
			ib.(*array.BinaryBuilder).Append(v.GetBytesValue())
		default:
			if v == nil {
				ib.AppendNull()
				continue
			}
			js, err := anyValueJSON(v)
			if err != nil {
				return fmt.Errorf("attribute %q: %w", kv.GetKey(), err)
			}
			ib.(*array.StringBuilder).Append(js)
		}
	}
	return nil
}

// attrCount sums what a run of attribute sets needs, so that builder
// capacity is reserved once instead of grown by doubling.
type attrCount struct {
	rows     int
	entries  [numAttrKinds]int
	keyBytes [numAttrKinds]int
	valBytes [numAttrKinds]int // string and bytes values
}

// add counts kvs as the attribute set of times rows.
func (c *attrCount) add(kvs []*commonpb.KeyValue, times int) {
	c.rows += times
	for _, kv := range kvs {
		v := kv.GetValue()
		k := attrKind(v)
		c.entries[k] += times
		c.keyBytes[k] += times * len(kv.GetKey())
		switch k {
		case kindStr:
			c.valBytes[k] += times * len(v.GetStringValue())
		case kindBytes:
			c.valBytes[k] += times * len(v.GetBytesValue())
		}
	}
}

// reserve makes room for the sets counted in c.
func (a attrBuilder) reserve(c *attrCount) {
	for k := range numAttrKinds {
		mb := a.maps[k]
		mb.Reserve(c.rows)
		if c.entries[k] == 0 {
			continue
		}
		mb.ValueBuilder().Reserve(c.entries[k])
		mb.KeyBuilder().(*array.StringBuilder).ReserveData(c.keyBytes[k])
		switch ib := mb.ItemBuilder().(type) {
		case *array.StringBuilder:
			ib.ReserveData(c.valBytes[k])
		case *array.BinaryBuilder:
			ib.ReserveData(c.valBytes[k])
		}
	}
}

// appendNull adds a row with no attribute set at all (all six maps null).
func (a attrBuilder) appendNull() {
	for k := range numAttrKinds {
		a.maps[k].AppendNull()
	}
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
	b, err := protojson.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode value as JSON: %w", err)
	}
	var buf bytes.Buffer
	if err := jsonCompact(&buf, b); err != nil {
		return "", err
	}
	return buf.String(), nil
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
