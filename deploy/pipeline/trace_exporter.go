package pipeline

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// SpanExporter returns an OpenTelemetry SDK span exporter that writes into
// p, for sdktrace.NewBatchSpanProcessor (or a simple processor). The SDK's
// own OTLP exporter converts the spans; its client hands them to
// [Pipeline.ExportTraces], so ExportSpans returns once the spans are durable
// in the bus, or the pipeline's error ([ErrShutdown] after p.Shutdown,
// [ErrRejected] for invalid spans, ctx's error).
//
// The exporter is safe for concurrent use. Its Shutdown stops only the
// exporter (later exports return [ErrExporterShutdown]), not the pipeline.
// Every call returns a new exporter.
func (p *Pipeline) SpanExporter() sdktrace.SpanExporter {
	exp := otlptrace.NewUnstarted(&traceClient{p: p})
	// Start only marks the exporter started; the client's Start cannot fail.
	_ = exp.Start(context.Background())
	return exp
}

// traceClient is the otlptrace.Client of SpanExporter.
type traceClient struct {
	p     *Pipeline
	state exporterState
}

var _ otlptrace.Client = (*traceClient)(nil)

// Start implements otlptrace.Client; there is no connection to make.
func (c *traceClient) Start(context.Context) error { return nil }

// Stop implements otlptrace.Client: later uploads fail, the pipeline runs on.
func (c *traceClient) Stop(ctx context.Context) error { return c.state.shutdown(ctx) }

// UploadTraces implements otlptrace.Client.
func (c *traceClient) UploadTraces(ctx context.Context, rss []*tracepb.ResourceSpans) error {
	if c.state.down.Load() {
		return fmt.Errorf("upload traces: %w", ErrExporterShutdown)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("upload traces: %w", err)
	}
	if len(rss) == 0 {
		return nil
	}
	if err := c.p.ExportTraces(ctx, &coltracepb.ExportTraceServiceRequest{ResourceSpans: rss}); err != nil {
		return fmt.Errorf("upload traces: %w", err)
	}
	return nil
}
