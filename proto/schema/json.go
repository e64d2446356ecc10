package schema

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
)

// appendAnyValueJSON appends the compact OTLP JSON encoding of v to dst,
// exactly as protojson followed by jsonCompact writes it, without
// protojson's reflection and allocations. It returns false, with dst
// possibly extended, for what it leaves to protojson: invalid UTF-8 (an
// error there), nil messages inside arrays and lists, string indexes, and
// oneof cases it does not know. The caller then discards what was appended
// and calls anyValueJSON.
func appendAnyValueJSON(dst []byte, v *commonpb.AnyValue) ([]byte, bool) {
	if v == nil {
		return dst, false
	}
	switch x := v.Value.(type) {
	case nil:
		return append(dst, "{}"...), true
	case *commonpb.AnyValue_StringValue:
		dst = append(dst, `{"stringValue":`...)
		var ok bool
		if dst, ok = appendJSONString(dst, x.StringValue); !ok {
			return dst, false
		}
	case *commonpb.AnyValue_BoolValue:
		if x.BoolValue {
			return append(dst, `{"boolValue":true}`...), true
		}
		return append(dst, `{"boolValue":false}`...), true
	case *commonpb.AnyValue_IntValue:
		// 64-bit integers are JSON strings.
		dst = append(dst, `{"intValue":"`...)
		dst = strconv.AppendInt(dst, x.IntValue, 10)
		dst = append(dst, '"')
	case *commonpb.AnyValue_DoubleValue:
		dst = append(dst, `{"doubleValue":`...)
		dst = appendJSONFloat(dst, x.DoubleValue)
	case *commonpb.AnyValue_BytesValue:
		dst = append(dst, `{"bytesValue":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, x.BytesValue)
		dst = append(dst, '"')
	case *commonpb.AnyValue_ArrayValue:
		if x.ArrayValue == nil {
			return dst, false
		}
		dst = append(dst, `{"arrayValue":{`...)
		if vals := x.ArrayValue.Values; len(vals) > 0 {
			dst = append(dst, `"values":[`...)
			for i, e := range vals {
				if i > 0 {
					dst = append(dst, ',')
				}
				var ok bool
				if dst, ok = appendAnyValueJSON(dst, e); !ok {
					return dst, false
				}
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	case *commonpb.AnyValue_KvlistValue:
		if x.KvlistValue == nil {
			return dst, false
		}
		dst = append(dst, `{"kvlistValue":{`...)
		if kvs := x.KvlistValue.Values; len(kvs) > 0 {
			dst = append(dst, `"values":[`...)
			for i, kv := range kvs {
				if i > 0 {
					dst = append(dst, ',')
				}
				var ok bool
				if dst, ok = appendKeyValueJSON(dst, kv); !ok {
					return dst, false
				}
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	default:
		return dst, false
	}
	return append(dst, '}'), true
}

// appendKeyValueJSON appends a KeyValue: its fields in field-number order,
// the unset ones left out.
func appendKeyValueJSON(dst []byte, kv *commonpb.KeyValue) ([]byte, bool) {
	if kv == nil || kv.KeyStrindex != 0 {
		return dst, false
	}
	dst = append(dst, '{')
	var ok bool
	if kv.Key != "" {
		dst = append(dst, `"key":`...)
		if dst, ok = appendJSONString(dst, kv.Key); !ok {
			return dst, false
		}
	}
	if kv.Value != nil {
		if kv.Key != "" {
			dst = append(dst, ',')
		}
		dst = append(dst, `"value":`...)
		if dst, ok = appendAnyValueJSON(dst, kv.Value); !ok {
			return dst, false
		}
	}
	return append(dst, '}'), true
}

// appendJSONString quotes s as protojson does: only '"', '\\' and control
// characters are escaped (\b \f \n \r \t by name, the others as \u00XX),
// everything else is copied. It returns false for invalid UTF-8, which
// protojson rejects.
func appendJSONString(dst []byte, s string) ([]byte, bool) {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return dst, false
			}
			i += n
			continue
		}
		if c >= ' ' && c != '"' && c != '\\' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			const hex = "0123456789abcdef"
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), true
}

// appendJSONFloat formats a double as protojson does (which follows
// encoding/json): NaN and the infinities as strings, exponent notation
// below 1e-6 and from 1e21 on, with a two-digit negative exponent
// shortened to one.
func appendJSONFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// appendPdataJSON appends the compact OTLP JSON encoding of v to dst, the
// bytes anyValueJSON gives for the same AnyValue: fields in field-number
// order, unset ones left out, 64-bit integers as strings, bytes as base64.
// pdata's empty value (an absent or empty AnyValue) is {}. Strings that are
// not valid UTF-8 are an error.
func appendPdataJSON(dst []byte, v pcommon.Value) ([]byte, error) {
	var ok bool
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return append(dst, "{}"...), nil
	case pcommon.ValueTypeStr:
		dst = append(dst, `{"stringValue":`...)
		if dst, ok = appendJSONString(dst, v.Str()); !ok {
			return dst, fmt.Errorf("%w: string value contains invalid UTF-8", ErrInvalid)
		}
	case pcommon.ValueTypeBool:
		if v.Bool() {
			return append(dst, `{"boolValue":true}`...), nil
		}
		return append(dst, `{"boolValue":false}`...), nil
	case pcommon.ValueTypeInt:
		dst = append(dst, `{"intValue":"`...)
		dst = strconv.AppendInt(dst, v.Int(), 10)
		dst = append(dst, '"')
	case pcommon.ValueTypeDouble:
		dst = append(dst, `{"doubleValue":`...)
		dst = appendJSONFloat(dst, v.Double())
	case pcommon.ValueTypeBytes:
		dst = append(dst, `{"bytesValue":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, v.Bytes().AsRaw())
		dst = append(dst, '"')
	case pcommon.ValueTypeSlice:
		dst = append(dst, `{"arrayValue":{`...)
		if sl := v.Slice(); sl.Len() > 0 {
			dst = append(dst, `"values":[`...)
			for i := range sl.Len() {
				if i > 0 {
					dst = append(dst, ',')
				}
				var err error
				if dst, err = appendPdataJSON(dst, sl.At(i)); err != nil {
					return dst, err
				}
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	case pcommon.ValueTypeMap:
		dst = append(dst, `{"kvlistValue":{`...)
		if m := v.Map(); m.Len() > 0 {
			dst = append(dst, `"values":[`...)
			first := true
			for k, e := range m.All() {
				if !first {
					dst = append(dst, ',')
				}
				first = false
				dst = append(dst, '{')
				if k != "" {
					dst = append(dst, `"key":`...)
					if dst, ok = appendJSONString(dst, k); !ok {
						return dst, fmt.Errorf("%w: key contains invalid UTF-8", ErrInvalid)
					}
					dst = append(dst, ',')
				}
				dst = append(dst, `"value":`...)
				var err error
				if dst, err = appendPdataJSON(dst, e); err != nil {
					return dst, err
				}
				dst = append(dst, '}')
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	default:
		return dst, fmt.Errorf("%w: value of unknown type %s", ErrInvalid, v.Type())
	}
	return append(dst, '}'), nil
}
