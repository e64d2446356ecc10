package schema

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// The benchmarks convert a realistic request: 4 services, one scope each,
// 250 rows per service, 10-20 attributes of mixed types per row.
const (
	benchServices = 4
	benchRowsPer  = 250
)

var benchRoutes = []string{"/api/cart", "/api/checkout", "/api/product/{id}", "/healthz", "/api/user/{id}/orders"}

func benchResource(i int) *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
		kvPair(ServiceNameKey, avStr(fmt.Sprintf("service-%d", i))),
		kvPair("service.version", avStr("1.4.2")),
		kvPair("service.namespace", avStr("shop")),
		kvPair("deployment.environment.name", avStr("production")),
		kvPair("host.name", avStr(fmt.Sprintf("node-%d.eu-west-1.compute.internal", i))),
		kvPair("k8s.pod.name", avStr(fmt.Sprintf("service-%d-7d9f8c6b5-x2k4q", i))),
		kvPair("process.pid", avInt(int64(1000+i))),
		kvPair("telemetry.sdk.language", avStr("go")),
	}}
}

var benchScope = &commonpb.InstrumentationScope{Name: "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", Version: "0.60.0"}

// benchAttrs returns 10 to 20 attributes of mixed kinds, like an HTTP server
// span or request log.
func benchAttrs(r *rand.Rand) []*commonpb.KeyValue {
	kvs := []*commonpb.KeyValue{
		kvPair("http.request.method", avStr([]string{"GET", "POST", "PUT"}[r.IntN(3)])),
		kvPair("http.route", avStr(benchRoutes[r.IntN(len(benchRoutes))])),
		kvPair("url.path", avStr(fmt.Sprintf("/api/product/%d", r.IntN(100000)))),
		kvPair("http.response.status_code", avInt([]int64{200, 200, 200, 201, 404, 500}[r.IntN(6)])),
		kvPair("server.address", avStr("shop.example.com")),
		kvPair("server.port", avInt(443)),
		kvPair("network.protocol.version", avStr("1.1")),
		kvPair("client.address", avStr(fmt.Sprintf("10.0.%d.%d", r.IntN(256), r.IntN(256)))),
		kvPair("user_agent.original", avStr("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36")),
		kvPair("http.request.body.size", avInt(r.Int64N(10000))),
		kvPair("app.cache_hit", avBool(r.IntN(2) == 0)),
		kvPair("app.latency_score", avDouble(r.Float64())),
	}
	for j := range r.IntN(9) {
		kvs = append(kvs, kvPair(fmt.Sprintf("app.extra.%d", j), avStr(fmt.Sprintf("value-%d", r.IntN(1000)))))
	}
	if r.IntN(10) == 0 {
		kvs = append(kvs, kvPair("app.tags", avArray(avStr("a"), avStr("b"))))
	}
	return kvs
}

func benchTraces() []*tracepb.ResourceSpans {
	r := rand.New(rand.NewPCG(1, 2))
	var rss []*tracepb.ResourceSpans
	for i := range benchServices {
		ss := &tracepb.ScopeSpans{Scope: benchScope}
		for range benchRowsPer {
			start := uint64(1_760_000_000_000_000_000) + r.Uint64N(1e12)
			s := &tracepb.Span{
				TraceId:           randBytes(r, 16),
				SpanId:            randBytes(r, 8),
				ParentSpanId:      randBytes(r, 8),
				Flags:             1,
				Name:              "HTTP " + benchRoutes[r.IntN(len(benchRoutes))],
				Kind:              tracepb.Span_SPAN_KIND_SERVER,
				StartTimeUnixNano: start,
				EndTimeUnixNano:   start + r.Uint64N(2e9),
				Attributes:        benchAttrs(r),
			}
			if r.IntN(4) == 0 {
				s.Events = []*tracepb.Span_Event{{TimeUnixNano: start + 1000, Name: "cache.miss", Attributes: []*commonpb.KeyValue{kvPair("key", avStr("product:42"))}}}
			}
			if r.IntN(10) == 0 {
				s.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "upstream timeout"}
				s.Events = append(s.Events, &tracepb.Span_Event{TimeUnixNano: start + 2000, Name: "exception", Attributes: []*commonpb.KeyValue{
					kvPair("exception.type", avStr("net.OpError")),
					kvPair("exception.message", avStr("dial tcp 10.0.0.7:5432: i/o timeout")),
				}})
			}
			ss.Spans = append(ss.Spans, s)
		}
		rss = append(rss, &tracepb.ResourceSpans{Resource: benchResource(i), SchemaUrl: "https://opentelemetry.io/schemas/1.26.0", ScopeSpans: []*tracepb.ScopeSpans{ss}})
	}
	return rss
}

func benchLogs() []*logspb.ResourceLogs {
	r := rand.New(rand.NewPCG(3, 4))
	var rls []*logspb.ResourceLogs
	for i := range benchServices {
		sl := &logspb.ScopeLogs{Scope: benchScope}
		for range benchRowsPer {
			t := uint64(1_760_000_000_000_000_000) + r.Uint64N(1e12)
			sev := []logspb.SeverityNumber{logspb.SeverityNumber_SEVERITY_NUMBER_INFO, logspb.SeverityNumber_SEVERITY_NUMBER_WARN, logspb.SeverityNumber_SEVERITY_NUMBER_ERROR}[r.IntN(3)]
			sl.LogRecords = append(sl.LogRecords, &logspb.LogRecord{
				TimeUnixNano:         t,
				ObservedTimeUnixNano: t + 1000,
				SeverityNumber:       sev,
				SeverityText:         sev.String()[len("SEVERITY_NUMBER_"):],
				Body:                 avStr(fmt.Sprintf("request %d handled in %d ms for user %d", r.IntN(1e6), r.IntN(2000), r.IntN(5000))),
				Attributes:           benchAttrs(r),
				TraceId:              randBytes(r, 16),
				SpanId:               randBytes(r, 8),
				Flags:                1,
			})
		}
		rls = append(rls, &logspb.ResourceLogs{Resource: benchResource(i), ScopeLogs: []*logspb.ScopeLogs{sl}})
	}
	return rls
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// ipcSize is the size of rec as a zstd-compressed Arrow IPC stream, what a
// bus message or a file holds.
func ipcSize(b *testing.B, rec arrow.RecordBatch) int {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()), ipc.WithZstd())
	if err := w.Write(rec); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Len()
}

// reportSizes adds the Arrow and the OTLP protobuf bytes per row.
func reportSizes(b *testing.B, rec arrow.RecordBatch, pb proto.Message) {
	rows := float64(rec.NumRows())
	pbb, err := proto.Marshal(pb)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(ipcSize(b, rec))/rows, "bytes/row")
	b.ReportMetric(float64(len(pbb))/rows, "pb_bytes/row")
}

func reportRows(b *testing.B, rows int64) {
	b.ReportMetric(float64(rows*int64(b.N))/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkTracesToArrow(b *testing.B) {
	in := benchTraces()
	var rec arrow.RecordBatch
	b.ReportAllocs()
	for b.Loop() {
		if rec != nil {
			rec.Release()
		}
		var err error
		if rec, err = TracesToArrow(memory.DefaultAllocator, in); err != nil {
			b.Fatal(err)
		}
	}
	defer rec.Release()
	reportRows(b, rec.NumRows())
	reportSizes(b, rec, &tracepb.TracesData{ResourceSpans: in})
}

func BenchmarkTracesFromArrow(b *testing.B) {
	in := benchTraces()
	rec, err := TracesToArrow(memory.DefaultAllocator, in)
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Release()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := TracesFromArrow([]arrow.RecordBatch{rec}); err != nil {
			b.Fatal(err)
		}
	}
	reportRows(b, rec.NumRows())
	reportSizes(b, rec, &tracepb.TracesData{ResourceSpans: in})
}

func BenchmarkLogsToArrow(b *testing.B) {
	in := benchLogs()
	var rec arrow.RecordBatch
	b.ReportAllocs()
	for b.Loop() {
		if rec != nil {
			rec.Release()
		}
		var err error
		if rec, err = LogsToArrow(memory.DefaultAllocator, in); err != nil {
			b.Fatal(err)
		}
	}
	defer rec.Release()
	reportRows(b, rec.NumRows())
	reportSizes(b, rec, &logspb.LogsData{ResourceLogs: in})
}

func BenchmarkLogsFromArrow(b *testing.B) {
	in := benchLogs()
	rec, err := LogsToArrow(memory.DefaultAllocator, in)
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Release()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LogsFromArrow([]arrow.RecordBatch{rec}); err != nil {
			b.Fatal(err)
		}
	}
	reportRows(b, rec.NumRows())
	reportSizes(b, rec, &logspb.LogsData{ResourceLogs: in})
}

// BenchmarkToArrowSmall converts requests of 1 and 100 rows, the size of
// most bus messages, where the fixed cost of a call (building the arrays of
// a schema of about two hundred columns and children) weighs most.
func BenchmarkToArrowSmall(b *testing.B) {
	spans := benchTraces()[0]
	logs := benchLogs()[0]
	for _, n := range []int{1, 100} {
		ts := []*tracepb.ResourceSpans{{Resource: spans.Resource, SchemaUrl: spans.SchemaUrl,
			ScopeSpans: []*tracepb.ScopeSpans{{Scope: spans.ScopeSpans[0].Scope, Spans: spans.ScopeSpans[0].Spans[:n]}}}}
		b.Run(fmt.Sprintf("traces/%d", n), func(b *testing.B) { benchSmall(b, ts, TracesToArrow) })
		ls := []*logspb.ResourceLogs{{Resource: logs.Resource, SchemaUrl: logs.SchemaUrl,
			ScopeLogs: []*logspb.ScopeLogs{{Scope: logs.ScopeLogs[0].Scope, LogRecords: logs.ScopeLogs[0].LogRecords[:n]}}}}
		b.Run(fmt.Sprintf("logs/%d", n), func(b *testing.B) { benchSmall(b, ls, LogsToArrow) })
		ms := benchMetricPoints(n)
		b.Run(fmt.Sprintf("metrics/%d", n), func(b *testing.B) { benchSmall(b, ms, MetricsToArrow) })
	}
}

func benchSmall[R any](b *testing.B, in []R, to func(memory.Allocator, []R) (arrow.RecordBatch, error)) {
	b.ReportAllocs()
	for b.Loop() {
		rec, err := to(memory.DefaultAllocator, in)
		if err != nil {
			b.Fatal(err)
		}
		rec.Release()
	}
}

// benchMetricPoints returns the first n data points of the first scope of
// benchMetrics (gauges and sums, with exemplars), metrics cut to fit.
func benchMetricPoints(n int) []*metricspb.ResourceMetrics {
	rm := benchMetrics()[0]
	sm := rm.ScopeMetrics[0]
	out := &metricspb.ScopeMetrics{Scope: sm.Scope}
	for _, m := range sm.Metrics {
		if n == 0 {
			break
		}
		m = proto.Clone(m).(*metricspb.Metric)
		switch d := m.Data.(type) {
		case *metricspb.Metric_Gauge:
			d.Gauge.DataPoints = d.Gauge.DataPoints[:min(n, len(d.Gauge.DataPoints))]
			n -= len(d.Gauge.DataPoints)
		case *metricspb.Metric_Sum:
			d.Sum.DataPoints = d.Sum.DataPoints[:min(n, len(d.Sum.DataPoints))]
			n -= len(d.Sum.DataPoints)
		default:
			continue
		}
		out.Metrics = append(out.Metrics, m)
	}
	return []*metricspb.ResourceMetrics{{Resource: rm.Resource, SchemaUrl: rm.SchemaUrl, ScopeMetrics: []*metricspb.ScopeMetrics{out}}}
}
