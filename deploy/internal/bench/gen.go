package bench

import (
	"fmt"
	"math/rand/v2"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// The generator builds realistic telemetry: a shop of services whose HTTP
// servers emit spans with 10-20 attributes, events and some errors, every
// metric type, and request logs with bodies. It is deterministic for a seed.

// baseTime is the generated data's epoch (2025-10-09), in ns; a run
// patches one timestamp per resource to keep every request unique.
const baseTime = uint64(1_760_000_000_000_000_000)

var serviceNames = []string{
	"frontend", "cart", "checkout", "payment", "shipping", "currency", "email",
	"recommendation", "product-catalog", "ad", "quote", "accounting", "fraud-detection",
	"inventory", "auth", "search",
}

var routes = []string{
	"/api/cart", "/api/checkout", "/api/product/{id}", "/healthz", "/api/user/{id}/orders",
	"/api/recommendations", "/api/currency/convert", "/api/shipping/quote",
}

var logMessages = []string{
	"request %d handled in %d ms for user %d",
	"cache miss for product:%d, loading from database (%d ms), tenant %d",
	"payment %d authorized after %d ms for order %d",
	"retrying upstream call %d after %d ms backoff, attempt %d",
	"user %d session refreshed in %d ms, region %d",
}

type gen struct {
	r *rand.Rand
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))} }

func str(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func i64(v int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}
}

func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

func (g *gen) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.UintN(256))
	}
	return b
}

// resource describes service number i (of serviceNames, wrapping).
func (g *gen) resource(i int) *resourcepb.Resource {
	name := serviceNames[i%len(serviceNames)]
	if i >= len(serviceNames) {
		name = fmt.Sprintf("%s-%d", name, i/len(serviceNames))
	}
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
		kv("service.name", str(name)),
		kv("service.version", str("1.4.2")),
		kv("service.namespace", str("shop")),
		kv("service.instance.id", str(fmt.Sprintf("%s-7d9f8c6b5-%05d", name, g.r.IntN(100000)))),
		kv("deployment.environment.name", str("production")),
		kv("host.name", str(fmt.Sprintf("node-%d.eu-west-1.compute.internal", g.r.IntN(8)))),
		kv("k8s.namespace.name", str("shop")),
		kv("k8s.pod.name", str(fmt.Sprintf("%s-7d9f8c6b5-x2k4q", name))),
		kv("process.pid", i64(int64(1000+g.r.IntN(30000)))),
		kv("telemetry.sdk.language", str("go")),
		kv("telemetry.sdk.name", str("opentelemetry")),
		kv("telemetry.sdk.version", str("1.38.0")),
	}}
}

var scope = &commonpb.InstrumentationScope{Name: "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", Version: "0.63.0"}

// attrs returns 10 to 20 attributes of mixed types, like an HTTP server span.
func (g *gen) attrs() []*commonpb.KeyValue {
	r := g.r
	route := routes[r.IntN(len(routes))]
	kvs := []*commonpb.KeyValue{
		kv("http.request.method", str([]string{"GET", "GET", "GET", "POST", "PUT"}[r.IntN(5)])),
		kv("http.route", str(route)),
		kv("url.path", str(fmt.Sprintf("/api/product/%d", r.IntN(100000)))),
		kv("url.scheme", str("https")),
		kv("http.response.status_code", i64([]int64{200, 200, 200, 200, 201, 404, 500}[r.IntN(7)])),
		kv("server.address", str("shop.example.com")),
		kv("server.port", i64(443)),
		kv("network.protocol.version", str("1.1")),
		kv("client.address", str(fmt.Sprintf("10.0.%d.%d", r.IntN(256), r.IntN(256)))),
		kv("user_agent.original", str("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0 Safari/537.36")),
		kv("http.request.body.size", i64(r.Int64N(10000))),
		kv("app.cache_hit", &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: r.IntN(2) == 0}}),
		kv("app.latency_score", &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: r.Float64()}}),
	}
	for j := range r.IntN(7) {
		kvs = append(kvs, kv(fmt.Sprintf("app.extra.%d", j), str(fmt.Sprintf("value-%d", r.IntN(1000)))))
	}
	if r.IntN(10) == 0 {
		kvs = append(kvs, kv("app.tags", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{
			Values: []*commonpb.AnyValue{str("beta"), str("eu")}}}}))
	}
	return kvs
}

// split divides rows among n resources as evenly as possible.
func split(rows, n int) []int {
	if n > rows {
		n = rows
	}
	out := make([]int, n)
	for i := range out {
		out[i] = rows / n
		if i < rows%n {
			out[i]++
		}
	}
	return out
}

// traces returns rows spans over the resources first..first+n-1.
func (g *gen) traces(rows, first, n, services int) []*tracepb.ResourceSpans {
	r := g.r
	var rss []*tracepb.ResourceSpans
	for k, cnt := range split(rows, n) {
		ss := &tracepb.ScopeSpans{Scope: scope}
		traceID := g.bytes(16)
		var parent []byte
		for j := range cnt {
			if j%5 == 0 {
				traceID, parent = g.bytes(16), nil
			}
			start := baseTime + r.Uint64N(1e12)
			route := routes[r.IntN(len(routes))]
			s := &tracepb.Span{
				TraceId:           traceID,
				SpanId:            g.bytes(8),
				ParentSpanId:      parent,
				Flags:             1,
				Name:              "HTTP " + route,
				Kind:              []tracepb.Span_SpanKind{tracepb.Span_SPAN_KIND_SERVER, tracepb.Span_SPAN_KIND_CLIENT, tracepb.Span_SPAN_KIND_INTERNAL}[r.IntN(3)],
				StartTimeUnixNano: start,
				EndTimeUnixNano:   start + 1000 + r.Uint64N(2e9),
				Attributes:        g.attrs(),
			}
			if parent == nil {
				parent = s.SpanId
			}
			if r.IntN(3) == 0 {
				s.Events = append(s.Events, &tracepb.Span_Event{TimeUnixNano: start + 1000, Name: "cache.miss",
					Attributes: []*commonpb.KeyValue{kv("cache.key", str(fmt.Sprintf("product:%d", r.IntN(5000))))}})
			}
			if r.IntN(20) == 0 {
				s.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "upstream timeout"}
				s.Events = append(s.Events, &tracepb.Span_Event{TimeUnixNano: start + 2000, Name: "exception", Attributes: []*commonpb.KeyValue{
					kv("exception.type", str("*net.OpError")),
					kv("exception.message", str("dial tcp 10.0.0.7:5432: i/o timeout")),
					kv("exception.stacktrace", str("goroutine 1 [running]:\nmain.handler(...)\n\t/app/handler.go:42 +0x1d\nnet/http.HandlerFunc.ServeHTTP(...)\n\t/usr/local/go/src/net/http/server.go:2220")),
				}})
			} else if r.IntN(2) == 0 {
				s.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}
			}
			if r.IntN(50) == 0 {
				s.Links = []*tracepb.Span_Link{{TraceId: g.bytes(16), SpanId: g.bytes(8), Attributes: []*commonpb.KeyValue{kv("link.kind", str("follows_from"))}}}
			}
			ss.Spans = append(ss.Spans, s)
		}
		rss = append(rss, &tracepb.ResourceSpans{Resource: g.resource((first + k) % services),
			SchemaUrl: "https://opentelemetry.io/schemas/1.37.0", ScopeSpans: []*tracepb.ScopeSpans{ss}})
	}
	return rss
}

// logs returns rows log records over the resources first..first+n-1.
func (g *gen) logs(rows, first, n, services int) []*logspb.ResourceLogs {
	r := g.r
	sevs := []logspb.SeverityNumber{logspb.SeverityNumber_SEVERITY_NUMBER_INFO, logspb.SeverityNumber_SEVERITY_NUMBER_INFO,
		logspb.SeverityNumber_SEVERITY_NUMBER_INFO, logspb.SeverityNumber_SEVERITY_NUMBER_DEBUG,
		logspb.SeverityNumber_SEVERITY_NUMBER_WARN, logspb.SeverityNumber_SEVERITY_NUMBER_ERROR}
	var rls []*logspb.ResourceLogs
	for k, cnt := range split(rows, n) {
		sl := &logspb.ScopeLogs{Scope: &commonpb.InstrumentationScope{Name: "go.opentelemetry.io/contrib/bridges/otelslog"}}
		for range cnt {
			t := baseTime + r.Uint64N(1e12)
			sev := sevs[r.IntN(len(sevs))]
			attrs := g.attrs()[:5+r.IntN(6)]
			rec := &logspb.LogRecord{
				TimeUnixNano:         t,
				ObservedTimeUnixNano: t + 1000 + r.Uint64N(1e6),
				SeverityNumber:       sev,
				SeverityText:         sev.String()[len("SEVERITY_NUMBER_"):],
				Body:                 str(fmt.Sprintf(logMessages[r.IntN(len(logMessages))], r.IntN(1e6), r.IntN(2000), r.IntN(5000))),
				Attributes:           attrs,
			}
			if r.IntN(2) == 0 {
				rec.TraceId, rec.SpanId, rec.Flags = g.bytes(16), g.bytes(8), 1
			}
			sl.LogRecords = append(sl.LogRecords, rec)
		}
		rls = append(rls, &logspb.ResourceLogs{Resource: g.resource((first + k) % services), ScopeLogs: []*logspb.ScopeLogs{sl}})
	}
	return rls
}

// metrics returns rows data points over the resources first..first+n-1, of
// every metric type in turn.
func (g *gen) metrics(rows, first, n, services int) []*metricspb.ResourceMetrics {
	r := g.r
	var rms []*metricspb.ResourceMetrics
	for k, cnt := range split(rows, n) {
		sm := &metricspb.ScopeMetrics{Scope: &commonpb.InstrumentationScope{Name: "go.opentelemetry.io/contrib/instrumentation/runtime", Version: "0.63.0"}}
		left := cnt
		for kind := 0; left > 0; kind = (kind + 1) % 5 {
			pts := min(left, 1+r.IntN(8))
			left -= pts
			start := baseTime - uint64(3600e9)
			m := &metricspb.Metric{}
			attrs := func(i int) []*commonpb.KeyValue {
				return []*commonpb.KeyValue{
					kv("http.route", str(routes[i%len(routes)])),
					kv("http.request.method", str([]string{"GET", "POST"}[i%2])),
					kv("http.response.status_code", i64([]int64{200, 404, 500}[i%3])),
					kv("server.address", str("shop.example.com")),
				}
			}
			t := func() uint64 { return baseTime + r.Uint64N(1e12) }
			switch kind {
			case 0:
				m.Name, m.Unit, m.Description = "process.runtime.go.goroutines", "{goroutine}", "Number of goroutines"
				g := &metricspb.Gauge{}
				for i := range pts {
					g.DataPoints = append(g.DataPoints, &metricspb.NumberDataPoint{Attributes: attrs(i), TimeUnixNano: t(),
						Value: &metricspb.NumberDataPoint_AsInt{AsInt: r.Int64N(5000)}})
				}
				m.Data = &metricspb.Metric_Gauge{Gauge: g}
			case 1:
				m.Name, m.Unit, m.Description = "http.server.request.count", "{request}", "Requests served"
				s := &metricspb.Sum{AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, IsMonotonic: true}
				for i := range pts {
					s.DataPoints = append(s.DataPoints, &metricspb.NumberDataPoint{Attributes: attrs(i), StartTimeUnixNano: start, TimeUnixNano: t(),
						Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: float64(r.IntN(1e6))}})
				}
				m.Data = &metricspb.Metric_Sum{Sum: s}
			case 2:
				m.Name, m.Unit, m.Description = "http.server.request.duration", "s", "Duration of HTTP server requests"
				h := &metricspb.Histogram{AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA}
				bounds := []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
				for i := range pts {
					counts := make([]uint64, len(bounds)+1)
					var total uint64
					for b := range counts {
						counts[b] = r.Uint64N(100)
						total += counts[b]
					}
					sum, mn, mx := float64(total)*0.07, 0.001, 9.5
					dp := &metricspb.HistogramDataPoint{Attributes: attrs(i), StartTimeUnixNano: start, TimeUnixNano: t(),
						Count: total, Sum: &sum, Min: &mn, Max: &mx, BucketCounts: counts, ExplicitBounds: bounds}
					if r.IntN(4) == 0 {
						dp.Exemplars = []*metricspb.Exemplar{{TimeUnixNano: t(), Value: &metricspb.Exemplar_AsDouble{AsDouble: 0.042},
							TraceId: g2bytes(r, 16), SpanId: g2bytes(r, 8)}}
					}
					h.DataPoints = append(h.DataPoints, dp)
				}
				m.Data = &metricspb.Metric_Histogram{Histogram: h}
			case 3:
				m.Name, m.Unit, m.Description = "rpc.client.duration", "ms", "Duration of outbound RPCs"
				e := &metricspb.ExponentialHistogram{AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE}
				for i := range pts {
					pos := make([]uint64, 20)
					var total uint64
					for b := range pos {
						pos[b] = r.Uint64N(50)
						total += pos[b]
					}
					sum := float64(total) * 3.1
					e.DataPoints = append(e.DataPoints, &metricspb.ExponentialHistogramDataPoint{Attributes: attrs(i), StartTimeUnixNano: start, TimeUnixNano: t(),
						Count: total + 2, Sum: &sum, Scale: 3, ZeroCount: 2,
						Positive: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: int32(r.IntN(10)), BucketCounts: pos}})
				}
				m.Data = &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: e}
			case 4:
				m.Name, m.Unit, m.Description = "db.query.latency", "ms", "Query latency quantiles"
				s := &metricspb.Summary{}
				for i := range pts {
					s.DataPoints = append(s.DataPoints, &metricspb.SummaryDataPoint{Attributes: attrs(i), StartTimeUnixNano: start, TimeUnixNano: t(),
						Count: uint64(r.IntN(1e5)), Sum: r.Float64() * 1e5,
						QuantileValues: []*metricspb.SummaryDataPoint_ValueAtQuantile{{Quantile: 0.5, Value: 3.2}, {Quantile: 0.9, Value: 12.5}, {Quantile: 0.99, Value: 48}}})
				}
				m.Data = &metricspb.Metric_Summary{Summary: s}
			}
			sm.Metrics = append(sm.Metrics, m)
		}
		rms = append(rms, &metricspb.ResourceMetrics{Resource: g.resource((first + k) % services), ScopeMetrics: []*metricspb.ScopeMetrics{sm}})
	}
	return rms
}

func g2bytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}
