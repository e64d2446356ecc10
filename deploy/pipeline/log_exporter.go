package pipeline

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
)

// LogExporter returns an OpenTelemetry SDK log exporter that writes into p,
// for sdklog.NewBatchProcessor (or a simple processor). Export converts the
// records to OTLP (timestamps, severity, body of any kind, attributes, trace
// context, event name, dropped attribute count, scope and resource) and
// hands them to [Pipeline.ExportLogs]; it returns once the records are
// durable in the bus, or the pipeline's error ([ErrShutdown] after
// p.Shutdown).
//
// The exporter is safe for concurrent use; its Shutdown stops only the
// exporter (later exports return sdklog.ErrExporterShutdown), not the
// pipeline.
func (p *Pipeline) LogExporter() sdklog.Exporter {
	return &logExporter{p: p}
}

type logExporter struct {
	p     *Pipeline
	state exporterState
}

var _ sdklog.Exporter = (*logExporter)(nil)

// Export implements sdklog.Exporter.
func (e *logExporter) Export(ctx context.Context, records []sdklog.Record) error {
	if e.state.down.Load() {
		return sdklog.ErrExporterShutdown
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("export logs: %w", err)
	}
	if len(records) == 0 {
		return nil
	}
	req := &collogspb.ExportLogsServiceRequest{ResourceLogs: resourceLogsProto(records)}
	if err := e.p.ExportLogs(ctx, req); err != nil {
		return fmt.Errorf("export logs: %w", err)
	}
	return nil
}

// ForceFlush implements sdklog.Exporter; the exporter holds nothing.
func (e *logExporter) ForceFlush(ctx context.Context) error { return e.state.flush(ctx) }

// Shutdown implements sdklog.Exporter; the pipeline keeps running.
func (e *logExporter) Shutdown(ctx context.Context) error { return e.state.shutdown(ctx) }

// resourceLogsProto groups records by resource and scope, in order of
// first appearance.
func resourceLogsProto(records []sdklog.Record) []*logspb.ResourceLogs {
	type scopeKey struct {
		res   attribute.Distinct
		url   string
		scope instrumentation.Scope
	}
	type resKey struct {
		res attribute.Distinct
		url string
	}
	var out []*logspb.ResourceLogs
	resIdx := map[resKey]*logspb.ResourceLogs{}
	scopeIdx := map[scopeKey]*logspb.ScopeLogs{}
	for i := range records {
		r := &records[i]
		res := r.Resource()
		rk := resKey{res.Equivalent(), res.SchemaURL()}
		rl, ok := resIdx[rk]
		if !ok {
			rl = &logspb.ResourceLogs{Resource: resourceProto(res), SchemaUrl: res.SchemaURL()}
			resIdx[rk] = rl
			out = append(out, rl)
		}
		scope := r.InstrumentationScope()
		sk := scopeKey{rk.res, rk.url, scope}
		sl, ok := scopeIdx[sk]
		if !ok {
			sl = &logspb.ScopeLogs{Scope: scopeProto(scope), SchemaUrl: scope.SchemaURL}
			scopeIdx[sk] = sl
			rl.ScopeLogs = append(rl.ScopeLogs, sl)
		}
		sl.LogRecords = append(sl.LogRecords, logRecordProto(r))
	}
	return out
}

// logRecordProto converts one record; an empty body stays unset.
func logRecordProto(r *sdklog.Record) *logspb.LogRecord {
	out := &logspb.LogRecord{
		TimeUnixNano:           timeUnixNano(r.Timestamp()),
		ObservedTimeUnixNano:   timeUnixNano(r.ObservedTimestamp()),
		SeverityNumber:         severityProto(r.Severity()),
		SeverityText:           r.SeverityText(),
		EventName:              r.EventName(),
		DroppedAttributesCount: clampUint32(r.DroppedAttributes()),
		Flags:                  uint32(r.TraceFlags()),
	}
	if body := r.Body(); body.Type() != attribute.EMPTY {
		out.Body = anyValue(body)
	}
	if n := r.AttributesLen(); n > 0 {
		out.Attributes = make([]*commonpb.KeyValue, 0, n)
		r.WalkAttributes(func(kv attribute.KeyValue) bool {
			out.Attributes = append(out.Attributes, attrKV(kv))
			return true
		})
	}
	if id := r.TraceID(); id.IsValid() {
		out.TraceId = id[:]
	}
	if id := r.SpanID(); id.IsValid() {
		out.SpanId = id[:]
	}
	return out
}

// severityProto maps the API's severity onto OTLP's: both number the
// levels 1 (TRACE) to 24 (FATAL4).
func severityProto(s otellog.Severity) logspb.SeverityNumber {
	if s < otellog.SeverityTrace1 || s > otellog.SeverityFatal4 {
		return logspb.SeverityNumber_SEVERITY_NUMBER_UNSPECIFIED
	}
	return logspb.SeverityNumber(s)
}
