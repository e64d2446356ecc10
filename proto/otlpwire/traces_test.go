package otlpwire

import (
	"testing"
	"unsafe"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// discardUnknown is the reference decoder: proto.Unmarshal, unknown fields
// dropped.
var discardUnknown = proto.UnmarshalOptions{DiscardUnknown: true}

// agreeTraces decodes b with the reference decoder and with
// UnmarshalTraces and fails unless both reject it or both give equal
// requests. It returns proto's error.
func agreeTraces(t testing.TB, b []byte) error {
	t.Helper()
	var want, got coltracepb.ExportTraceServiceRequest
	werr := discardUnknown.Unmarshal(b, &want)
	gerr := UnmarshalTraces(b, &got)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("input %x: proto.Unmarshal error %v, UnmarshalTraces error %v", b, werr, gerr)
	}
	if werr == nil {
		if !proto.Equal(&want, &got) {
			t.Fatalf("input %x: decoded requests differ\nproto:    %v\notlpwire: %v", b, &want, &got)
		}
	}
	return werr
}

// inside returns whether s's bytes lie in b.
func inside(s string, b []byte) bool {
	if len(s) == 0 {
		return true
	}
	p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= lo && p+uintptr(len(s)) <= lo+uintptr(len(b))
}

func TestUnmarshalTracesAliasesInput(t *testing.T) {
	b := mustMarshal(t, benchTraces(3))
	var req coltracepb.ExportTraceServiceRequest
	if err := UnmarshalTraces(b, &req); err != nil {
		t.Fatal(err)
	}
	s := req.ResourceSpans[0].ScopeSpans[0].Spans[1]
	for _, str := range []string{s.Name, s.Attributes[0].Key, s.Attributes[0].Value.GetStringValue()} {
		if !inside(str, b) {
			t.Errorf("string %q is a copy, want it to alias the input", str)
		}
	}
	if cap(s.TraceId) != len(s.TraceId) || !inside(unsafe.String(unsafe.SliceData(s.TraceId), len(s.TraceId)), b) {
		t.Errorf("trace id: cap %d len %d, want a sub-slice of the input with no spare capacity", cap(s.TraceId), len(s.TraceId))
	}
	if attrs := s.Attributes; cap(attrs) != len(attrs) {
		t.Errorf("attributes: cap %d len %d, want no spare capacity", cap(attrs), len(attrs))
	}
}

func TestUnmarshalTracesReplacesContent(t *testing.T) {
	req := benchTraces(2)
	b := mustMarshal(t, benchTraces(1))
	if err := UnmarshalTraces(b, req); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(req, benchTraces(1)) {
		t.Fatalf("got %v, want the request of one span", req)
	}
	if err := UnmarshalTraces(nil, req); err != nil || len(req.ResourceSpans) != 0 {
		t.Fatalf("empty input: got %v, %v; want an empty request", req, err)
	}
}

// span wraps span fields into a request with one span.
func span(fields ...[]byte) []byte {
	var s []byte
	for _, f := range fields {
		s = append(s, f...)
	}
	return msg(1, msg(2, msg(2, s)))
}

func msg(num protowire.Number, payload []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), payload)
}

func varintField(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

func TestUnmarshalTracesSpanFields(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want *tracepb.Span // nil: an error is wanted
	}{
		{"status merges", span(msg(15, msg(2, []byte("boom"))), msg(15, varintField(3, 2))),
			&tracepb.Span{Status: &tracepb.Status{Message: "boom", Code: tracepb.Status_STATUS_CODE_ERROR}}},
		{"scalars last wins", span(varintField(6, 1), varintField(6, 3), msg(5, []byte("a")), msg(5, []byte("b"))),
			&tracepb.Span{Kind: tracepb.Span_SPAN_KIND_CLIENT, Name: "b"}},
		{"empty bytes after non-empty", span(msg(1, []byte{1, 2}), msg(1, nil)), &tracepb.Span{}},
		{"open enum", span(varintField(6, 77)), &tracepb.Span{Kind: 77}},
		{"negative enum", span(varintField(6, 1<<64-1)), &tracepb.Span{Kind: -1}},
		{"uint32 truncates", span(varintField(10, 1<<32+5)), &tracepb.Span{DroppedAttributesCount: 5}},
		{"flags wrong wire type", span(varintField(16, 5)), &tracepb.Span{}},
		{"name wrong wire type", span(varintField(5, 5)), &tracepb.Span{}},
		{"invalid utf-8 name", span(msg(5, []byte{0xff})), nil},
		{"invalid utf-8 trace id", span(msg(1, []byte{0xff})), &tracepb.Span{TraceId: []byte{0xff}}},
		{"invalid utf-8 unknown field", span(msg(99, []byte{0xff})), &tracepb.Span{}},
		{"reserved wire type", span([]byte{5<<3 | 6}), nil},
		{"field number zero", span([]byte{0 << 3, 0}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := agreeTraces(t, tt.in)
			if tt.want == nil {
				if err == nil {
					t.Fatal("proto.Unmarshal accepts the input, the test wants it rejected")
				}
				return
			}
			var req coltracepb.ExportTraceServiceRequest
			if err := UnmarshalTraces(tt.in, &req); err != nil {
				t.Fatal(err)
			}
			if got := req.ResourceSpans[0].ScopeSpans[0].Spans[0]; !proto.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzUnmarshalTraces(f *testing.F) {
	// Small seeds: the fuzzer minimizes every input that finds new coverage,
	// which takes long on large ones.
	f.Add(mustMarshal(f, &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{strAttr("service.name", "a")}, DroppedAttributesCount: 1,
			EntityRefs: []*commonpb.EntityRef{{Type: "t", IdKeys: []string{"k"}}}},
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope: &commonpb.InstrumentationScope{Name: "s", Version: "1", Attributes: []*commonpb.KeyValue{intAttr("i", 1)}},
			Spans: []*tracepb.Span{{
				TraceId: id(16, 1), SpanId: id(8, 1), ParentSpanId: id(8, 2), TraceState: "x=1", Name: "n", Kind: 2, Flags: 1,
				StartTimeUnixNano: 1, EndTimeUnixNano: 2, Attributes: spanAttrs(5)[9:], DroppedAttributesCount: 1,
				Events:             []*tracepb.Span_Event{{TimeUnixNano: 3, Name: "e", Attributes: []*commonpb.KeyValue{strAttr("k", "v")}}},
				DroppedEventsCount: 1,
				Links:              []*tracepb.Span_Link{{TraceId: id(16, 3), SpanId: id(8, 3), TraceState: "y", Flags: 1, Attributes: []*commonpb.KeyValue{intAttr("j", 2)}}},
				DroppedLinksCount:  1, Status: &tracepb.Status{Message: "m", Code: 2},
			}},
			SchemaUrl: "u",
		}},
		SchemaUrl: "v",
	}}}))
	f.Add(span(msg(15, msg(2, []byte("boom"))), msg(15, varintField(3, 2))))
	f.Add(span(msg(9, msg(2, msg(5, msg(1, msg(6, nil)))))))
	f.Add(span(protowire.AppendTag(nil, 20, protowire.StartGroupType), protowire.AppendTag(nil, 20, protowire.EndGroupType)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		agreeTraces(t, b)
	})
}
