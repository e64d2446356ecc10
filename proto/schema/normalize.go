package schema

import (
	"slices"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// The conversion OTLP -> Arrow -> OTLP returns a request equal (proto.Equal)
// to the normalized input. Normalization, documented in docs/schema.md:
//
//   - attributes (of resources, scopes, spans, events, links, data points,
//     exemplars, log records, metric metadata) are stably regrouped by value
//     kind: string, int, double, bool, bytes, then everything else; the
//     profiles-only key_strindex is cleared;
//   - an absent resource or scope is an empty one;
//   - resources with equal content and schema URL are merged into the first
//     one, and so are scopes within a resource; resources and scopes that hold
//     no span, data point or log record are dropped;
//   - metrics: equal metric descriptions (name, description, unit, metadata,
//     type, temporality, monotonicity) within a scope are merged, and metrics
//     with no data points are dropped.

// normalizeAttrs returns kvs stably regrouped by value kind.
func normalizeAttrs(kvs []*commonpb.KeyValue) []*commonpb.KeyValue {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]*commonpb.KeyValue, len(kvs))
	for i, kv := range kvs {
		out[i] = &commonpb.KeyValue{Key: kv.GetKey(), Value: kv.GetValue()}
	}
	slices.SortStableFunc(out, func(a, b *commonpb.KeyValue) int {
		return attrKind(a.Value) - attrKind(b.Value)
	})
	return out
}

func normalizeResource(r *resourcepb.Resource) *resourcepb.Resource {
	if r == nil {
		return &resourcepb.Resource{}
	}
	r = proto.Clone(r).(*resourcepb.Resource)
	r.Attributes = normalizeAttrs(r.Attributes)
	return r
}

func normalizeScope(s *commonpb.InstrumentationScope) *commonpb.InstrumentationScope {
	if s == nil {
		return &commonpb.InstrumentationScope{}
	}
	s = proto.Clone(s).(*commonpb.InstrumentationScope)
	s.Attributes = normalizeAttrs(s.Attributes)
	return s
}

var deterministic = proto.MarshalOptions{Deterministic: true}

// mergeKey identifies a resource or scope for merging.
func mergeKey(m proto.Message, schemaURL string) string {
	b, _ := deterministic.Marshal(m)
	return string(b) + "\x00" + schemaURL
}

// NormalizeTraces returns a normalized deep copy of rss (see the package
// documentation of normalization above).
func NormalizeTraces(rss []*tracepb.ResourceSpans) []*tracepb.ResourceSpans {
	var out []*tracepb.ResourceSpans
	resIdx := map[string]int{}
	scopeIdx := []map[string]int{}
	for _, rs := range rss {
		res := normalizeResource(rs.Resource)
		for _, ss := range rs.ScopeSpans {
			if len(ss.Spans) == 0 {
				continue
			}
			rk := mergeKey(res, rs.SchemaUrl)
			ri, ok := resIdx[rk]
			if !ok {
				ri = len(out)
				resIdx[rk] = ri
				out = append(out, &tracepb.ResourceSpans{Resource: res, SchemaUrl: rs.SchemaUrl})
				scopeIdx = append(scopeIdx, map[string]int{})
			}
			scope := normalizeScope(ss.Scope)
			sk := mergeKey(scope, ss.SchemaUrl)
			si, ok := scopeIdx[ri][sk]
			if !ok {
				si = len(out[ri].ScopeSpans)
				scopeIdx[ri][sk] = si
				out[ri].ScopeSpans = append(out[ri].ScopeSpans, &tracepb.ScopeSpans{Scope: scope, SchemaUrl: ss.SchemaUrl})
			}
			for _, s := range ss.Spans {
				s = proto.Clone(s).(*tracepb.Span)
				s.Attributes = normalizeAttrs(s.Attributes)
				for _, e := range s.Events {
					e.Attributes = normalizeAttrs(e.Attributes)
				}
				for _, l := range s.Links {
					l.Attributes = normalizeAttrs(l.Attributes)
				}
				out[ri].ScopeSpans[si].Spans = append(out[ri].ScopeSpans[si].Spans, s)
			}
		}
	}
	return out
}
