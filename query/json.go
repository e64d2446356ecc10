package query

import (
	"math"
	"time"
)

// JSONSafe returns v (a value of Result.Rows) with what encoding/json
// refuses replaced: NaN and infinities become the strings "NaN",
// "Infinity" and "-Infinity", as in the files' OTLP JSON. Times are left
// to encoding/json (RFC 3339 with nanoseconds).
func JSONSafe(v any) any {
	switch v := v.(type) {
	case float64:
		switch {
		case math.IsNaN(v):
			return "NaN"
		case math.IsInf(v, 1):
			return "Infinity"
		case math.IsInf(v, -1):
			return "-Infinity"
		}
		return v
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = JSONSafe(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = JSONSafe(x)
		}
		return out
	case time.Time:
		return v
	}
	return v
}
