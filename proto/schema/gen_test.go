package schema

import (
	"math"
	"math/rand/v2"
	"strings"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// gen makes random OTLP data for property tests: every AnyValue kind,
// unicode, empty values, random sizes.
type gen struct{ r *rand.Rand }

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

var genStrings = []string{"", "a", "service", "héllo wörld", "日本語", "emoji 🚀", "with\nnewline", "quote\"s", "null\x00byte", "http.route", "k.e.y"}

func (g *gen) str() string {
	if g.r.IntN(3) == 0 {
		return genStrings[g.r.IntN(len(genStrings))]
	}
	n := g.r.IntN(20)
	var b strings.Builder
	for range n {
		switch g.r.IntN(4) {
		case 0:
			b.WriteRune(rune(0x4e00 + g.r.IntN(100)))
		default:
			b.WriteByte(byte('a' + g.r.IntN(26)))
		}
	}
	return b.String()
}

func (g *gen) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.UintN(256))
	}
	return b
}

// id returns an id of n bytes, or sometimes an empty one.
func (g *gen) id(n int) []byte {
	if g.r.IntN(8) == 0 {
		return nil
	}
	return g.bytes(n)
}

func (g *gen) time() uint64 {
	switch g.r.IntN(6) {
	case 0:
		return 0
	case 1:
		return math.MaxUint64 - g.r.Uint64N(10)
	}
	return 1_700_000_000_000_000_000 + g.r.Uint64N(1_000_000_000_000)
}

func (g *gen) double() float64 {
	switch g.r.IntN(8) {
	case 0:
		return math.NaN()
	case 1:
		return math.Inf(1)
	case 2:
		return math.Inf(-1)
	case 3:
		return 0
	case 4:
		return math.Copysign(0, -1)
	}
	return g.r.NormFloat64() * 1e6
}

func (g *gen) anyValue(depth int) *commonpb.AnyValue {
	n := 9
	if depth > 2 {
		n = 6
	}
	switch g.r.IntN(n) {
	case 0:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: g.str()}}
	case 1:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: int64(g.r.Uint64())}}
	case 2:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: g.double()}}
	case 3:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: g.r.IntN(2) == 0}}
	case 4:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: g.bytes(g.r.IntN(8))}}
	case 5:
		return &commonpb.AnyValue{}
	case 6:
		vals := make([]*commonpb.AnyValue, g.r.IntN(4))
		for i := range vals {
			vals[i] = g.anyValue(depth + 1)
		}
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vals}}}
	case 7:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: g.attrs(depth + 1)}}}
	default:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: g.str()}}
	}
}

func (g *gen) attrs(depth int) []*commonpb.KeyValue {
	n := g.r.IntN(6)
	if depth == 0 && g.r.IntN(4) == 0 {
		n = 10 + g.r.IntN(11)
	}
	if n == 0 {
		return nil
	}
	kvs := make([]*commonpb.KeyValue, n)
	for i := range kvs {
		kvs[i] = &commonpb.KeyValue{Key: g.str(), Value: g.anyValue(depth)}
		if g.r.IntN(30) == 0 {
			kvs[i].Value = nil
		}
	}
	return kvs
}

func (g *gen) resource() (*resourcepb.Resource, string) {
	if g.r.IntN(10) == 0 {
		return nil, ""
	}
	res := &resourcepb.Resource{Attributes: g.attrs(0), DroppedAttributesCount: uint32(g.r.IntN(3))}
	if g.r.IntN(2) == 0 {
		res.Attributes = append(res.Attributes, &commonpb.KeyValue{Key: ServiceNameKey, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: g.str()}}})
	}
	if g.r.IntN(5) == 0 {
		res.EntityRefs = []*commonpb.EntityRef{{SchemaUrl: g.str(), Type: "service", IdKeys: []string{"service.name"}, DescriptionKeys: []string{g.str()}}}
	}
	url := ""
	if g.r.IntN(2) == 0 {
		url = "https://opentelemetry.io/schemas/1.26.0"
	}
	return res, url
}

func (g *gen) scope() (*commonpb.InstrumentationScope, string) {
	if g.r.IntN(10) == 0 {
		return nil, ""
	}
	url := ""
	if g.r.IntN(3) == 0 {
		url = g.str()
	}
	return &commonpb.InstrumentationScope{Name: g.str(), Version: g.str(), Attributes: g.attrs(1), DroppedAttributesCount: uint32(g.r.IntN(3))}, url
}

func (g *gen) span() *tracepb.Span {
	s := &tracepb.Span{
		TraceId:                g.id(16),
		SpanId:                 g.id(8),
		TraceState:             g.str(),
		ParentSpanId:           g.id(8),
		Flags:                  g.r.Uint32(),
		Name:                   g.str(),
		Kind:                   tracepb.Span_SpanKind(g.r.IntN(6)),
		StartTimeUnixNano:      g.time(),
		EndTimeUnixNano:        g.time(),
		Attributes:             g.attrs(0),
		DroppedAttributesCount: uint32(g.r.IntN(3)),
		DroppedEventsCount:     uint32(g.r.IntN(3)),
		DroppedLinksCount:      uint32(g.r.IntN(3)),
	}
	for range g.r.IntN(4) {
		s.Events = append(s.Events, &tracepb.Span_Event{TimeUnixNano: g.time(), Name: g.str(), Attributes: g.attrs(1), DroppedAttributesCount: uint32(g.r.IntN(2))})
	}
	for range g.r.IntN(3) {
		s.Links = append(s.Links, &tracepb.Span_Link{TraceId: g.id(16), SpanId: g.id(8), TraceState: g.str(), Attributes: g.attrs(1), DroppedAttributesCount: uint32(g.r.IntN(2)), Flags: g.r.Uint32()})
	}
	if g.r.IntN(4) != 0 {
		s.Status = &tracepb.Status{Code: tracepb.Status_StatusCode(g.r.IntN(3)), Message: g.str()}
	}
	return s
}

func (g *gen) traces() []*tracepb.ResourceSpans {
	var rss []*tracepb.ResourceSpans
	for range g.r.IntN(4) {
		res, url := g.resource()
		rs := &tracepb.ResourceSpans{Resource: res, SchemaUrl: url}
		for range g.r.IntN(4) {
			scope, surl := g.scope()
			ss := &tracepb.ScopeSpans{Scope: scope, SchemaUrl: surl}
			for range g.r.IntN(6) {
				ss.Spans = append(ss.Spans, g.span())
			}
			rs.ScopeSpans = append(rs.ScopeSpans, ss)
		}
		rss = append(rss, rs)
	}
	return rss
}
