package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/deploy/pipeline"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// startExample starts a pipeline writing under a new temporary directory;
// stop removes the directory after shutting the pipeline down.
func startExample() (p *pipeline.Pipeline, stop func()) {
	dir, err := os.MkdirTemp("", "otlp-arrow-example")
	if err != nil {
		panic(err)
	}
	p, err = pipeline.Start(context.Background(),
		pipeline.WithOutputDir(filepath.Join(dir, "out")),
		pipeline.WithDataDir(filepath.Join(dir, "data")))
	if err != nil {
		panic(err)
	}
	return p, func() {
		_ = p.Shutdown(context.Background())
		os.RemoveAll(dir)
	}
}

// readBack reads every record batch of a signal's files, finished or still
// open (Flush syncs the rows; the file may still end in .partial).
func readBack(out string, sig schema.Signal) []arrow.RecordBatch {
	dir := filepath.Join(out, "otlp", string(sig))
	entries, _ := os.ReadDir(dir)
	var recs []arrow.RecordBatch
	for _, e := range entries {
		if !strings.Contains(e.Name(), ".arrows") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			panic(err)
		}
		r, err := ipc.NewReader(f)
		if err != nil {
			panic(err)
		}
		for r.Next() {
			rec := r.RecordBatch()
			rec.Retain() // the reader releases it on Next
			recs = append(recs, rec)
		}
		r.Release()
		f.Close()
	}
	return recs
}

// The embedded pipeline takes OTLP requests and writes them to Arrow files.
func Example() {
	p, stop := startExample()
	defer stop()
	ctx := context.Background()

	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{
			Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "checkout"}},
		}}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
			TraceId: []byte("0123456789abcdef"), SpanId: []byte("span0001"), Name: "GET /cart",
			StartTimeUnixNano: uint64(time.Now().UnixNano()), EndTimeUnixNano: uint64(time.Now().UnixNano()),
		}}}},
	}}}
	if err := p.ExportTraces(ctx, req); err != nil {
		panic(err)
	}
	if err := p.Flush(ctx); err != nil { // now the span is in a file
		panic(err)
	}
	rss, err := schema.TracesFromArrow(readBack(p.OutputDir(), schema.Traces))
	if err != nil {
		panic(err)
	}
	for _, rs := range rss {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				fmt.Println(schema.ServiceName(rs.Resource), s.Name)
			}
		}
	}
	// Output: checkout GET /cart
}

// A TracerProvider writes its spans to files through the pipeline.
func ExamplePipeline_SpanExporter() {
	p, stop := startExample()
	defer stop()
	ctx := context.Background()

	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "checkout"))),
		sdktrace.WithBatcher(p.SpanExporter()))
	tracer := tp.Tracer("example")
	ctx, parent := tracer.Start(ctx, "parent")
	_, child := tracer.Start(ctx, "child")
	child.End()
	parent.End()
	// Shutting the provider down exports what it holds; the pipeline runs on.
	if err := tp.Shutdown(ctx); err != nil {
		panic(err)
	}
	if err := p.Flush(ctx); err != nil {
		panic(err)
	}

	rss, err := schema.TracesFromArrow(readBack(p.OutputDir(), schema.Traces))
	if err != nil {
		panic(err)
	}
	var names []string
	for _, rs := range rss {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				names = append(names, s.Name)
			}
		}
	}
	sort.Strings(names)
	fmt.Println(len(names), "spans:", names)
	// Output: 2 spans: [child parent]
}

// A MeterProvider's periodic reader writes its points to files through the
// pipeline, here with delta temporality.
func ExamplePipeline_MetricExporter() {
	p, stop := startExample()
	defer stop()
	ctx := context.Background()

	reader := sdkmetric.NewPeriodicReader(p.MetricExporter(pipeline.WithDeltaTemporality()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	orders, _ := mp.Meter("example").Int64Counter("orders")
	orders.Add(ctx, 3, metric.WithAttributes(attribute.String("region", "eu")))
	orders.Add(ctx, 4, metric.WithAttributes(attribute.String("region", "us")))
	if err := mp.Shutdown(ctx); err != nil { // the reader exports on shutdown
		panic(err)
	}
	if err := p.Flush(ctx); err != nil {
		panic(err)
	}

	rms, err := schema.MetricsFromArrow(readBack(p.OutputDir(), schema.Metrics))
	if err != nil {
		panic(err)
	}
	var total int64
	for _, rm := range rms {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				for _, dp := range m.GetSum().GetDataPoints() {
					total += dp.GetAsInt()
				}
			}
		}
	}
	fmt.Println("orders:", total)
	// Output: orders: 7
}

// A LoggerProvider writes its records to files through the pipeline.
func ExamplePipeline_LogExporter() {
	p, stop := startExample()
	defer stop()
	ctx := context.Background()

	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(p.LogExporter())))
	var rec otellog.Record
	rec.SetSeverity(otellog.SeverityWarn)
	rec.SetBody(attribute.StringValue("disk almost full"))
	lp.Logger("example").Emit(ctx, rec)
	if err := lp.Shutdown(ctx); err != nil {
		panic(err)
	}
	if err := p.Flush(ctx); err != nil {
		panic(err)
	}

	rls, err := schema.LogsFromArrow(readBack(p.OutputDir(), schema.Logs))
	if err != nil {
		panic(err)
	}
	for _, rl := range rls {
		for _, sl := range rl.ScopeLogs {
			for _, r := range sl.LogRecords {
				fmt.Println(r.SeverityNumber, r.Body.GetStringValue())
			}
		}
	}
	// Output: SEVERITY_NUMBER_WARN disk almost full
}
