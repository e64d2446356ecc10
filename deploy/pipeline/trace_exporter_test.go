package pipeline

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

const testSchemaURL = "https://opentelemetry.io/schemas/1.26.0"

func testResource(service string) *resource.Resource {
	return resource.NewWithAttributes(testSchemaURL,
		attribute.String("service.name", service), attribute.String("deployment.environment", "test"))
}

func TestSpanExporterWritesEverySpan(t *testing.T) {
	p := startTestPipeline(t)
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(testResource("checkout")),
		sdktrace.WithSpanProcessor(sdktrace.NewBatchSpanProcessor(p.SpanExporter())),
		sdktrace.WithSpanProcessor(rec))
	tr := tp.Tracer("sdk-test", trace.WithInstrumentationVersion("1.2.3"),
		trace.WithSchemaURL(testSchemaURL), trace.WithInstrumentationAttributes(attribute.String("lib", "x")))
	var linkTo trace.SpanContext
	for i := range 20 {
		pctx, parent := tr.Start(ctx, fmt.Sprintf("parent-%d", i), trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.route", "/cart"), attribute.Int("n", i), attribute.Float64("f", 1.5),
				attribute.Bool("b", true), attribute.StringSlice("tags", []string{"x", "y"})))
		opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
		if linkTo.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: linkTo, Attributes: []attribute.KeyValue{attribute.String("why", "retry")}}))
		}
		_, child := tr.Start(pctx, "child", opts...)
		child.AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", 2)))
		child.SetStatus(codes.Error, "boom")
		child.End()
		parent.SetStatus(codes.Ok, "")
		parent.End()
		linkTo = parent.SpanContext()
	}
	if err := tp.ForceFlush(ctx); err != nil {
		t.Fatalf("force flush: %v", err)
	}
	flush(t, p)

	got, err := schema.TracesFromArrow(mustRead(t, p.OutputDir(), schema.Traces))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[trace.SpanID]*tracepb.Span{}
	for _, rs := range got {
		if got, want := schema.ServiceName(rs.Resource), "checkout"; got != want {
			t.Errorf("service = %q, want %q", got, want)
		}
		if got, want := attrString(rs.Resource.Attributes), attrString(resourceProto(testResource("checkout")).Attributes); got != want {
			t.Errorf("resource attributes = %s, want %s", got, want)
		}
		if rs.SchemaUrl != testSchemaURL {
			t.Errorf("resource schema url = %q", rs.SchemaUrl)
		}
		for _, ss := range rs.ScopeSpans {
			if ss.Scope.GetName() != "sdk-test" || ss.Scope.GetVersion() != "1.2.3" || attrString(ss.Scope.GetAttributes()) != "lib=*v1.AnyValue_StringValue:x" || ss.SchemaUrl != testSchemaURL {
				t.Errorf("scope = %v, schema url %q", ss.Scope, ss.SchemaUrl)
			}
			for _, s := range ss.Spans {
				byID[trace.SpanID(s.SpanId)] = s
			}
		}
	}
	want := rec.Ended()
	if got, want := len(byID), len(want); got != want || want != 40 {
		t.Fatalf("files hold %d spans, recorded %d, want 40", got, want)
	}
	for _, w := range want {
		g, ok := byID[w.SpanContext().SpanID()]
		if !ok {
			t.Errorf("span %s missing", w.Name())
			continue
		}
		if trace.TraceID(g.TraceId) != w.SpanContext().TraceID() || g.Name != w.Name() || int(g.Kind) != int(w.SpanKind()) ||
			g.StartTimeUnixNano != uint64(w.StartTime().UnixNano()) || g.EndTimeUnixNano != uint64(w.EndTime().UnixNano()) {
			t.Errorf("span %s differs: %v", w.Name(), g)
		}
		if w.Parent().IsValid() && trace.SpanID(g.ParentSpanId) != w.Parent().SpanID() {
			t.Errorf("span %s parent = %x, want %s", w.Name(), g.ParentSpanId, w.Parent().SpanID())
		}
		if got, want := attrString(g.Attributes), attrString(attrKVs(w.Attributes())); got != want {
			t.Errorf("span %s attributes = %s, want %s", w.Name(), got, want)
		}
		if len(g.Events) != len(w.Events()) {
			t.Errorf("span %s: %d events, want %d", w.Name(), len(g.Events), len(w.Events()))
		} else {
			for i, e := range w.Events() {
				if g.Events[i].Name != e.Name || g.Events[i].TimeUnixNano != uint64(e.Time.UnixNano()) || attrString(g.Events[i].Attributes) != attrString(attrKVs(e.Attributes)) {
					t.Errorf("span %s event %d = %v, want %v", w.Name(), i, g.Events[i], e)
				}
			}
		}
		if len(g.Links) != len(w.Links()) {
			t.Errorf("span %s: %d links, want %d", w.Name(), len(g.Links), len(w.Links()))
		} else {
			for i, l := range w.Links() {
				if trace.SpanID(g.Links[i].SpanId) != l.SpanContext.SpanID() || attrString(g.Links[i].Attributes) != attrString(attrKVs(l.Attributes)) {
					t.Errorf("span %s link %d = %v", w.Name(), i, g.Links[i])
				}
			}
		}
		wantCode := map[codes.Code]tracepb.Status_StatusCode{
			codes.Unset: tracepb.Status_STATUS_CODE_UNSET, codes.Ok: tracepb.Status_STATUS_CODE_OK, codes.Error: tracepb.Status_STATUS_CODE_ERROR,
		}[w.Status().Code]
		if g.Status.GetCode() != wantCode || g.Status.GetMessage() != w.Status().Description {
			t.Errorf("span %s status = %v, want %v", w.Name(), g.Status, w.Status())
		}
	}

	// Shutting the provider down shuts the exporter, not the pipeline.
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("provider shutdown: %v", err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Errorf("flush after exporter shutdown: %v", err)
	}
}

func TestSpanExporterErrors(t *testing.T) {
	p := startTestPipeline(t)
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	_, s := tp.Tracer("t").Start(ctx, "s")
	s.End()
	spans := rec.Ended()

	exp := p.SpanExporter()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := exp.ExportSpans(cctx, spans); !errors.Is(err, context.Canceled) {
		t.Errorf("export with canceled ctx = %v, want context.Canceled", err)
	}
	if err := exp.ExportSpans(ctx, spans); err != nil {
		t.Errorf("export: %v", err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Errorf("exporter shutdown: %v", err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Errorf("second exporter shutdown: %v", err)
	}
	if err := exp.ExportSpans(ctx, spans); !errors.Is(err, ErrExporterShutdown) {
		t.Errorf("export after exporter shutdown = %v, want ErrExporterShutdown", err)
	}

	other := p.SpanExporter()
	if err := other.ExportSpans(ctx, spans); err != nil {
		t.Errorf("another exporter after the first shut down: %v", err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatalf("pipeline shutdown: %v", err)
	}
	if err := other.ExportSpans(ctx, spans); !errors.Is(err, ErrShutdown) {
		t.Errorf("export after pipeline shutdown = %v, want ErrShutdown", err)
	}
}
