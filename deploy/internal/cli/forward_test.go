package cli

import (
	"context"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// One otlp-arrow forwards over Arrow Flight to a second one: every span sent
// to the first is in the second's files, with its attributes.
func TestRunForwardsToSecondPipelineOverFlight(t *testing.T) {
	target := startRun(t)
	source := startRun(t,
		"OTLP_FORWARDING_ENABLED=true",
		"OTLP_FORWARDING_PROTOCOL=arrow_flight",
		"OTLP_FORWARDING_ENDPOINT_URL=grpc://127.0.0.1:"+strconv.Itoa(target.flightPort),
		"OTLP_FORWARDING_SIGNALS=traces",
	)
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(source.grpcEndpoint), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithSpanProcessor(rec),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "relay"))))
	for i := range 40 {
		_, span := tp.Tracer("fwd").Start(ctx, "op", trace.WithAttributes(attribute.Int("i", i)))
		span.End()
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// The source's forwarder drains before the source stops.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if scrapeRun(t, source, `otlp_arrow_forwarder_rows_forwarded_total{signal="traces"}`) >= 40 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	source.stop(t)
	target.stop(t)
	got, err := schema.TracesFromArrow(readFiles(t, target.out, schema.Traces))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[trace.SpanID]bool{}
	for _, rs := range got {
		if schema.ServiceName(rs.Resource) != "relay" {
			t.Errorf("service = %q", schema.ServiceName(rs.Resource))
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				ids[trace.SpanID(s.SpanId)] = true
			}
		}
	}
	for _, s := range rec.Ended() {
		if !ids[s.SpanContext().SpanID()] {
			t.Errorf("span %s not forwarded", s.SpanContext().SpanID())
		}
	}
	if len(ids) != 40 {
		t.Errorf("target holds %d spans, want 40", len(ids))
	}
}
