package seedspans

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// ErrInvalid is wrapped by every error caused by the schema or the data;
// the message names the column (and the row for data errors).
var ErrInvalid = errors.New("seedspans: invalid data")

// Column names of the flat span schema.
const (
	colTraceID       = "trace_id"
	colSpanID        = "span_id"
	colParentSpanID  = "parent_span_id"
	colName          = "name"
	colKind          = "kind"
	colStart         = "start_time_unix_nano"
	colEnd           = "end_time_unix_nano"
	colStatusCode    = "status_code"
	colStatusMessage = "status_message"
	colAttributes    = "attributes"
	colServiceName   = "service_name"
)

type colKindT int

const (
	kindID colKindT = iota
	kindString
	kindEnum
	kindTime
	kindJSON
)

var columns = map[string]colKindT{
	colTraceID: kindID, colSpanID: kindID, colParentSpanID: kindID,
	colName: kindString, colStatusMessage: kindString, colServiceName: kindString,
	colKind: kindEnum, colStatusCode: kindEnum,
	colStart: kindTime, colEnd: kindTime,
	colAttributes: kindJSON,
}

// Detect reports whether s looks like the flat span schema: it has one of
// the columns only that schema has (start_time_unix_nano,
// end_time_unix_nano, attributes). Check tells whether it is valid.
func Detect(s *arrow.Schema) bool {
	return s.HasField(colStart) || s.HasField(colEnd) || s.HasField(colAttributes)
}

// Check reports every column of s that is unknown or of an unaccepted type,
// in one error wrapping [ErrInvalid].
func Check(s *arrow.Schema) error {
	var errs []error
	seen := map[string]bool{}
	for _, f := range s.Fields() {
		k, ok := columns[f.Name]
		switch {
		case seen[f.Name]:
			errs = append(errs, fmt.Errorf("%w: column %q appears twice", ErrInvalid, f.Name))
		case !ok:
			errs = append(errs, fmt.Errorf("%w: unknown column %q in the flat span schema", ErrInvalid, f.Name))
		case !accepts(k, f.Type):
			errs = append(errs, fmt.Errorf("%w: column %q has type %s, want %s", ErrInvalid, f.Name, f.Type, want(k)))
		}
		seen[f.Name] = true
	}
	return errors.Join(errs...)
}

func isString(dt arrow.DataType) bool {
	return dt.ID() == arrow.STRING || dt.ID() == arrow.LARGE_STRING
}

func isStringLike(dt arrow.DataType) bool {
	if d, ok := dt.(*arrow.DictionaryType); ok {
		return isString(d.ValueType)
	}
	return isString(dt)
}

func isInteger(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

func accepts(k colKindT, dt arrow.DataType) bool {
	switch k {
	case kindID:
		switch dt.ID() {
		case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY, arrow.FIXED_SIZE_BINARY:
			return true
		}
	case kindString:
		return isStringLike(dt)
	case kindEnum:
		return isInteger(dt) || isStringLike(dt)
	case kindTime:
		return dt.ID() == arrow.UINT64 || dt.ID() == arrow.INT64 || dt.ID() == arrow.TIMESTAMP
	case kindJSON:
		return isString(dt)
	}
	return false
}

func want(k colKindT) string {
	switch k {
	case kindID:
		return "utf8 (hex) or binary"
	case kindString:
		return "utf8"
	case kindEnum:
		return "an integer or utf8"
	case kindTime:
		return "uint64, int64 or timestamp"
	}
	return "utf8 (JSON object)"
}

// ToOTLP converts the rows of rec, whose schema passed Check, to spans: one
// resource per service_name value, in order of first appearance, each with
// one scope without name.
func ToOTLP(rec arrow.RecordBatch) ([]*tracepb.ResourceSpans, error) {
	s := rec.Schema()
	col := func(name string) arrow.Array {
		if idx := s.FieldIndices(name); len(idx) > 0 {
			return rec.Column(idx[0])
		}
		return nil
	}
	var out []*tracepb.ResourceSpans
	index := map[string]int{}
	for i := range int(rec.NumRows()) {
		sp, err := span(col, i)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
		svc, hasSvc := stringAt(col(colServiceName), i)
		key := "\x00"
		if hasSvc {
			key = "=" + svc
		}
		r, ok := index[key]
		if !ok {
			r = len(out)
			index[key] = r
			res := &resourcepb.Resource{}
			if hasSvc {
				res.Attributes = []*commonpb.KeyValue{{Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: svc}}}}
			}
			out = append(out, &tracepb.ResourceSpans{Resource: res, ScopeSpans: []*tracepb.ScopeSpans{{}}})
		}
		ss := out[r].ScopeSpans[0]
		ss.Spans = append(ss.Spans, sp)
	}
	return out, nil
}

func span(col func(string) arrow.Array, i int) (*tracepb.Span, error) {
	var sp tracepb.Span
	var err error
	if sp.TraceId, err = idAt(col(colTraceID), i, 16, colTraceID); err != nil {
		return nil, err
	}
	if sp.SpanId, err = idAt(col(colSpanID), i, 8, colSpanID); err != nil {
		return nil, err
	}
	if sp.ParentSpanId, err = idAt(col(colParentSpanID), i, 8, colParentSpanID); err != nil {
		return nil, err
	}
	sp.Name, _ = stringAt(col(colName), i)
	kind, _, err := enumAt(col(colKind), i, tracepb.Span_SpanKind_value, "SPAN_KIND_", colKind)
	if err != nil {
		return nil, err
	}
	sp.Kind = tracepb.Span_SpanKind(kind)
	if sp.StartTimeUnixNano, err = timeAt(col(colStart), i, colStart); err != nil {
		return nil, err
	}
	if sp.EndTimeUnixNano, err = timeAt(col(colEnd), i, colEnd); err != nil {
		return nil, err
	}
	code, hasCode, err := enumAt(col(colStatusCode), i, tracepb.Status_StatusCode_value, "STATUS_CODE_", colStatusCode)
	if err != nil {
		return nil, err
	}
	msg, hasMsg := stringAt(col(colStatusMessage), i)
	if hasCode || hasMsg {
		sp.Status = &tracepb.Status{Code: tracepb.Status_StatusCode(code), Message: msg}
	}
	if js, ok := stringAt(col(colAttributes), i); ok && strings.TrimSpace(js) != "" {
		if sp.Attributes, err = attributes(js); err != nil {
			return nil, fmt.Errorf("%w: column %q: %w", ErrInvalid, colAttributes, err)
		}
	}
	return &sp, nil
}

// stringAt reads a string-like column; a missing column or null is false.
func stringAt(a arrow.Array, i int) (string, bool) {
	if a == nil || a.IsNull(i) {
		return "", false
	}
	switch c := a.(type) {
	case *array.String:
		return c.Value(i), true
	case *array.LargeString:
		return c.Value(i), true
	case *array.Dictionary:
		return stringAt(c.Dictionary(), c.GetValueIndex(i))
	}
	return "", false
}

func idAt(a arrow.Array, i, n int, name string) ([]byte, error) {
	if a == nil || a.IsNull(i) {
		return nil, nil
	}
	var b []byte
	switch c := a.(type) {
	case *array.String, *array.LargeString:
		s, _ := stringAt(c, i)
		if s == "" {
			return nil, nil
		}
		var err error
		if b, err = hex.DecodeString(s); err != nil {
			return nil, fmt.Errorf("%w: column %q: %q is not hex", ErrInvalid, name, s)
		}
	case *array.Binary:
		b = bytes.Clone(c.Value(i))
	case *array.LargeBinary:
		b = bytes.Clone(c.Value(i))
	case *array.FixedSizeBinary:
		b = bytes.Clone(c.Value(i))
	}
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) != n {
		return nil, fmt.Errorf("%w: column %q has %d bytes, want %d", ErrInvalid, name, len(b), n)
	}
	return b, nil
}

// enumAt reads an enum column as its number; names are looked up in names
// with or without prefix, in any case.
func enumAt(a arrow.Array, i int, names map[string]int32, prefix, name string) (int32, bool, error) {
	if a == nil || a.IsNull(i) {
		return 0, false, nil
	}
	if s, ok := stringAt(a, i); ok {
		u := strings.ToUpper(strings.TrimSpace(s))
		if v, ok := names[u]; ok {
			return v, true, nil
		}
		if v, ok := names[prefix+u]; ok {
			return v, true, nil
		}
		if v, err := strconv.ParseInt(u, 10, 32); err == nil {
			return int32(v), true, nil
		}
		return 0, false, fmt.Errorf("%w: column %q: unknown value %q", ErrInvalid, name, s)
	}
	v, err := intAt(a, i)
	if err != nil || v < math.MinInt32 || v > math.MaxInt32 {
		return 0, false, fmt.Errorf("%w: column %q: value out of range", ErrInvalid, name)
	}
	return int32(v), true, nil
}

func intAt(a arrow.Array, i int) (int64, error) {
	switch c := a.(type) {
	case *array.Int8:
		return int64(c.Value(i)), nil
	case *array.Int16:
		return int64(c.Value(i)), nil
	case *array.Int32:
		return int64(c.Value(i)), nil
	case *array.Int64:
		return c.Value(i), nil
	case *array.Uint8:
		return int64(c.Value(i)), nil
	case *array.Uint16:
		return int64(c.Value(i)), nil
	case *array.Uint32:
		return int64(c.Value(i)), nil
	case *array.Uint64:
		if c.Value(i) > math.MaxInt64 {
			return 0, fmt.Errorf("value %d out of range", c.Value(i))
		}
		return int64(c.Value(i)), nil
	}
	return 0, fmt.Errorf("type %s is not an integer", a.DataType())
}

func timeAt(a arrow.Array, i int, name string) (uint64, error) {
	if a == nil || a.IsNull(i) {
		return 0, nil
	}
	switch c := a.(type) {
	case *array.Uint64:
		return c.Value(i), nil
	case *array.Int64:
		if c.Value(i) < 0 {
			return 0, fmt.Errorf("%w: column %q: negative time %d", ErrInvalid, name, c.Value(i))
		}
		return uint64(c.Value(i)), nil
	case *array.Timestamp:
		unit := c.DataType().(*arrow.TimestampType).Unit
		v := int64(c.Value(i))
		mul := int64(unit.Multiplier())
		if v < 0 || v > math.MaxInt64/mul {
			return 0, fmt.Errorf("%w: column %q: time %d %s out of range", ErrInvalid, name, v, unit)
		}
		return uint64(v * mul), nil
	}
	return 0, fmt.Errorf("%w: column %q has type %s", ErrInvalid, name, a.DataType())
}

// attributes parses a JSON object into key-values, keeping the keys' order.
func attributes(js string) ([]*commonpb.KeyValue, error) {
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("want a JSON object")
	}
	kvs, err := object(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON object")
	}
	return kvs, nil
}

// object reads the members of an object whose '{' was read, and its '}'.
func object(dec *json.Decoder) ([]*commonpb.KeyValue, error) {
	var kvs []*commonpb.KeyValue
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		v, err := value(dec)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
		if v != nil {
			kvs = append(kvs, &commonpb.KeyValue{Key: key, Value: v})
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, err
	}
	return kvs, nil
}

// value reads one JSON value; null is nil.
func value(dec *json.Decoder) (*commonpb.AnyValue, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return nil, nil
	case string:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: t}}, nil
	case bool:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: t}}, nil
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: n}}, nil
		}
		f, err := t.Float64()
		if err != nil {
			return nil, err
		}
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}, nil
	case json.Delim:
		switch t {
		case '{':
			kvs, err := object(dec)
			if err != nil {
				return nil, err
			}
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: kvs}}}, nil
		case '[':
			var vals []*commonpb.AnyValue
			for dec.More() {
				v, err := value(dec)
				if err != nil {
					return nil, err
				}
				if v == nil {
					v = &commonpb.AnyValue{}
				}
				vals = append(vals, v)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, err
			}
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vals}}}, nil
		}
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}
