package otlpwire

import (
	"fmt"
	"testing"

	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"
)

// metricsStrAttr and metricsIntAttr make attributes of the benchmark
// requests.
func metricsStrAttr(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func metricsIntAttr(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}

// benchMetricsPointAttrs returns the attributes of data point i: 3 to 5 of
// mixed types, as HTTP server and runtime instrumentation records them.
func benchMetricsPointAttrs(i int) []*commonpb.KeyValue {
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	routes := []string{"/api/v1/users/{id}", "/api/v1/orders", "/healthz", "/api/v1/items/{id}/reviews"}
	kvs := []*commonpb.KeyValue{
		metricsStrAttr("http.request.method", methods[i%len(methods)]),
		metricsStrAttr("http.route", routes[i/4%len(routes)]),
		metricsIntAttr("http.response.status_code", int64(200+i%3*100)),
	}
	if i%2 == 0 {
		kvs = append(kvs, metricsStrAttr("network.protocol.version", "1.1"))
	}
	if i%5 == 0 {
		kvs = append(kvs, &commonpb.KeyValue{Key: "server.sampled", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}})
	}
	return kvs
}

// benchMetricsExemplars returns an exemplar for one point in ten.
func benchMetricsExemplars(i int) []*metricspb.Exemplar {
	if i%10 != 0 {
		return nil
	}
	id := func(n int) []byte {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(i*31 + j)
		}
		return b
	}
	return []*metricspb.Exemplar{{
		FilteredAttributes: []*commonpb.KeyValue{metricsStrAttr("user.id", fmt.Sprintf("u-%d", i))},
		TimeUnixNano:       1_700_000_000_000_000_000 + uint64(i),
		Value:              &metricspb.Exemplar_AsDouble{AsDouble: float64(i) * 0.37},
		SpanId:             id(8),
		TraceId:            id(16),
	}}
}

// benchMetrics returns a request of about n data points in metrics of every
// type, 20 points a metric, in two scopes of one resource.
func benchMetrics(n int) *colmetricspb.ExportMetricsServiceRequest {
	res := &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
		metricsStrAttr("service.name", "checkout"),
		metricsStrAttr("service.version", "1.42.0"),
		metricsStrAttr("service.instance.id", "3f1c9a52-7d7e-4b1e-9a40-1f6e8f0d2c11"),
		metricsStrAttr("deployment.environment.name", "production"),
		metricsStrAttr("host.name", "ip-10-0-12-34.ec2.internal"),
		metricsStrAttr("k8s.namespace.name", "shop"),
		metricsStrAttr("k8s.pod.name", "checkout-7c9d8b6f5-x2k4q"),
		metricsStrAttr("telemetry.sdk.language", "go"),
		metricsStrAttr("telemetry.sdk.name", "opentelemetry"),
		metricsIntAttr("process.pid", 4242),
	}}
	scopes := []*metricspb.ScopeMetrics{
		{Scope: &commonpb.InstrumentationScope{Name: "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", Version: "0.63.0"}, SchemaUrl: "https://opentelemetry.io/schemas/1.26.0"},
		{Scope: &commonpb.InstrumentationScope{Name: "go.opentelemetry.io/contrib/instrumentation/runtime", Version: "0.63.0"}},
	}
	const start, now = 1_700_000_000_000_000_000, 1_700_000_060_000_000_000
	bounds := []float64{0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000}
	point := 0
	for m := 0; point < n; m++ {
		metric := &metricspb.Metric{Name: fmt.Sprintf("http.server.metric.%d", m), Description: "A metric of the benchmark.", Unit: "ms"}
		perMetric := min(max(1, n/5), 20, n-point)
		switch m % 5 {
		case 0:
			g := &metricspb.Gauge{}
			for range perMetric {
				g.DataPoints = append(g.DataPoints, &metricspb.NumberDataPoint{
					Attributes: benchMetricsPointAttrs(point), StartTimeUnixNano: start, TimeUnixNano: now,
					Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: float64(point) * 1.5}, Exemplars: benchMetricsExemplars(point),
				})
				point++
			}
			metric.Data = &metricspb.Metric_Gauge{Gauge: g}
		case 1:
			s := &metricspb.Sum{AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, IsMonotonic: true}
			for range perMetric {
				s.DataPoints = append(s.DataPoints, &metricspb.NumberDataPoint{
					Attributes: benchMetricsPointAttrs(point), StartTimeUnixNano: start, TimeUnixNano: now,
					Value: &metricspb.NumberDataPoint_AsInt{AsInt: int64(point) * 1000}, Exemplars: benchMetricsExemplars(point),
				})
				point++
			}
			metric.Data = &metricspb.Metric_Sum{Sum: s}
		case 2:
			h := &metricspb.Histogram{AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA}
			for range perMetric {
				counts := make([]uint64, len(bounds)+1)
				for j := range counts {
					counts[j] = uint64((point + j) % 17)
				}
				sum, lo, hi := float64(point)*12.5, 0.25, float64(point)+800
				h.DataPoints = append(h.DataPoints, &metricspb.HistogramDataPoint{
					Attributes: benchMetricsPointAttrs(point), StartTimeUnixNano: start, TimeUnixNano: now,
					Count: 136, Sum: &sum, BucketCounts: counts, ExplicitBounds: bounds, Min: &lo, Max: &hi,
					Exemplars: benchMetricsExemplars(point),
				})
				point++
			}
			metric.Data = &metricspb.Metric_Histogram{Histogram: h}
		case 3:
			h := &metricspb.ExponentialHistogram{AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA}
			for range perMetric {
				pos := make([]uint64, 20)
				for j := range pos {
					pos[j] = uint64((point*7 + j) % 300)
				}
				sum, lo, hi := float64(point)*3.25, 0.5, float64(point)+90
				h.DataPoints = append(h.DataPoints, &metricspb.ExponentialHistogramDataPoint{
					Attributes: benchMetricsPointAttrs(point), StartTimeUnixNano: start, TimeUnixNano: now,
					Count: 2900, Sum: &sum, Scale: 3, ZeroCount: 2, ZeroThreshold: 1e-9,
					Positive: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: 12, BucketCounts: pos},
					Negative: &metricspb.ExponentialHistogramDataPoint_Buckets{},
					Min:      &lo, Max: &hi, Exemplars: benchMetricsExemplars(point),
				})
				point++
			}
			metric.Data = &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: h}
		case 4:
			s := &metricspb.Summary{}
			for range perMetric {
				s.DataPoints = append(s.DataPoints, &metricspb.SummaryDataPoint{
					Attributes: benchMetricsPointAttrs(point), StartTimeUnixNano: start, TimeUnixNano: now,
					Count: 500, Sum: float64(point) * 40,
					QuantileValues: []*metricspb.SummaryDataPoint_ValueAtQuantile{
						{Quantile: 0, Value: 1}, {Quantile: 0.5, Value: 40}, {Quantile: 0.99, Value: 310}, {Quantile: 1, Value: 900},
					},
				})
				point++
			}
			metric.Data = &metricspb.Metric_Summary{Summary: s}
		}
		sc := scopes[m%2]
		sc.Metrics = append(sc.Metrics, metric)
	}
	return &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: []*metricspb.ResourceMetrics{{
		Resource: res, ScopeMetrics: scopes, SchemaUrl: "https://opentelemetry.io/schemas/1.26.0",
	}}}
}

func marshalMetrics(tb testing.TB, req *colmetricspb.ExportMetricsServiceRequest) []byte {
	tb.Helper()
	b, err := proto.Marshal(req)
	if err != nil {
		tb.Fatalf("marshal metrics request: %v", err)
	}
	return b
}

// Run: go test -run '^$' -bench UnmarshalMetrics -benchmem ./otlpwire/
func BenchmarkUnmarshalMetrics(b *testing.B) {
	in := marshalMetrics(b, benchMetrics(1000))
	b.Run("proto", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		for b.Loop() {
			var req colmetricspb.ExportMetricsServiceRequest
			if err := proto.Unmarshal(in, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("otlpwire", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		for b.Loop() {
			var req colmetricspb.ExportMetricsServiceRequest
			if err := UnmarshalMetrics(in, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
