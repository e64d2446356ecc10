package ingest

import (
	"context"
	"sort"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func serviceResource(name string) *resource.Resource {
	return resource.NewSchemaless(attribute.String("service.name", name), attribute.String("host.name", "test-host"))
}

// sendSpans exports spans named names from service through exp and returns
// their span contexts by name.
func sendSpans(t *testing.T, exp sdktrace.SpanExporter, service string, names ...string) map[string]trace.SpanContext {
	t.Helper()
	ctx := context.Background()
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(serviceResource(service)))
	defer func() {
		if err := tp.Shutdown(ctx); err != nil {
			t.Errorf("tracer provider shutdown: %v", err)
		}
	}()
	tr := tp.Tracer("ingest-test", trace.WithInstrumentationVersion("1.2.3"))
	out := map[string]trace.SpanContext{}
	for i, name := range names {
		_, span := tr.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.route", "/r/"+name), attribute.Int64("n", int64(i))))
		span.End()
		out[name] = span.SpanContext()
	}
	if err := tp.ForceFlush(ctx); err != nil {
		t.Fatalf("force flush: %v", err)
	}
	return out
}

func checkSpans(t *testing.T, rss []*tracepb.ResourceSpans, want map[string]trace.SpanContext) {
	t.Helper()
	got := allSpans(rss)
	if len(got) != len(want) {
		t.Fatalf("got %d spans, want %d", len(got), len(want))
	}
	for name, sc := range want {
		s, ok := got[name]
		if !ok {
			t.Fatalf("span %q missing", name)
		}
		tid, sid := sc.TraceID(), sc.SpanID()
		if string(s.GetTraceId()) != string(tid[:]) || string(s.GetSpanId()) != string(sid[:]) {
			t.Errorf("span %q ids = %x/%x, want %x/%x", name, s.GetTraceId(), s.GetSpanId(), tid, sid)
		}
		if got, want := s.GetKind(), tracepb.Span_SPAN_KIND_SERVER; got != want {
			t.Errorf("span %q kind = %v, want %v", name, got, want)
		}
		var route string
		for _, kv := range s.GetAttributes() {
			if kv.GetKey() == "http.route" {
				route = kv.GetValue().GetStringValue()
			}
		}
		if got, want := route, "/r/"+name; got != want {
			t.Errorf("span %q http.route = %q, want %q", name, got, want)
		}
	}
}

func TestSDKTracesGRPC(t *testing.T) {
	b := runBus(t)
	s := startService(t, b.js, nil)
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.GRPCAddr().String()), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithCompressor("gzip"), otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}
	wantA := sendSpans(t, exp, "svc-a", "a1", "a2")
	exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.GRPCAddr().String()), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	wantB := sendSpans(t, exp, "svc.b", "b1")

	msgs := bustest.ReadMessages(t, b.js, schema.Traces)
	if got, want := len(msgs), 2; got != want {
		t.Fatalf("got %d messages, want %d", got, want)
	}
	subjects := []string{msgs[0].Subject, msgs[1].Subject}
	sort.Strings(subjects)
	if got, want := subjects, []string{"otlp.traces.svc-a", "otlp.traces.svc_b"}; got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("subjects = %v, want %v", got, want)
	}
	for _, m := range msgs {
		for k, want := range map[string]string{
			bus.HeaderSource: SourceGRPC, bus.HeaderSignal: "traces", bus.HeaderSchema: "traces/v1",
			bus.HeaderContentType: bus.ContentType,
		} {
			if got := m.Header.Get(k); got != want {
				t.Errorf("%s header %s = %q, want %q", m.Subject, k, got, want)
			}
		}
	}
	if got, want := msgs[0].Header.Get(bus.HeaderRows)+msgs[1].Header.Get(bus.HeaderRows), "21"; got != want && got != "12" {
		t.Errorf("rows headers = %q, want 2 and 1", got)
	}
	rss := bustest.Traces(t, msgs)
	services := map[string]bool{}
	for _, rs := range rss {
		services[schema.ServiceName(rs.GetResource())] = true
	}
	if !services["svc-a"] || !services["svc.b"] {
		t.Errorf("services = %v, want svc-a and svc.b", services)
	}
	for k, v := range wantB {
		wantA[k] = v
	}
	checkSpans(t, rss, wantA)
}

func TestSDKTracesHTTP(t *testing.T) {
	b := runBus(t)
	s := startService(t, b.js, nil)
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(s.HTTPAddr().String()),
		otlptracehttp.WithInsecure(), otlptracehttp.WithCompression(otlptracehttp.GzipCompression),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}
	want := sendSpans(t, exp, "svc-http", "h1", "h2", "h3")
	msgs := bustest.ReadMessages(t, b.js, schema.Traces)
	if got, want := len(msgs), 1; got != want {
		t.Fatalf("got %d messages, want %d", got, want)
	}
	if got, want := msgs[0].Subject, "otlp.traces.svc-http"; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	if got, want := msgs[0].Header.Get(bus.HeaderSource), SourceHTTP; got != want {
		t.Errorf("source = %q, want %q", got, want)
	}
	if got, want := msgs[0].Header.Get(bus.HeaderRows), "3"; got != want {
		t.Errorf("rows = %q, want %q", got, want)
	}
	checkSpans(t, bustest.Traces(t, msgs), want)
}

func TestSDKMetricsGRPC(t *testing.T) {
	b := runBus(t)
	s := startService(t, b.js, nil)
	ctx := context.Background()
	exp, err := otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(s.GRPCAddr().String()), otlpmetricgrpc.WithInsecure(),
		otlpmetricgrpc.WithRetry(otlpmetricgrpc.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(serviceResource("svc-m")),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))))
	counter, err := mp.Meter("ingest-test").Int64Counter("requests")
	if err != nil {
		t.Fatal(err)
	}
	counter.Add(ctx, 5, metric.WithAttributes(attribute.String("route", "/x")))
	counter.Add(ctx, 2, metric.WithAttributes(attribute.String("route", "/y")))
	if err := mp.ForceFlush(ctx); err != nil {
		t.Fatalf("force flush: %v", err)
	}
	msgs := bustest.ReadMessages(t, b.js, schema.Metrics)
	if err := mp.Shutdown(ctx); err != nil { // exports once more
		t.Errorf("meter provider shutdown: %v", err)
	}
	if got, want := len(msgs), 1; got != want {
		t.Fatalf("got %d messages, want %d", got, want)
	}
	if got, want := msgs[0].Subject, "otlp.metrics.svc-m"; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	if got, want := msgs[0].Header.Get(bus.HeaderRows), "2"; got != want {
		t.Errorf("rows = %q, want %q", got, want)
	}
	values := map[string]int64{}
	for _, rm := range bustest.Metrics(t, msgs) {
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				if m.GetName() != "requests" {
					t.Errorf("metric name = %q, want requests", m.GetName())
				}
				if !m.GetSum().GetIsMonotonic() {
					t.Errorf("sum is not monotonic")
				}
				for _, dp := range m.GetSum().GetDataPoints() {
					for _, kv := range dp.GetAttributes() {
						values[kv.GetValue().GetStringValue()] = dp.GetAsInt()
					}
				}
			}
		}
	}
	if values["/x"] != 5 || values["/y"] != 2 {
		t.Errorf("values = %v, want /x=5 /y=2", values)
	}
}

func TestSDKLogsHTTP(t *testing.T) {
	b := runBus(t)
	s := startService(t, b.js, nil)
	ctx := context.Background()
	exp, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(s.HTTPAddr().String()), otlploghttp.WithInsecure(),
		otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(serviceResource("svc-l")), sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	defer func() {
		if err := lp.Shutdown(ctx); err != nil {
			t.Errorf("logger provider shutdown: %v", err)
		}
	}()
	var rec otellog.Record
	rec.SetTimestamp(time.Unix(1700000000, 0))
	rec.SetBody(attribute.StringValue("hello arrow"))
	rec.SetSeverity(otellog.SeverityWarn)
	rec.AddAttributes(attribute.String("user", "ada"), attribute.Int64("attempt", 3))
	lp.Logger("ingest-test").Emit(ctx, rec)
	if err := lp.ForceFlush(ctx); err != nil {
		t.Fatalf("force flush: %v", err)
	}
	msgs := bustest.ReadMessages(t, b.js, schema.Logs)
	if got, want := len(msgs), 1; got != want {
		t.Fatalf("got %d messages, want %d", got, want)
	}
	if got, want := msgs[0].Subject, "otlp.logs.svc-l"; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	rls := bustest.Logs(t, msgs)
	var n int
	for _, rl := range rls {
		for _, sl := range rl.GetScopeLogs() {
			for _, lr := range sl.GetLogRecords() {
				n++
				if got, want := lr.GetBody().GetStringValue(), "hello arrow"; got != want {
					t.Errorf("body = %q, want %q", got, want)
				}
				if got, want := lr.GetTimeUnixNano(), uint64(1700000000)*1e9; got != want {
					t.Errorf("time = %d, want %d", got, want)
				}
				var user string
				var attempt int64
				for _, kv := range lr.GetAttributes() {
					switch kv.GetKey() {
					case "user":
						user = kv.GetValue().GetStringValue()
					case "attempt":
						attempt = kv.GetValue().GetIntValue()
					}
				}
				if user != "ada" || attempt != 3 {
					t.Errorf("attributes user=%q attempt=%d, want ada and 3", user, attempt)
				}
				if got, want := lr.GetSeverityNumber(), logspb.SeverityNumber_SEVERITY_NUMBER_WARN; got != want {
					t.Errorf("severity = %v, want %v", got, want)
				}
			}
		}
	}
	if n != 1 {
		t.Fatalf("got %d log records, want 1", n)
	}
}
