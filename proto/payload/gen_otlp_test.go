package payload

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Generators of OTLP requests converted with the real schema package, so
// that the encoder is tested on the real ~200-field schemas and their
// dictionary columns.

func str(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

func genResource(service string) *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
		kv("service.name", str(service)),
		kv("host.name", str("node-1.internal")),
		kv("process.pid", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 4242}}),
	}}
}

func genAttrs(r *rand.Rand) []*commonpb.KeyValue {
	kvs := []*commonpb.KeyValue{
		kv("http.request.method", str([]string{"GET", "POST"}[r.IntN(2)])),
		kv("http.response.status_code", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: int64(200 + r.IntN(3)*100)}}),
		kv("app.ratio", &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: r.Float64()}}),
	}
	for j := range r.IntN(4) {
		kvs = append(kvs, kv(fmt.Sprintf("app.extra.%d", j), str(fmt.Sprintf("v-%d", r.IntN(50)))))
	}
	return kvs
}

func randID(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

var genScope = &commonpb.InstrumentationScope{Name: "test/scope", Version: "1.0.0"}

// genTraces returns rows spans of one service, seeded by seed.
func genTraces(seed uint64, service string, rows int) []*tracepb.ResourceSpans {
	r := rand.New(rand.NewPCG(seed, 1))
	ss := &tracepb.ScopeSpans{Scope: genScope}
	for i := range rows {
		start := uint64(1_760_000_000_000_000_000) + r.Uint64N(1e12)
		s := &tracepb.Span{
			TraceId:           randID(r, 16),
			SpanId:            randID(r, 8),
			Name:              fmt.Sprintf("GET /api/%d", r.IntN(5)),
			Kind:              tracepb.Span_SPAN_KIND_SERVER,
			StartTimeUnixNano: start,
			EndTimeUnixNano:   start + r.Uint64N(1e9),
			Attributes:        genAttrs(r),
		}
		if i%4 == 0 {
			s.Events = []*tracepb.Span_Event{{TimeUnixNano: start + 10, Name: "cache.miss", Attributes: []*commonpb.KeyValue{kv("key", str("k"))}}}
		}
		ss.Spans = append(ss.Spans, s)
	}
	return []*tracepb.ResourceSpans{{Resource: genResource(service), ScopeSpans: []*tracepb.ScopeSpans{ss}}}
}

func genLogs(seed uint64, service string, rows int) []*logspb.ResourceLogs {
	r := rand.New(rand.NewPCG(seed, 2))
	sl := &logspb.ScopeLogs{Scope: genScope}
	for range rows {
		t := uint64(1_760_000_000_000_000_000) + r.Uint64N(1e12)
		sl.LogRecords = append(sl.LogRecords, &logspb.LogRecord{
			TimeUnixNano:   t,
			SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_INFO,
			SeverityText:   "INFO",
			Body:           str(fmt.Sprintf("request %d handled", r.IntN(1e6))),
			Attributes:     genAttrs(r),
			TraceId:        randID(r, 16),
			SpanId:         randID(r, 8),
		})
	}
	return []*logspb.ResourceLogs{{Resource: genResource(service), ScopeLogs: []*logspb.ScopeLogs{sl}}}
}

// genMetrics returns about rows data points of gauges, sums and histograms.
func genMetrics(seed uint64, service string, rows int) []*metricspb.ResourceMetrics {
	r := rand.New(rand.NewPCG(seed, 3))
	sm := &metricspb.ScopeMetrics{Scope: genScope}
	for i := range rows {
		t := uint64(1_760_000_000_000_000_000) + r.Uint64N(1e12)
		name := fmt.Sprintf("metric.%d", i%7)
		switch i % 3 {
		case 0:
			sm.Metrics = append(sm.Metrics, &metricspb.Metric{Name: name, Unit: "1", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{
				DataPoints: []*metricspb.NumberDataPoint{{TimeUnixNano: t, Attributes: genAttrs(r), Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: r.Float64()}}},
			}}})
		case 1:
			sm.Metrics = append(sm.Metrics, &metricspb.Metric{Name: name, Unit: "By", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{
				AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, IsMonotonic: true,
				DataPoints: []*metricspb.NumberDataPoint{{StartTimeUnixNano: t - 1e9, TimeUnixNano: t, Attributes: genAttrs(r), Value: &metricspb.NumberDataPoint_AsInt{AsInt: r.Int64N(1000)}}},
			}}})
		default:
			sum := r.Float64() * 100
			sm.Metrics = append(sm.Metrics, &metricspb.Metric{Name: name, Unit: "ms", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
				AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA,
				DataPoints: []*metricspb.HistogramDataPoint{{
					StartTimeUnixNano: t - 1e9, TimeUnixNano: t, Attributes: genAttrs(r), Count: 6, Sum: &sum,
					BucketCounts: []uint64{1, 2, 3}, ExplicitBounds: []float64{10, 100},
				}},
			}}})
		}
	}
	return []*metricspb.ResourceMetrics{{Resource: genResource(service), ScopeMetrics: []*metricspb.ScopeMetrics{sm}}}
}

// signalBatch converts a generated request of the named signal ("traces",
// "metrics" or "logs") with rows rows for service.
func signalBatch(t testing.TB, mem memory.Allocator, signal string, seed uint64, service string, rows int) arrow.RecordBatch {
	t.Helper()
	var (
		rec arrow.RecordBatch
		err error
	)
	switch signal {
	case "traces":
		rec, err = schema.TracesToArrow(mem, genTraces(seed, service, rows))
	case "metrics":
		rec, err = schema.MetricsToArrow(mem, genMetrics(seed, service, rows))
	case "logs":
		rec, err = schema.LogsToArrow(mem, genLogs(seed, service, rows))
	default:
		t.Fatalf("unknown signal %q", signal)
	}
	if err != nil {
		t.Fatalf("%s to arrow: %v", signal, err)
	}
	return rec
}
