package schema

import (
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/proto"
)

// NormalizeLogs returns a normalized deep copy of rls: LogsFromArrow of
// LogsToArrow(rls) equals it (see the normalization rules in normalize.go).
// Log bodies are kept as they are, whatever their kind, except that an
// empty body is absent and values without a value inside it are empty.
func NormalizeLogs(rls []*logspb.ResourceLogs) []*logspb.ResourceLogs {
	var out []*logspb.ResourceLogs
	idx := newMergeIndex()
	for _, rl := range rls {
		res := normalizeResource(rl.Resource)
		fillValues(res.Attributes)
		for _, sl := range rl.ScopeLogs {
			if len(sl.LogRecords) == 0 {
				continue
			}
			scope := normalizeScope(sl.Scope)
			fillValues(scope.Attributes)
			ri, si, newRes, newScope := idx.place(res, rl.SchemaUrl, scope, sl.SchemaUrl)
			if newRes {
				out = append(out, &logspb.ResourceLogs{Resource: res, SchemaUrl: rl.SchemaUrl})
			}
			if newScope {
				out[ri].ScopeLogs = append(out[ri].ScopeLogs, &logspb.ScopeLogs{Scope: scope, SchemaUrl: sl.SchemaUrl})
			}
			dst := out[ri].ScopeLogs[si]
			for _, l := range sl.LogRecords {
				l = proto.Clone(l).(*logspb.LogRecord)
				l.Attributes = normalizePdataAttrs(l.Attributes)
				l.TraceId, l.SpanId = zeroIsAbsent(l.TraceId), zeroIsAbsent(l.SpanId)
				if l.Body != nil {
					if l.Body.Value == nil {
						l.Body = nil
					} else {
						l.Body = filledValue(l.Body)
					}
				}
				dst.LogRecords = append(dst.LogRecords, l)
			}
		}
	}
	return out
}
