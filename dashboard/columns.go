package dashboard

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// col returns the column called name of rec as T, or the zero T when it is
// missing or of another type.
func col[T arrow.Array](rec arrow.RecordBatch, name string) T {
	var zero T
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return zero
	}
	c, ok := rec.Column(idx[0]).(T)
	if !ok {
		return zero
	}
	return c
}

// strCol reads a utf8 column, dictionary encoded or not.
type strCol struct {
	dict   *array.Dictionary
	values *array.String
}

func newStrCol(a arrow.Array) strCol {
	switch c := a.(type) {
	case *array.Dictionary:
		if s, ok := c.Dictionary().(*array.String); ok {
			return strCol{dict: c, values: s}
		}
	case *array.String:
		return strCol{values: c}
	}
	return strCol{}
}

func strColumn(rec arrow.RecordBatch, name string) strCol {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return strCol{}
	}
	return newStrCol(rec.Column(idx[0]))
}

// get returns row i's value and whether it is not null.
func (c strCol) get(i int) (string, bool) {
	if c.values == nil {
		return "", false
	}
	if c.dict != nil {
		if c.dict.IsNull(i) {
			return "", false
		}
		j := c.dict.GetValueIndex(i)
		if c.values.IsNull(j) {
			return "", false
		}
		return c.values.Value(j), true
	}
	if c.values.IsNull(i) {
		return "", false
	}
	return c.values.Value(i), true
}

// str returns row i's value, "" when null.
func (c strCol) str(i int) string { s, _ := c.get(i); return s }

// tsNanos returns row i of a timestamp column in ns, 0 when null or missing.
func tsNanos(c *array.Timestamp, i int) int64 {
	if c == nil || c.IsNull(i) {
		return 0
	}
	return int64(c.Value(i))
}

// hexID returns row i of an id column in lower-case hex, "" when null.
func hexID(c *array.FixedSizeBinary, i int) string {
	if c == nil || c.IsNull(i) {
		return ""
	}
	return hex.EncodeToString(c.Value(i))
}

// ms converts unix ns to float ms.
func ms(ns int64) float64 { return float64(ns) / 1e6 }

// nsString renders unix ns as the exact decimal string of the API.
func nsString(ns int64) string { return strconv.FormatInt(ns, 10) }

// jsonFloat is a float64 that renders NaN and the infinities as strings.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return json.Marshal(strconv.FormatFloat(v, 'g', -1, 64))
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// attr is one attribute of the API: {key, type, value}.
type attr struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// attrKinds are the suffixes of the six columns of an attribute set.
var attrKinds = [...]string{"str", "int", "double", "bool", "bytes", "other"}

// attrCols are the six map columns of one attribute set of a batch.
type attrCols [6]*array.Map

func attrColumns(rec arrow.RecordBatch, name string) attrCols {
	var a attrCols
	for k, suffix := range attrKinds {
		a[k] = col[*array.Map](rec, name+"_"+suffix)
	}
	return a
}

// structAttrColumns returns the attribute maps of a struct array (events,
// links, exemplars).
func structAttrColumns(st *array.Struct, name string) attrCols {
	var a attrCols
	stt := st.DataType().(*arrow.StructType)
	for k, suffix := range attrKinds {
		if idx, ok := stt.FieldIdx(name + "_" + suffix); ok {
			a[k], _ = st.Field(idx).(*array.Map)
		}
	}
	return a
}

// each calls fn with every attribute of row i (kind, key, items, item
// index) until fn returns false.
func (a attrCols) each(i int, fn func(k int, key string, items arrow.Array, j int) bool) {
	for k, m := range a {
		if m == nil || m.IsNull(i) {
			continue
		}
		start, end := m.ValueOffsets(i)
		keys := newStrCol(m.Keys())
		items := m.Items()
		for j := int(start); j < int(end); j++ {
			if !fn(k, keys.str(j), items, j) {
				return
			}
		}
	}
}

// list returns row i's attributes in the API's form.
func (a attrCols) list(i int) []attr {
	out := []attr{}
	a.each(i, func(k int, key string, items arrow.Array, j int) bool {
		out = append(out, attrValue(k, key, items, j))
		return true
	})
	return out
}

// attrValue renders item j of a map of kind k.
func attrValue(k int, key string, items arrow.Array, j int) attr {
	if items.IsNull(j) {
		return attr{Key: key, Type: "empty", Value: nil}
	}
	switch it := items.(type) {
	case *array.String:
		if k == 5 {
			return otherValue(key, it.Value(j))
		}
		return attr{Key: key, Type: "string", Value: it.Value(j)}
	case *array.Int64:
		v := it.Value(j)
		if v > 1<<53 || v < -(1<<53) {
			return attr{Key: key, Type: "int", Value: strconv.FormatInt(v, 10)}
		}
		return attr{Key: key, Type: "int", Value: v}
	case *array.Float64:
		return attr{Key: key, Type: "double", Value: jsonFloat(it.Value(j))}
	case *array.Boolean:
		return attr{Key: key, Type: "bool", Value: it.Value(j)}
	case *array.Binary:
		return attr{Key: key, Type: "bytes", Value: base64.StdEncoding.EncodeToString(it.Value(j))}
	}
	return attr{Key: key, Type: "string", Value: items.ValueStr(j)}
}

// otherValue renders the OTLP JSON of an array, key-value list or empty
// value.
func otherValue(key, js string) attr {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal([]byte(js), &probe); err != nil {
		return attr{Key: key, Type: "string", Value: js}
	}
	switch {
	case probe["arrayValue"] != nil:
		return attr{Key: key, Type: "array", Value: json.RawMessage(js)}
	case probe["kvlistValue"] != nil:
		return attr{Key: key, Type: "kvlist", Value: json.RawMessage(js)}
	case len(probe) == 0:
		return attr{Key: key, Type: "empty", Value: nil}
	}
	return attr{Key: key, Type: "other", Value: json.RawMessage(js)}
}

// match reports whether row i has an attribute key whose value, rendered
// as text, is want.
func (a attrCols) match(i int, key, want string) bool {
	found := false
	a.each(i, func(k int, ik string, items arrow.Array, j int) bool {
		found = ik == key && items.IsValid(j) && itemText(k, items, j) == want
		return !found
	})
	return found
}

// textMap returns row i's attributes as key -> text (series labels).
func (a attrCols) textMap(i int) map[string]string {
	out := map[string]string{}
	a.each(i, func(k int, key string, items arrow.Array, j int) bool {
		if items.IsValid(j) {
			out[key] = itemText(k, items, j)
		}
		return true
	})
	return out
}

// itemText renders an attribute value as the text a filter compares.
func itemText(k int, items arrow.Array, j int) string {
	switch it := items.(type) {
	case *array.String:
		return it.Value(j)
	case *array.Int64:
		return strconv.FormatInt(it.Value(j), 10)
	case *array.Float64:
		return strconv.FormatFloat(it.Value(j), 'g', -1, 64)
	case *array.Boolean:
		return strconv.FormatBool(it.Value(j))
	case *array.Binary:
		return base64.StdEncoding.EncodeToString(it.Value(j))
	}
	return items.ValueStr(j)
}

// hexBytes renders an id in lower-case hex.
func hexBytes(b []byte) string { return hex.EncodeToString(b) }
