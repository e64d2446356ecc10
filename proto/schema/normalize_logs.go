package schema

import (
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/proto"
)

// NormalizeLogs returns a normalized deep copy of rls: LogsFromArrow of
// LogsToArrow(rls) equals it (see the normalization rules in normalize.go).
// Log bodies are kept as they are, whatever their kind.
func NormalizeLogs(rls []*logspb.ResourceLogs) []*logspb.ResourceLogs {
	var out []*logspb.ResourceLogs
	resIdx := map[string]int{}
	scopeIdx := []map[string]int{}
	for _, rl := range rls {
		res := normalizeResource(rl.Resource)
		for _, sl := range rl.ScopeLogs {
			if len(sl.LogRecords) == 0 {
				continue
			}
			rk := mergeKey(res, rl.SchemaUrl)
			ri, ok := resIdx[rk]
			if !ok {
				ri = len(out)
				resIdx[rk] = ri
				out = append(out, &logspb.ResourceLogs{Resource: res, SchemaUrl: rl.SchemaUrl})
				scopeIdx = append(scopeIdx, map[string]int{})
			}
			scope := normalizeScope(sl.Scope)
			sk := mergeKey(scope, sl.SchemaUrl)
			si, ok := scopeIdx[ri][sk]
			if !ok {
				si = len(out[ri].ScopeLogs)
				scopeIdx[ri][sk] = si
				out[ri].ScopeLogs = append(out[ri].ScopeLogs, &logspb.ScopeLogs{Scope: scope, SchemaUrl: sl.SchemaUrl})
			}
			for _, l := range sl.LogRecords {
				l = proto.Clone(l).(*logspb.LogRecord)
				l.Attributes = normalizeAttrs(l.Attributes)
				out[ri].ScopeLogs[si].LogRecords = append(out[ri].ScopeLogs[si].LogRecords, l)
			}
		}
	}
	return out
}
