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
//   - traces and logs, decoded with pdata, which cannot tell them apart: an
//     attribute (or a key-value list entry, or an array element) without a
//     value has the empty value, an empty span status is absent, and an
//     empty log body is absent, and an id of all zeros is absent;
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

// fillValues gives every entry of kvs without a value, at any depth, the
// empty value, as pdata decodes it. kvs must be a copy the caller owns.
func fillValues(kvs []*commonpb.KeyValue) {
	for i, kv := range kvs {
		if kv.GetValue() == nil {
			kvs[i] = &commonpb.KeyValue{Key: kv.GetKey(), Value: &commonpb.AnyValue{}}
			continue
		}
		kvs[i] = &commonpb.KeyValue{Key: kv.GetKey(), Value: filledValue(kv.GetValue())}
	}
}

// filledValue is v with fillValues applied inside, copied where it changes.
func filledValue(v *commonpb.AnyValue) *commonpb.AnyValue {
	if v == nil {
		return &commonpb.AnyValue{}
	}
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_ArrayValue:
		vals := make([]*commonpb.AnyValue, len(x.ArrayValue.GetValues()))
		for i, e := range x.ArrayValue.GetValues() {
			vals[i] = filledValue(e)
		}
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vals}}}
	case *commonpb.AnyValue_KvlistValue:
		kvs := slices.Clone(x.KvlistValue.GetValues())
		fillValues(kvs)
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: kvs}}}
	}
	return v
}

// zeroIsAbsent returns nil for an id of all zeros, which pdata decodes as
// no id, and id otherwise.
func zeroIsAbsent(id []byte) []byte {
	for _, b := range id {
		if b != 0 {
			return id
		}
	}
	return nil
}

// normalizePdataAttrs is normalizeAttrs with fillValues.
func normalizePdataAttrs(kvs []*commonpb.KeyValue) []*commonpb.KeyValue {
	out := normalizeAttrs(kvs)
	fillValues(out)
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

// mergeIndex places resources, and scopes within them, into merge groups
// of equal content and schema URL, numbered in order of first appearance.
type mergeIndex struct {
	res    map[string]int
	scopes []map[string]int
}

func newMergeIndex() *mergeIndex { return &mergeIndex{res: map[string]int{}} }

// place returns the group indexes of a resource and of a scope within it,
// and whether each group is new.
func (x *mergeIndex) place(res *resourcepb.Resource, resURL string, scope *commonpb.InstrumentationScope, scopeURL string) (ri, si int, newRes, newScope bool) {
	rk := mergeKey(res, resURL)
	ri, ok := x.res[rk]
	if !ok {
		ri, newRes = len(x.scopes), true
		x.res[rk] = ri
		x.scopes = append(x.scopes, map[string]int{})
	}
	sk := mergeKey(scope, scopeURL)
	si, ok = x.scopes[ri][sk]
	if !ok {
		si, newScope = len(x.scopes[ri]), true
		x.scopes[ri][sk] = si
	}
	return ri, si, newRes, newScope
}

// NormalizeTraces returns a normalized deep copy of rss (see the package
// documentation of normalization above).
func NormalizeTraces(rss []*tracepb.ResourceSpans) []*tracepb.ResourceSpans {
	var out []*tracepb.ResourceSpans
	idx := newMergeIndex()
	for _, rs := range rss {
		res := normalizeResource(rs.Resource)
		fillValues(res.Attributes)
		for _, ss := range rs.ScopeSpans {
			if len(ss.Spans) == 0 {
				continue
			}
			scope := normalizeScope(ss.Scope)
			fillValues(scope.Attributes)
			ri, si, newRes, newScope := idx.place(res, rs.SchemaUrl, scope, ss.SchemaUrl)
			if newRes {
				out = append(out, &tracepb.ResourceSpans{Resource: res, SchemaUrl: rs.SchemaUrl})
			}
			if newScope {
				out[ri].ScopeSpans = append(out[ri].ScopeSpans, &tracepb.ScopeSpans{Scope: scope, SchemaUrl: ss.SchemaUrl})
			}
			dst := out[ri].ScopeSpans[si]
			for _, s := range ss.Spans {
				s = proto.Clone(s).(*tracepb.Span)
				s.Attributes = normalizePdataAttrs(s.Attributes)
				for _, e := range s.Events {
					e.Attributes = normalizePdataAttrs(e.Attributes)
				}
				for _, l := range s.Links {
					l.Attributes = normalizePdataAttrs(l.Attributes)
				}
				s.TraceId, s.SpanId, s.ParentSpanId = zeroIsAbsent(s.TraceId), zeroIsAbsent(s.SpanId), zeroIsAbsent(s.ParentSpanId)
				for _, l := range s.Links {
					l.TraceId, l.SpanId = zeroIsAbsent(l.TraceId), zeroIsAbsent(l.SpanId)
				}
				if st := s.Status; st != nil && st.Code == tracepb.Status_STATUS_CODE_UNSET && st.Message == "" {
					s.Status = nil
				}
				dst.Spans = append(dst.Spans, s)
			}
		}
	}
	return out
}
