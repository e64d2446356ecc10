//go:build cgo && !nosql

package query

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// normalize turns a value of the DuckDB driver into one of the kinds
// Result.Rows documents.
func normalize(v any) any {
	switch v := v.(type) {
	case nil, bool, int64, uint64, float64, string:
		return v
	case int8:
		return int64(v)
	case int16:
		return int64(v)
	case int32:
		return int64(v)
	case int:
		return int64(v)
	case uint8:
		return int64(v)
	case uint16:
		return int64(v)
	case uint32:
		return int64(v)
	case float32:
		return float64(v)
	case []byte:
		return hex.EncodeToString(v)
	case time.Time:
		return v.UTC()
	case *big.Int:
		if v.IsInt64() {
			return v.Int64()
		}
		return v.String()
	case duckdb.Decimal:
		return v.Float64()
	case duckdb.Interval:
		d := time.Duration(v.Micros) * time.Microsecond
		switch {
		case v.Months != 0:
			return fmt.Sprintf("%d months %d days %s", v.Months, v.Days, d)
		case v.Days != 0:
			return fmt.Sprintf("%d days %s", v.Days, d)
		}
		return d.String()
	case duckdb.OrderedMap:
		keys, vals := v.Keys(), v.Values()
		m := make(map[string]any, len(keys))
		for i, k := range keys {
			m[fmt.Sprint(normalize(k))] = normalize(vals[i])
		}
		return m
	case duckdb.Map:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[fmt.Sprint(normalize(k))] = normalize(x)
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = normalize(x)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = normalize(x)
		}
		return l
	case duckdb.UUID:
		return v.String()
	case *duckdb.UUID:
		return v.String()
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprint(v)
}
