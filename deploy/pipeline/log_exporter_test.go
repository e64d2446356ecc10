package pipeline

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// captureExporter keeps clones of what it is given.
type captureExporter struct {
	mu   sync.Mutex
	recs []sdklog.Record
}

func (c *captureExporter) Export(_ context.Context, recs []sdklog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range recs {
		c.recs = append(c.recs, r.Clone())
	}
	return nil
}

func (c *captureExporter) Shutdown(context.Context) error   { return nil }
func (c *captureExporter) ForceFlush(context.Context) error { return nil }

func (c *captureExporter) records() []sdklog.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sdklog.Record(nil), c.recs...)
}

var (
	testTraceID = trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	testSpanID  = trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}
)

// bodies are one log body of each attribute kind; the record with body i
// carries attribute seq=i.
var bodies = []attribute.Value{
	attribute.StringValue("hello"),
	attribute.Int64Value(42),
	attribute.Float64Value(2.5),
	attribute.BoolValue(true),
	attribute.ByteSliceValue([]byte{0xde, 0xad}),
	attribute.StringSliceValue([]string{"a", "b"}),
	attribute.Int64SliceValue([]int64{1, 2}),
	attribute.SliceValue(attribute.StringValue("x"), attribute.IntValue(3), attribute.MapValue(attribute.Bool("deep", true))),
	attribute.MapValue(attribute.String("user", "ann"), attribute.Map("req", attribute.Int("status", 500), attribute.StringSlice("tags", []string{"t"}))),
	{}, // no body
}

// emitLogs emits one record per body through lp: two scopes, trace
// context on the even ones, every other field set.
func emitLogs(ctx context.Context, lp *sdklog.LoggerProvider) {
	loggers := []otellog.Logger{
		lp.Logger("logger-a", otellog.WithInstrumentationVersion("1.0.0"), otellog.WithSchemaURL(testSchemaURL),
			otellog.WithInstrumentationAttributes(attribute.String("lib", "a"))),
		lp.Logger("logger-b"),
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: testTraceID, SpanID: testSpanID, TraceFlags: trace.FlagsSampled})
	for i, body := range bodies {
		var r otellog.Record
		r.SetTimestamp(t0.Add(time.Duration(i) * time.Millisecond))
		r.SetObservedTimestamp(t1.Add(time.Duration(i) * time.Millisecond))
		r.SetSeverity(otellog.Severity(i + 1))
		r.SetSeverityText("LEVEL")
		r.SetBody(body)
		if i%3 == 0 {
			r.SetEventName("app.event")
		}
		r.AddAttributes(attribute.Int("seq", i), attribute.String("k", "v"), attribute.Float64("f", 0.5),
			attribute.Bool("b", i%2 == 0), attribute.StringSlice("ss", []string{"p", "q"}),
			attribute.ByteSlice("raw", []byte{byte(i)}), attribute.Map("m", attribute.Int("x", i)),
			attribute.String("over", "limit")) // dropped by the count limit
		c := ctx
		if i%2 == 0 {
			c = trace.ContextWithSpanContext(ctx, sc)
		}
		loggers[i%2].Emit(c, r)
	}
}

func newLoggerProvider(procs ...sdklog.Processor) *sdklog.LoggerProvider {
	opts := []sdklog.LoggerProviderOption{sdklog.WithResource(testResource("logging")), sdklog.WithAttributeCountLimit(7)}
	for _, p := range procs {
		opts = append(opts, sdklog.WithProcessor(p))
	}
	return sdklog.NewLoggerProvider(opts...)
}

// wantLog is the OTLP form of emitLogs' record i.
func wantLog(i int) *logspb.LogRecord {
	sv := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	iv := func(v int64) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}
	}
	arr := func(vs ...*commonpb.AnyValue) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vs}}}
	}
	kvl := func(kvs ...*commonpb.KeyValue) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: kvs}}}
	}
	bv := func(b bool) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: b}}
	}
	wantBodies := []*commonpb.AnyValue{
		sv("hello"),
		iv(42),
		{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 2.5}},
		bv(true),
		{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{0xde, 0xad}}},
		arr(sv("a"), sv("b")),
		arr(iv(1), iv(2)),
		arr(sv("x"), iv(3), kvl(&commonpb.KeyValue{Key: "deep", Value: bv(true)})),
		kvl(&commonpb.KeyValue{Key: "req", Value: kvl(&commonpb.KeyValue{Key: "status", Value: iv(500)}, &commonpb.KeyValue{Key: "tags", Value: arr(sv("t"))})},
			&commonpb.KeyValue{Key: "user", Value: sv("ann")}),
		nil,
	}
	r := &logspb.LogRecord{
		TimeUnixNano:         uint64(t0.Add(time.Duration(i) * time.Millisecond).UnixNano()),
		ObservedTimeUnixNano: uint64(t1.Add(time.Duration(i) * time.Millisecond).UnixNano()),
		SeverityNumber:       logspb.SeverityNumber(i + 1),
		SeverityText:         "LEVEL",
		Body:                 wantBodies[i],
		Attributes: []*commonpb.KeyValue{
			kvInt("seq", int64(i)), kvStr("k", "v"),
			{Key: "f", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 0.5}}},
			{Key: "b", Value: bv(i%2 == 0)},
			{Key: "ss", Value: arr(sv("p"), sv("q"))},
			{Key: "raw", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{byte(i)}}}},
			{Key: "m", Value: kvl(kvInt("x", int64(i)))},
		},
		DroppedAttributesCount: 1,
	}
	if i%3 == 0 {
		r.EventName = "app.event"
	}
	if i%2 == 0 {
		r.TraceId, r.SpanId, r.Flags = testTraceID[:], testSpanID[:], uint32(trace.FlagsSampled)
	}
	return r
}

func wantLogResource() *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kvStr("deployment.environment", "test"), kvStr("service.name", "logging")}}
}

func TestResourceLogsProto(t *testing.T) {
	capt := &captureExporter{}
	lp := newLoggerProvider(sdklog.NewSimpleProcessor(capt))
	emitLogs(context.Background(), lp)
	got := resourceLogsProto(capt.records())

	want := []*logspb.ResourceLogs{{
		Resource:  wantLogResource(),
		SchemaUrl: testSchemaURL,
		ScopeLogs: []*logspb.ScopeLogs{
			{Scope: &commonpb.InstrumentationScope{Name: "logger-a", Version: "1.0.0", Attributes: []*commonpb.KeyValue{kvStr("lib", "a")}}, SchemaUrl: testSchemaURL},
			{Scope: &commonpb.InstrumentationScope{Name: "logger-b"}},
		},
	}}
	for i := range bodies {
		sl := want[0].ScopeLogs[i%2]
		sl.LogRecords = append(sl.LogRecords, wantLog(i))
	}
	if len(got) != 1 || len(got[0].ScopeLogs) != 2 {
		t.Fatalf("got %d resources: %v", len(got), got)
	}
	for s, sl := range want[0].ScopeLogs {
		if len(got[0].ScopeLogs[s].LogRecords) != len(sl.LogRecords) {
			t.Fatalf("scope %d: %d records, want %d", s, len(got[0].ScopeLogs[s].LogRecords), len(sl.LogRecords))
		}
		for i, r := range sl.LogRecords {
			diff(t, "record", got[0].ScopeLogs[s].LogRecords[i], r)
		}
	}
	diff(t, "resource logs", got[0], want[0])
}

func TestLogExporterThroughSDK(t *testing.T) {
	p := startTestPipeline(t)
	ctx := context.Background()
	capt := &captureExporter{}
	lp := newLoggerProvider(sdklog.NewBatchProcessor(p.LogExporter()), sdklog.NewSimpleProcessor(capt))
	emitLogs(ctx, lp)
	if err := lp.ForceFlush(ctx); err != nil {
		t.Fatalf("force flush: %v", err)
	}
	flush(t, p)

	got, err := schema.LogsFromArrow(mustRead(t, p.OutputDir(), schema.Logs))
	if err != nil {
		t.Fatal(err)
	}
	// Compare in the normalized form the schema documents (attributes
	// regrouped by kind), record by record keyed by seq.
	want := schema.NormalizeLogs(resourceLogsProto(capt.records()))
	got = schema.NormalizeLogs(got)
	bySeq := func(rls []*logspb.ResourceLogs) map[int64]*logspb.LogRecord {
		m := map[int64]*logspb.LogRecord{}
		for _, rl := range rls {
			for _, sl := range rl.ScopeLogs {
				for _, r := range sl.LogRecords {
					for _, kv := range r.Attributes {
						if kv.Key == "seq" {
							m[kv.Value.GetIntValue()] = r
						}
					}
				}
			}
		}
		return m
	}
	g, w := bySeq(got), bySeq(want)
	if len(g) != len(bodies) || len(w) != len(bodies) {
		t.Fatalf("files hold %d records, captured %d, want %d", len(g), len(w), len(bodies))
	}
	for seq, wr := range w {
		diff(t, "record", g[seq], wr)
	}
	if len(got) != 1 {
		t.Fatalf("got %d resources, want 1", len(got))
	}
	diff(t, "resource", got[0].Resource, want[0].Resource)
	if got[0].SchemaUrl != testSchemaURL {
		t.Errorf("resource schema url = %q", got[0].SchemaUrl)
	}
	scopes := map[string]*logspb.ScopeLogs{}
	for _, sl := range got[0].ScopeLogs {
		scopes[sl.Scope.GetName()] = sl
	}
	for _, sl := range want[0].ScopeLogs {
		gs, ok := scopes[sl.Scope.GetName()]
		if !ok {
			t.Errorf("scope %s missing", sl.Scope.GetName())
			continue
		}
		diff(t, "scope", gs.Scope, sl.Scope)
		if gs.SchemaUrl != sl.SchemaUrl {
			t.Errorf("scope %s schema url = %q, want %q", sl.Scope.GetName(), gs.SchemaUrl, sl.SchemaUrl)
		}
	}

	// The provider's shutdown shuts the exporter down, not the pipeline.
	if err := lp.Shutdown(ctx); err != nil {
		t.Fatalf("provider shutdown: %v", err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Errorf("flush after exporter shutdown: %v", err)
	}
}

func TestLogExporterErrors(t *testing.T) {
	p := startTestPipeline(t)
	ctx := context.Background()
	capt := &captureExporter{}
	emitLogs(ctx, newLoggerProvider(sdklog.NewSimpleProcessor(capt)))
	recs := capt.records()

	exp := p.LogExporter()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := exp.Export(cctx, recs); !errors.Is(err, context.Canceled) {
		t.Errorf("export with canceled ctx = %v", err)
	}
	if err := exp.Export(ctx, nil); err != nil {
		t.Errorf("empty export: %v", err)
	}
	if err := exp.Export(ctx, recs); err != nil {
		t.Errorf("export: %v", err)
	}
	if err := exp.ForceFlush(ctx); err != nil {
		t.Errorf("force flush: %v", err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if err := exp.Export(ctx, recs); !errors.Is(err, sdklog.ErrExporterShutdown) {
		t.Errorf("export after shutdown = %v", err)
	}
	other := p.LogExporter()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.Export(ctx, recs); !errors.Is(err, ErrShutdown) {
		t.Errorf("export after pipeline shutdown = %v, want ErrShutdown", err)
	}
}

func TestSeverityProto(t *testing.T) {
	tests := []struct {
		in   otellog.Severity
		want logspb.SeverityNumber
	}{
		{otellog.SeverityUndefined, logspb.SeverityNumber_SEVERITY_NUMBER_UNSPECIFIED},
		{otellog.SeverityTrace, logspb.SeverityNumber_SEVERITY_NUMBER_TRACE},
		{otellog.SeverityDebug2, logspb.SeverityNumber_SEVERITY_NUMBER_DEBUG2},
		{otellog.SeverityInfo, logspb.SeverityNumber_SEVERITY_NUMBER_INFO},
		{otellog.SeverityWarn3, logspb.SeverityNumber_SEVERITY_NUMBER_WARN3},
		{otellog.SeverityError, logspb.SeverityNumber_SEVERITY_NUMBER_ERROR},
		{otellog.SeverityFatal4, logspb.SeverityNumber_SEVERITY_NUMBER_FATAL4},
		{otellog.Severity(25), logspb.SeverityNumber_SEVERITY_NUMBER_UNSPECIFIED},
	}
	for _, tt := range tests {
		if got := severityProto(tt.in); got != tt.want {
			t.Errorf("severityProto(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
