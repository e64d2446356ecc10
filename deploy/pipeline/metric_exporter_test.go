package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

var (
	t0 = time.Unix(1_700_000_000, 0).UTC()
	t1 = t0.Add(10 * time.Second)
)

func kvStr(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func kvInt(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}

func f64(v float64) *float64 { return &v }

// sdkMetrics is SDK metric data of every aggregation kind, and want is what
// it must become in OTLP.
func sdkMetrics() (*metricdata.ResourceMetrics, *metricspb.ResourceMetrics) {
	attrs := attribute.NewSet(attribute.String("region", "eu"), attribute.Int("shard", 3))
	wantAttrs := []*commonpb.KeyValue{kvStr("region", "eu"), kvInt("shard", 3)}
	traceID := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	spanID := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	exI := []metricdata.Exemplar[int64]{{FilteredAttributes: []attribute.KeyValue{attribute.String("user", "u1")}, Time: t1, Value: 4, TraceID: traceID, SpanID: spanID}}
	exF := []metricdata.Exemplar[float64]{{FilteredAttributes: []attribute.KeyValue{attribute.String("user", "u2")}, Time: t1, Value: 0.25, TraceID: traceID, SpanID: spanID}}
	wantExI := []*metricspb.Exemplar{{FilteredAttributes: []*commonpb.KeyValue{kvStr("user", "u1")}, TimeUnixNano: uint64(t1.UnixNano()), Value: &metricspb.Exemplar_AsInt{AsInt: 4}, TraceId: traceID, SpanId: spanID}}
	wantExF := []*metricspb.Exemplar{{FilteredAttributes: []*commonpb.KeyValue{kvStr("user", "u2")}, TimeUnixNano: uint64(t1.UnixNano()), Value: &metricspb.Exemplar_AsDouble{AsDouble: 0.25}, TraceId: traceID, SpanId: spanID}}
	s0, s1 := uint64(t0.UnixNano()), uint64(t1.UnixNano())

	rm := &metricdata.ResourceMetrics{
		Resource: testResource("metrics-svc"),
		ScopeMetrics: []metricdata.ScopeMetrics{{
			Scope: instrumentation.Scope{Name: "meter-a", Version: "0.1.0", SchemaURL: testSchemaURL, Attributes: attribute.NewSet(attribute.String("lib", "a"))},
			Metrics: []metricdata.Metrics{
				{Name: "requests", Description: "requests served", Unit: "{request}", Data: metricdata.Sum[int64]{
					Temporality: metricdata.CumulativeTemporality, IsMonotonic: true,
					DataPoints: []metricdata.DataPoint[int64]{{Attributes: attrs, StartTime: t0, Time: t1, Value: 12, Exemplars: exI}},
				}},
				{Name: "balance", Unit: "EUR", Data: metricdata.Sum[float64]{
					Temporality: metricdata.DeltaTemporality, IsMonotonic: false,
					DataPoints: []metricdata.DataPoint[float64]{{StartTime: t0, Time: t1, Value: -1.5, Exemplars: exF}},
				}},
				{Name: "temperature", Unit: "Cel", Data: metricdata.Gauge[float64]{
					DataPoints: []metricdata.DataPoint[float64]{{Attributes: attrs, Time: t1, Value: 21.5}},
				}},
				{Name: "queue.depth", Data: metricdata.Gauge[int64]{
					DataPoints: []metricdata.DataPoint[int64]{{Time: t1, Value: 7}, {Attributes: attrs, Time: t1, Value: 9}},
				}},
			},
		}, {
			Scope: instrumentation.Scope{Name: "meter-b"},
			Metrics: []metricdata.Metrics{
				{Name: "latency", Unit: "ms", Data: metricdata.Histogram[float64]{
					Temporality: metricdata.DeltaTemporality,
					DataPoints: []metricdata.HistogramDataPoint[float64]{{
						Attributes: attrs, StartTime: t0, Time: t1, Count: 3, Bounds: []float64{1, 10}, BucketCounts: []uint64{1, 1, 1},
						Min: metricdata.NewExtrema(0.5), Max: metricdata.NewExtrema(20.0), Sum: 25.5, Exemplars: exF,
					}},
				}},
				{Name: "sizes", Unit: "By", Data: metricdata.Histogram[int64]{
					Temporality: metricdata.CumulativeTemporality,
					DataPoints: []metricdata.HistogramDataPoint[int64]{{
						StartTime: t0, Time: t1, Count: 2, Bounds: []float64{100}, BucketCounts: []uint64{2, 0}, Sum: 150, Exemplars: exI,
					}},
				}},
				{Name: "exp.latency", Unit: "s", Data: metricdata.ExponentialHistogram[float64]{
					Temporality: metricdata.CumulativeTemporality,
					DataPoints: []metricdata.ExponentialHistogramDataPoint[float64]{{
						Attributes: attrs, StartTime: t0, Time: t1, Count: 6, Min: metricdata.NewExtrema(-2.0), Max: metricdata.NewExtrema(8.0), Sum: 12,
						Scale: 2, ZeroCount: 1, ZeroThreshold: 0.001,
						PositiveBucket: metricdata.ExponentialBucket{Offset: 3, Counts: []uint64{1, 2, 1}},
						NegativeBucket: metricdata.ExponentialBucket{Offset: -1, Counts: []uint64{1}},
						Exemplars:      exF,
					}},
				}},
				{Name: "exp.sizes", Data: metricdata.ExponentialHistogram[int64]{
					Temporality: metricdata.DeltaTemporality,
					DataPoints: []metricdata.ExponentialHistogramDataPoint[int64]{{
						StartTime: t0, Time: t1, Count: 1, Sum: 4, Scale: -1,
						PositiveBucket: metricdata.ExponentialBucket{Offset: 0, Counts: []uint64{1}},
					}},
				}},
				{Name: "rpc.duration", Unit: "ms", Data: metricdata.Summary{
					DataPoints: []metricdata.SummaryDataPoint{{
						Attributes: attrs, StartTime: t0, Time: t1, Count: 10, Sum: 55,
						QuantileValues: []metricdata.QuantileValue{{Quantile: 0, Value: 1}, {Quantile: 0.5, Value: 5}, {Quantile: 1, Value: 10}},
					}},
				}},
			},
		}},
	}

	cum := metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE
	delta := metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA
	want := &metricspb.ResourceMetrics{
		Resource:  &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kvStr("deployment.environment", "test"), kvStr("service.name", "metrics-svc")}},
		SchemaUrl: testSchemaURL,
		ScopeMetrics: []*metricspb.ScopeMetrics{{
			Scope:     &commonpb.InstrumentationScope{Name: "meter-a", Version: "0.1.0", Attributes: []*commonpb.KeyValue{kvStr("lib", "a")}},
			SchemaUrl: testSchemaURL,
			Metrics: []*metricspb.Metric{
				{Name: "requests", Description: "requests served", Unit: "{request}", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{
					AggregationTemporality: cum, IsMonotonic: true,
					DataPoints: []*metricspb.NumberDataPoint{{Attributes: wantAttrs, StartTimeUnixNano: s0, TimeUnixNano: s1, Value: &metricspb.NumberDataPoint_AsInt{AsInt: 12}, Exemplars: wantExI}},
				}}},
				{Name: "balance", Unit: "EUR", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{
					AggregationTemporality: delta,
					DataPoints:             []*metricspb.NumberDataPoint{{StartTimeUnixNano: s0, TimeUnixNano: s1, Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: -1.5}, Exemplars: wantExF}},
				}}},
				{Name: "temperature", Unit: "Cel", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{
					DataPoints: []*metricspb.NumberDataPoint{{Attributes: wantAttrs, TimeUnixNano: s1, Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: 21.5}}},
				}}},
				{Name: "queue.depth", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{
					DataPoints: []*metricspb.NumberDataPoint{
						{TimeUnixNano: s1, Value: &metricspb.NumberDataPoint_AsInt{AsInt: 7}},
						{Attributes: wantAttrs, TimeUnixNano: s1, Value: &metricspb.NumberDataPoint_AsInt{AsInt: 9}},
					},
				}}},
			},
		}, {
			Scope: &commonpb.InstrumentationScope{Name: "meter-b"},
			Metrics: []*metricspb.Metric{
				{Name: "latency", Unit: "ms", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
					AggregationTemporality: delta,
					DataPoints: []*metricspb.HistogramDataPoint{{
						Attributes: wantAttrs, StartTimeUnixNano: s0, TimeUnixNano: s1, Count: 3, Sum: f64(25.5),
						BucketCounts: []uint64{1, 1, 1}, ExplicitBounds: []float64{1, 10}, Exemplars: wantExF, Min: f64(0.5), Max: f64(20),
					}},
				}}},
				{Name: "sizes", Unit: "By", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
					AggregationTemporality: cum,
					DataPoints: []*metricspb.HistogramDataPoint{{
						StartTimeUnixNano: s0, TimeUnixNano: s1, Count: 2, Sum: f64(150),
						BucketCounts: []uint64{2, 0}, ExplicitBounds: []float64{100}, Exemplars: wantExI,
					}},
				}}},
				{Name: "exp.latency", Unit: "s", Data: &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: &metricspb.ExponentialHistogram{
					AggregationTemporality: cum,
					DataPoints: []*metricspb.ExponentialHistogramDataPoint{{
						Attributes: wantAttrs, StartTimeUnixNano: s0, TimeUnixNano: s1, Count: 6, Sum: f64(12), Scale: 2, ZeroCount: 1, ZeroThreshold: 0.001,
						Positive:  &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: 3, BucketCounts: []uint64{1, 2, 1}},
						Negative:  &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: -1, BucketCounts: []uint64{1}},
						Exemplars: wantExF, Min: f64(-2), Max: f64(8),
					}},
				}}},
				{Name: "exp.sizes", Data: &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: &metricspb.ExponentialHistogram{
					AggregationTemporality: delta,
					DataPoints: []*metricspb.ExponentialHistogramDataPoint{{
						StartTimeUnixNano: s0, TimeUnixNano: s1, Count: 1, Sum: f64(4), Scale: -1,
						Positive: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: 0, BucketCounts: []uint64{1}},
						Negative: &metricspb.ExponentialHistogramDataPoint_Buckets{},
					}},
				}}},
				{Name: "rpc.duration", Unit: "ms", Data: &metricspb.Metric_Summary{Summary: &metricspb.Summary{
					DataPoints: []*metricspb.SummaryDataPoint{{
						Attributes: wantAttrs, StartTimeUnixNano: s0, TimeUnixNano: s1, Count: 10, Sum: 55,
						QuantileValues: []*metricspb.SummaryDataPoint_ValueAtQuantile{{Quantile: 0, Value: 1}, {Quantile: 0.5, Value: 5}, {Quantile: 1, Value: 10}},
					}},
				}}},
			},
		}},
	}
	return rm, want
}

func TestResourceMetricsProto(t *testing.T) {
	rm, want := sdkMetrics()
	got, err := resourceMetricsProto(rm)
	if err != nil {
		t.Fatal(err)
	}
	// Compare metric by metric for readable failures, then the whole.
	for i := range want.ScopeMetrics {
		for j := range want.ScopeMetrics[i].Metrics {
			diff(t, "metric "+want.ScopeMetrics[i].Metrics[j].Name, got.ScopeMetrics[i].Metrics[j], want.ScopeMetrics[i].Metrics[j])
		}
	}
	diff(t, "resource metrics", got, want)
}

type unknownAgg struct{ metricdata.Gauge[int64] }

func TestResourceMetricsProtoUnknown(t *testing.T) {
	rm := &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{
		Scope: instrumentation.Scope{Name: "s"},
		Metrics: []metricdata.Metrics{
			{Name: "odd", Data: unknownAgg{}},
			{Name: "bad-temporality", Data: metricdata.Sum[int64]{Temporality: metricdata.Temporality(99)}},
			{Name: "fine", Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{{Value: 1}}}},
		},
	}}}
	got, err := resourceMetricsProto(rm)
	if !errors.Is(err, errUnknownAggregation) {
		t.Errorf("err = %v, want errUnknownAggregation", err)
	}
	if n := len(got.ScopeMetrics[0].Metrics); n != 1 || got.ScopeMetrics[0].Metrics[0].Name != "fine" {
		t.Errorf("kept %v, want only fine", got.ScopeMetrics[0].Metrics)
	}
	if got.Resource != nil {
		t.Errorf("nil SDK resource became %v", got.Resource)
	}
}

// TestMetricExporterRoundTrip exports SDK data of every kind and reads
// exactly its OTLP form back from the files.
func TestMetricExporterRoundTrip(t *testing.T) {
	p := startTestPipeline(t)
	ctx := context.Background()
	rm, want := sdkMetrics()
	if err := p.MetricExporter().Export(ctx, rm); err != nil {
		t.Fatalf("export: %v", err)
	}
	flush(t, p)
	got, err := schema.MetricsFromArrow(mustRead(t, p.OutputDir(), schema.Metrics))
	if err != nil {
		t.Fatal(err)
	}
	norm := schema.NormalizeMetrics([]*metricspb.ResourceMetrics{want})
	if len(got) != 1 || len(norm) != 1 {
		t.Fatalf("got %d resources, want %d", len(got), len(norm))
	}
	diff(t, "metrics read back", got[0], norm[0])
}

// pointKey renders one data point for comparisons that ignore order.
func pointKey(m *metricspb.Metric, attrs []*commonpb.KeyValue, value string) string {
	return fmt.Sprintf("%s{%s} %s", m.Name, attrString(attrs), value)
}

func TestMetricExporterThroughSDK(t *testing.T) {
	cum := metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE
	delta := metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA
	tests := []struct {
		name string
		opts []MetricOption
		// want is every point in the files: the ForceFlush export and the
		// Shutdown export.
		want []string
		// temporality of the monotonic sums and histograms.
		temporality metricspb.AggregationTemporality
	}{
		{
			name: "cumulative",
			want: []string{
				`exp.latency{} count=3 sum=7 zero=0 buckets=3`, `exp.latency{} count=4 sum=15 zero=0 buckets=4`,
				`inflight{} 2`, `inflight{} 4`,
				`latency{} count=2 sum=111.5 min=12.5 max=99`, `latency{} count=3 sum=112 min=0.5 max=99`,
				`load{} 0.75`, `load{} 0.75`,
				`requests{region=*v1.AnyValue_StringValue:eu} 5`, `requests{region=*v1.AnyValue_StringValue:eu} 6`,
				`requests{region=*v1.AnyValue_StringValue:us} 7`, `requests{region=*v1.AnyValue_StringValue:us} 7`,
				`temp{} 21`, `temp{} 22`,
			},
			temporality: cum,
		},
		{
			name: "delta",
			opts: []MetricOption{WithDeltaTemporality()},
			want: []string{
				`exp.latency{} count=1 sum=8 zero=0 buckets=1`, `exp.latency{} count=3 sum=7 zero=0 buckets=3`,
				`inflight{} 2`, `inflight{} 4`,
				`latency{} count=1 sum=0.5 min=0.5 max=0.5`, `latency{} count=2 sum=111.5 min=12.5 max=99`,
				`load{} 0.75`, `load{} 0.75`,
				`requests{region=*v1.AnyValue_StringValue:eu} 1`, `requests{region=*v1.AnyValue_StringValue:eu} 5`,
				`requests{region=*v1.AnyValue_StringValue:us} 7`,
				`temp{} 21`, `temp{} 22`,
			},
			temporality: delta,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startTestPipeline(t)
			ctx := context.Background()
			reader := sdkmetric.NewPeriodicReader(p.MetricExporter(tt.opts...), sdkmetric.WithInterval(time.Hour))
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(testResource("metered")), sdkmetric.WithReader(reader),
				sdkmetric.WithView(sdkmetric.NewView(sdkmetric.Instrument{Name: "exp.latency"},
					sdkmetric.Stream{Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 160, MaxScale: 20}})))
			meter := mp.Meter("meter-test", metric.WithInstrumentationVersion("2.0.0"), metric.WithSchemaURL(testSchemaURL))
			requests, _ := meter.Int64Counter("requests", metric.WithDescription("requests served"), metric.WithUnit("{request}"))
			inflight, _ := meter.Int64UpDownCounter("inflight")
			latency, _ := meter.Float64Histogram("latency", metric.WithUnit("ms"))
			expLatency, _ := meter.Float64Histogram("exp.latency", metric.WithUnit("s"))
			temp, _ := meter.Int64Gauge("temp")
			_, err := meter.Float64ObservableGauge("load", metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
				o.Observe(0.75)
				return nil
			}))
			if err != nil {
				t.Fatal(err)
			}
			region := func(r string) metric.MeasurementOption { return metric.WithAttributes(attribute.String("region", r)) }

			requests.Add(ctx, 5, region("eu"))
			requests.Add(ctx, 7, region("us"))
			inflight.Add(ctx, 2)
			latency.Record(ctx, 12.5)
			latency.Record(ctx, 99)
			for _, v := range []float64{1, 2, 4} {
				expLatency.Record(ctx, v)
			}
			temp.Record(ctx, 21)
			if err := mp.ForceFlush(ctx); err != nil {
				t.Fatalf("force flush: %v", err)
			}
			requests.Add(ctx, 1, region("eu"))
			inflight.Add(ctx, 2)
			latency.Record(ctx, 0.5)
			expLatency.Record(ctx, 8)
			temp.Record(ctx, 22)
			if err := mp.Shutdown(ctx); err != nil {
				t.Fatalf("provider shutdown: %v", err)
			}
			flush(t, p)

			rms, err := schema.MetricsFromArrow(mustRead(t, p.OutputDir(), schema.Metrics))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, rm := range rms {
				if schema.ServiceName(rm.Resource) != "metered" || rm.SchemaUrl != testSchemaURL {
					t.Errorf("resource = %v, schema url %q", rm.Resource, rm.SchemaUrl)
				}
				for _, sm := range rm.ScopeMetrics {
					if sm.Scope.GetName() != "meter-test" || sm.Scope.GetVersion() != "2.0.0" || sm.SchemaUrl != testSchemaURL {
						t.Errorf("scope = %v, schema url %q", sm.Scope, sm.SchemaUrl)
					}
					for _, m := range sm.Metrics {
						got = append(got, metricPoints(t, m, tt.temporality)...)
					}
				}
			}
			sort.Strings(got)
			sort.Strings(tt.want)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("points:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// metricPoints renders m's points and checks its kind and temporality.
func metricPoints(t *testing.T, m *metricspb.Metric, temporality metricspb.AggregationTemporality) []string {
	t.Helper()
	cum := metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE
	var out []string
	switch d := m.Data.(type) {
	case *metricspb.Metric_Sum:
		wantMono, wantTemp := m.Name == "requests", temporality
		if m.Name == "inflight" {
			wantTemp = cum // up-down counters stay cumulative
		}
		if d.Sum.IsMonotonic != wantMono || d.Sum.AggregationTemporality != wantTemp {
			t.Errorf("%s: monotonic=%v temporality=%v, want %v %v", m.Name, d.Sum.IsMonotonic, d.Sum.AggregationTemporality, wantMono, wantTemp)
		}
		if m.Name == "requests" && (m.Description != "requests served" || m.Unit != "{request}") {
			t.Errorf("requests: description %q unit %q", m.Description, m.Unit)
		}
		for _, dp := range d.Sum.DataPoints {
			out = append(out, pointKey(m, dp.Attributes, fmt.Sprint(dp.GetAsInt())))
		}
	case *metricspb.Metric_Gauge:
		for _, dp := range d.Gauge.DataPoints {
			v := fmt.Sprint(dp.GetAsInt())
			if _, ok := dp.Value.(*metricspb.NumberDataPoint_AsDouble); ok {
				v = fmt.Sprint(dp.GetAsDouble())
			}
			out = append(out, pointKey(m, dp.Attributes, v))
		}
	case *metricspb.Metric_Histogram:
		if d.Histogram.AggregationTemporality != temporality || m.Unit != "ms" {
			t.Errorf("%s: temporality=%v unit %q", m.Name, d.Histogram.AggregationTemporality, m.Unit)
		}
		for _, dp := range d.Histogram.DataPoints {
			out = append(out, pointKey(m, dp.Attributes, fmt.Sprintf("count=%d sum=%v min=%v max=%v", dp.Count, dp.GetSum(), dp.GetMin(), dp.GetMax())))
		}
	case *metricspb.Metric_ExponentialHistogram:
		if d.ExponentialHistogram.AggregationTemporality != temporality {
			t.Errorf("%s: temporality=%v", m.Name, d.ExponentialHistogram.AggregationTemporality)
		}
		for _, dp := range d.ExponentialHistogram.DataPoints {
			var n uint64
			for _, c := range dp.GetPositive().GetBucketCounts() {
				n += c
			}
			out = append(out, pointKey(m, dp.Attributes, fmt.Sprintf("count=%d sum=%v zero=%d buckets=%d", dp.Count, dp.GetSum(), dp.ZeroCount, n)))
		}
	default:
		t.Errorf("%s: unexpected kind %T", m.Name, m.Data)
	}
	return out
}

func TestMetricExporterErrors(t *testing.T) {
	p := startTestPipeline(t)
	ctx := context.Background()
	rm, _ := sdkMetrics()
	exp := p.MetricExporter()
	if got, want := exp.Temporality(sdkmetric.InstrumentKindCounter), metricdata.CumulativeTemporality; got != want {
		t.Errorf("default temporality = %v, want %v", got, want)
	}
	if got, want := p.MetricExporter(WithDeltaTemporality()).Temporality(sdkmetric.InstrumentKindCounter), metricdata.DeltaTemporality; got != want {
		t.Errorf("delta temporality = %v, want %v", got, want)
	}
	if _, ok := exp.Aggregation(sdkmetric.InstrumentKindHistogram).(sdkmetric.AggregationExplicitBucketHistogram); !ok {
		t.Errorf("default histogram aggregation = %T", exp.Aggregation(sdkmetric.InstrumentKindHistogram))
	}
	drop := p.MetricExporter(WithAggregationSelector(func(sdkmetric.InstrumentKind) sdkmetric.Aggregation { return sdkmetric.AggregationDrop{} }))
	if _, ok := drop.Aggregation(sdkmetric.InstrumentKindCounter).(sdkmetric.AggregationDrop); !ok {
		t.Errorf("selected aggregation = %T", drop.Aggregation(sdkmetric.InstrumentKindCounter))
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := exp.Export(cctx, rm); !errors.Is(err, context.Canceled) {
		t.Errorf("export with canceled ctx = %v", err)
	}
	if err := exp.ForceFlush(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("force flush with canceled ctx = %v", err)
	}
	if err := exp.Export(ctx, &metricdata.ResourceMetrics{}); err != nil {
		t.Errorf("empty export: %v", err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if err := exp.Export(ctx, rm); !errors.Is(err, sdkmetric.ErrExporterShutdown) {
		t.Errorf("export after shutdown = %v", err)
	}
	if err := exp.ForceFlush(ctx); err != nil {
		t.Errorf("force flush after shutdown = %v", err)
	}
	other := p.MetricExporter()
	if err := other.Export(ctx, rm); err != nil {
		t.Errorf("export on a second exporter: %v", err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.Export(ctx, rm); !errors.Is(err, ErrShutdown) {
		t.Errorf("export after pipeline shutdown = %v, want ErrShutdown", err)
	}
}
