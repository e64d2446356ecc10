package publish

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func str(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

// nested returns a value of the given depth: arrays around a string.
func nested(depth int) *commonpb.AnyValue {
	v := str("leaf")
	for range depth - 1 {
		v = &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{v}}}}
	}
	return v
}

func kvs(n int) []*commonpb.KeyValue {
	out := make([]*commonpb.KeyValue, n)
	for i := range out {
		out[i] = &commonpb.KeyValue{Key: "k" + strconv.Itoa(i), Value: str("v")}
	}
	return out
}

func TestLimitsDefaults(t *testing.T) {
	tests := []struct {
		in, want Limits
	}{
		{Limits{}, Limits{DefaultMaxAttributes, DefaultMaxAttributeValueLength, DefaultMaxDepth}},
		{Limits{5, 6, 7}, Limits{5, 6, 7}},
	}
	for _, tt := range tests {
		if got := tt.in.withDefaults(); got != tt.want {
			t.Errorf("withDefaults(%+v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	if got := (Limits{-1, -1, -1}).withDefaults(); got.MaxAttributes < 1<<30 || got.MaxDepth < 1<<30 {
		t.Errorf("negative limits = %+v, want no limit", got)
	}
}

func TestLimitSpans(t *testing.T) {
	l := &limiter{Limits: Limits{MaxAttributes: 3, MaxAttributeValueLength: 8, MaxDepth: 4}}
	span := &tracepb.Span{
		Attributes:             append(kvs(5), &commonpb.KeyValue{Key: "x", Value: str("y")}),
		DroppedAttributesCount: 2,
		Events:                 []*tracepb.Span_Event{{Attributes: kvs(4)}},
	}
	span.Attributes[0].Value = str("ééééé") // 10 bytes: cut to 4 runes, 8 bytes
	span.Attributes[1].Value = &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: make([]byte, 9)}}
	span.Attributes[2].Value = &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{
		Values: []*commonpb.KeyValue{{Key: "in", Value: str("123456789é")}}}}}
	rs := &tracepb.ResourceSpans{
		Resource:   &resourcepb.Resource{Attributes: kvs(2)},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Attributes: kvs(4)}, Spans: []*tracepb.Span{span}}},
	}
	prs := pdataSpans(t, rs)
	if err := limitSpans(l, prs); err != nil {
		t.Fatal(err)
	}
	ps := prs.ScopeSpans().At(0).Spans().At(0)
	attr := func(k string) pcommon.Value {
		v, ok := ps.Attributes().Get(k)
		if !ok {
			t.Fatalf("attribute %q dropped", k)
		}
		return v
	}
	if got, want := ps.Attributes().Len(), 3; got != want {
		t.Errorf("span attributes = %d, want %d", got, want)
	}
	if got, want := ps.DroppedAttributesCount(), uint32(2+3); got != want {
		t.Errorf("span dropped count = %d, want %d", got, want)
	}
	if got, want := attr("k0").Str(), "éééé"; got != want {
		t.Errorf("truncated string = %q, want %q", got, want)
	}
	if got, want := attr("k1").Bytes().Len(), 8; got != want {
		t.Errorf("truncated bytes = %d, want %d", got, want)
	}
	if got, want := func() string { v, _ := attr("k2").Map().Get("in"); return v.Str() }(), "12345678"; got != want {
		t.Errorf("nested string = %q, want %q", got, want)
	}
	if got, want := prs.ScopeSpans().At(0).Scope().DroppedAttributesCount(), uint32(1); got != want {
		t.Errorf("scope dropped = %d, want %d", got, want)
	}
	if got, want := ps.Events().At(0).DroppedAttributesCount(), uint32(1); got != want {
		t.Errorf("event dropped = %d, want %d", got, want)
	}
	// span 3, scope 1, event 1
	if got, want := l.dropped, int64(5); got != want {
		t.Errorf("dropped = %d, want %d", got, want)
	}
	if got, want := l.truncated, int64(3); got != want {
		t.Errorf("truncated = %d, want %d", got, want)
	}
}

func TestLimitDepth(t *testing.T) {
	l := &limiter{Limits: Limits{}.withDefaults()}
	ok := &tracepb.ResourceSpans{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
		Attributes: []*commonpb.KeyValue{{Key: "deep", Value: nested(DefaultMaxDepth)}}}}}}}
	if err := limitSpans(l, pdataSpans(t, ok)); err != nil {
		t.Fatalf("depth %d: %v", DefaultMaxDepth, err)
	}
	bad := &tracepb.ResourceSpans{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
		Attributes: []*commonpb.KeyValue{{Key: "deep", Value: nested(DefaultMaxDepth + 1)}}}}}}}
	err := limitSpans(l, pdataSpans(t, bad))
	if !errors.Is(err, schema.ErrInvalid) {
		t.Fatalf("depth %d: err = %v, want schema.ErrInvalid", DefaultMaxDepth+1, err)
	}
	if !strings.Contains(err.Error(), `attribute "deep" of span: value nested deeper than 32 levels`) {
		t.Errorf("message %q does not name the attribute", err)
	}
	body := &logspb.ResourceLogs{ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{{Body: nested(100)}}}}}
	if err := limitLogs(l, pdataLogs(t, body)); !errors.Is(err, schema.ErrInvalid) || !strings.Contains(err.Error(), "body of log record") {
		t.Errorf("deep log body: err = %v", err)
	}
	rm := pmetric.NewResourceMetrics()
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("m")
	deep := m.SetEmptySum().DataPoints().AppendEmpty().Exemplars().AppendEmpty().FilteredAttributes().PutEmptySlice("e")
	for range 39 {
		deep = deep.AppendEmpty().SetEmptySlice()
	}
	if err := limitMetrics(l, rm); !errors.Is(err, schema.ErrInvalid) || !strings.Contains(err.Error(), `metric "m"`) {
		t.Errorf("deep exemplar: err = %v", err)
	}
}

func TestTruncateUTF8(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{{"abc", 5, "abc"}, {"abc", 2, "ab"}, {"aé", 2, "a"}, {"€", 2, ""}, {"€x", 3, "€"}} {
		if got := truncateUTF8(tt.in, tt.n); got != tt.want {
			t.Errorf("truncateUTF8(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestLimitMetrics(t *testing.T) {
	l := &limiter{Limits: Limits{MaxAttributes: 3, MaxAttributeValueLength: 8, MaxDepth: 4}}
	rm := pmetric.NewResourceMetrics()
	rm.Resource().SetDroppedAttributesCount(2)
	for i := range 5 {
		rm.Resource().Attributes().PutInt("r"+strconv.Itoa(i), int64(i))
	}
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().Attributes().PutStr("s", "ééééé") // 10 bytes: cut to 4 runes, 8 bytes
	m := sm.Metrics().AppendEmpty()
	m.Metadata().PutEmptyBytes("b").FromRaw(make([]byte, 9))
	p := m.SetEmptyHistogram().DataPoints().AppendEmpty()
	for i := range 4 {
		p.Attributes().PutInt("p"+strconv.Itoa(i), int64(i))
	}
	p.Exemplars().AppendEmpty().FilteredAttributes().PutEmptyMap("kv").PutStr("in", "123456789é")
	if err := limitMetrics(l, rm); err != nil {
		t.Fatal(err)
	}
	if got, want := rm.Resource().Attributes().Len(), 3; got != want {
		t.Errorf("resource attributes = %d, want %d", got, want)
	}
	if _, ok := rm.Resource().Attributes().Get("r2"); !ok {
		t.Errorf("resource attribute r2 dropped: the first ones are kept")
	}
	if got, want := rm.Resource().DroppedAttributesCount(), uint32(2+2); got != want {
		t.Errorf("resource dropped count = %d, want %d", got, want)
	}
	if v, _ := sm.Scope().Attributes().Get("s"); v.Str() != "éééé" {
		t.Errorf("truncated string = %q, want %q", v.Str(), "éééé")
	}
	if v, _ := m.Metadata().Get("b"); v.Bytes().Len() != 8 {
		t.Errorf("truncated bytes = %d, want 8", v.Bytes().Len())
	}
	if got, want := p.Attributes().Len(), 3; got != want {
		t.Errorf("data point attributes = %d, want %d", got, want)
	}
	kv, _ := p.Exemplars().At(0).FilteredAttributes().Get("kv")
	if v, _ := kv.Map().Get("in"); v.Str() != "12345678" {
		t.Errorf("nested string = %q, want %q", v.Str(), "12345678")
	}
	// resource 2, data point 1
	if got, want := l.dropped, int64(3); got != want {
		t.Errorf("dropped = %d, want %d", got, want)
	}
	if got, want := l.truncated, int64(3); got != want {
		t.Errorf("truncated = %d, want %d", got, want)
	}
}

// pdataSpans is rs decoded with pdata.
func pdataSpans(t *testing.T, rs *tracepb.ResourceSpans) ptrace.ResourceSpans {
	t.Helper()
	b, err := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{rs}})
	if err != nil {
		t.Fatal(err)
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		t.Fatal(err)
	}
	return req.Traces().ResourceSpans().At(0)
}

// pdataLogs is rl decoded with pdata.
func pdataLogs(t *testing.T, rl *logspb.ResourceLogs) plog.ResourceLogs {
	t.Helper()
	b, err := proto.Marshal(&collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{rl}})
	if err != nil {
		t.Fatal(err)
	}
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		t.Fatal(err)
	}
	return req.Logs().ResourceLogs().At(0)
}
