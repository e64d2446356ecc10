package payload

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Batches of the real signal schemas, built from OTLP through the exported
// schema conversions: what the bus carries.

func str(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func integer(i int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: i}}
}

func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// otlpResource is service svc; services differ in name and host, so their
// dictionaries differ.
func otlpResource(svc string) *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
		kv("service.name", str(svc)),
		kv("service.version", str("1.4.2")),
		kv("host.name", str(svc+".node-7.internal")),
		kv("process.pid", integer(4242)),
	}}
}

// otlpAttrs returns a few attributes drawn from r; seed decides which
// strings, so different seeds give different dictionaries.
func otlpAttrs(r *rand.Rand, seed uint64) []*commonpb.KeyValue {
	kvs := []*commonpb.KeyValue{
		kv("http.request.method", str([]string{"GET", "POST", "PUT"}[r.IntN(3)])),
		kv("http.route", str(fmt.Sprintf("/api/%d/item", seed*7+uint64(r.IntN(4))))),
		kv("http.response.status_code", integer([]int64{200, 201, 404, 500}[r.IntN(4)])),
		kv("user_agent.original", str("Mozilla/5.0 (X11; Linux x86_64) é ü 日本")),
	}
	for j := range r.IntN(4) {
		kvs = append(kvs, kv(fmt.Sprintf("app.extra.%d", j), str(fmt.Sprintf("value-%d", r.IntN(1000)))))
	}
	return kvs
}

func otlpTraces(rows int, seed uint64, services ...string) []*tracepb.ResourceSpans {
	r := rand.New(rand.NewPCG(seed, 2))
	var rss []*tracepb.ResourceSpans
	for i, svc := range services {
		ss := &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: "otelhttp", Version: "0.60.0"}}
		for range max(1, rows/len(services)) {
			start := uint64(1_760_000_000_000_000_000) + r.Uint64N(1e12)
			s := &tracepb.Span{
				TraceId:           randBytes(r, 16),
				SpanId:            randBytes(r, 8),
				ParentSpanId:      randBytes(r, 8),
				Name:              fmt.Sprintf("HTTP GET /api/%d", r.IntN(5)),
				Kind:              tracepb.Span_SPAN_KIND_SERVER,
				StartTimeUnixNano: start,
				EndTimeUnixNano:   start + r.Uint64N(2e9),
				Attributes:        otlpAttrs(r, seed),
			}
			if r.IntN(4) == 0 {
				s.Events = []*tracepb.Span_Event{{TimeUnixNano: start + 1000, Name: "cache.miss", Attributes: []*commonpb.KeyValue{kv("key", str("product:42"))}}}
			}
			if r.IntN(10) == 0 {
				s.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "upstream timeout"}
			}
			ss.Spans = append(ss.Spans, s)
		}
		_ = i
		rss = append(rss, &tracepb.ResourceSpans{Resource: otlpResource(svc), ScopeSpans: []*tracepb.ScopeSpans{ss}})
	}
	return rss
}

func otlpLogs(rows int, seed uint64, services ...string) []*logspb.ResourceLogs {
	r := rand.New(rand.NewPCG(seed, 4))
	var rls []*logspb.ResourceLogs
	for _, svc := range services {
		sl := &logspb.ScopeLogs{Scope: &commonpb.InstrumentationScope{Name: "slog"}}
		for range max(1, rows/len(services)) {
			t := uint64(1_760_000_000_000_000_000) + r.Uint64N(1e12)
			sl.LogRecords = append(sl.LogRecords, &logspb.LogRecord{
				TimeUnixNano:         t,
				ObservedTimeUnixNano: t + 1000,
				SeverityNumber:       logspb.SeverityNumber_SEVERITY_NUMBER_WARN,
				SeverityText:         "WARN",
				Body:                 str(fmt.Sprintf("request %d handled in %d ms", r.IntN(1e6), r.IntN(2000))),
				Attributes:           otlpAttrs(r, seed),
				TraceId:              randBytes(r, 16),
				SpanId:               randBytes(r, 8),
			})
		}
		rls = append(rls, &logspb.ResourceLogs{Resource: otlpResource(svc), ScopeLogs: []*logspb.ScopeLogs{sl}})
	}
	return rls
}

func otlpMetrics(rows int, seed uint64, services ...string) []*metricspb.ResourceMetrics {
	r := rand.New(rand.NewPCG(seed, 6))
	var rms []*metricspb.ResourceMetrics
	for _, svc := range services {
		sm := &metricspb.ScopeMetrics{Scope: &commonpb.InstrumentationScope{Name: "runtime"}}
		n := max(1, rows/len(services))
		for k := 0; k < n; k += 3 {
			t := uint64(1_760_000_000_000_000_000) + r.Uint64N(1e12)
			gauge := &metricspb.Metric{Name: fmt.Sprintf("queue.depth.%d", seed), Unit: "{item}", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{
				DataPoints: []*metricspb.NumberDataPoint{{TimeUnixNano: t, Attributes: otlpAttrs(r, seed), Value: &metricspb.NumberDataPoint_AsInt{AsInt: r.Int64N(100)}}},
			}}}
			sum := &metricspb.Metric{Name: "requests", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{
				IsMonotonic: true, AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE,
				DataPoints: []*metricspb.NumberDataPoint{{StartTimeUnixNano: t - 1e9, TimeUnixNano: t, Attributes: otlpAttrs(r, seed), Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: r.Float64()}}},
			}}}
			hist := &metricspb.Metric{Name: "latency", Unit: "ms", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
				AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA,
				DataPoints:             []*metricspb.HistogramDataPoint{{TimeUnixNano: t, Count: 3, BucketCounts: []uint64{1, 2, 0}, ExplicitBounds: []float64{10, 100}, Attributes: otlpAttrs(r, seed)}},
			}}}
			sm.Metrics = append(sm.Metrics, gauge, sum, hist)
		}
		rms = append(rms, &metricspb.ResourceMetrics{Resource: otlpResource(svc), ScopeMetrics: []*metricspb.ScopeMetrics{sm}})
	}
	return rms
}

// signalBatch converts rows of sig (about rows rows) built from seed, with
// memory from mem.
func signalBatch(t testing.TB, mem memory.Allocator, sig string, rows int, seed uint64, services ...string) arrow.RecordBatch {
	t.Helper()
	var (
		rec arrow.RecordBatch
		err error
	)
	switch sig {
	case "traces":
		rec, err = schema.TracesToArrow(mem, otlpTraces(rows, seed, services...))
	case "logs":
		rec, err = schema.LogsToArrow(mem, otlpLogs(rows, seed, services...))
	case "metrics":
		rec, err = schema.MetricsToArrow(mem, otlpMetrics(rows, seed, services...))
	default:
		t.Fatalf("unknown signal %q", sig)
	}
	if err != nil {
		t.Fatalf("%s to arrow: %v", sig, err)
	}
	return rec
}

// tracesPayload is one uncompressed payload of a traces batch of rows rows.
func tracesPayload(b testing.TB, rows int) []byte {
	b.Helper()
	rec := signalBatch(b, memory.DefaultAllocator, "traces", rows, 1, "checkout")
	defer rec.Release()
	payloads, err := Encode([]arrow.RecordBatch{rec}, 0)
	if err != nil {
		b.Fatal(err)
	}
	return payloads[0]
}

// BenchmarkDecodeTraces decodes traces payloads; "arrow" is the old path,
// with array.ValidateRecordFull in place of ValidateColumns.
func BenchmarkDecodeTraces(b *testing.B) {
	for _, rows := range []int{1, 100, 1000} {
		p := tracesPayload(b, rows)
		for _, v := range []struct {
			name     string
			validate func(arrow.RecordBatch) error
		}{{"arrow", array.ValidateRecordFull}, {"fast", ValidateColumns}} {
			b.Run(fmt.Sprintf("rows=%d/validate=%s", rows, v.name), func(b *testing.B) {
				b.SetBytes(int64(len(p)))
				b.ReportAllocs()
				for b.Loop() {
					_, recs, err := decode(p, nil, v.validate)
					if err != nil {
						b.Fatal(err)
					}
					for _, rec := range recs {
						rec.Release()
					}
				}
			})
		}
	}
}

// TestDecodeUnalignedPayload: a payload whose bytes do not start at an
// 8-byte boundary decodes to the same batches (bodies are then copied, not
// read in place), and an aligned one shares its bytes.
func TestDecodeUnalignedPayload(t *testing.T) {
	for _, sig := range []string{"traces", "metrics", "logs"} {
		rec := signalBatch(t, memory.DefaultAllocator, sig, 20, 3, "checkout")
		ps, err := Encode([]arrow.RecordBatch{rec}, 0)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		_, want, err := Decode(ps[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		for shift := 1; shift < 8; shift++ {
			buf := make([]byte, len(ps[0])+shift)[shift:]
			copy(buf, ps[0])
			_, got, err := Decode(buf, nil)
			if err != nil {
				t.Fatalf("%s, shifted by %d: %v", sig, shift, err)
			}
			if len(got) != len(want) || !array.RecordEqual(got[0], want[0]) {
				t.Fatalf("%s, shifted by %d: batches differ", sig, shift)
			}
			for _, r := range got {
				r.Release()
			}
		}
		// In place: some buffer of the batch lies inside the payload.
		inside := false
		lo, hi := uintptr(unsafe.Pointer(&ps[0][0])), uintptr(unsafe.Pointer(&ps[0][len(ps[0])-1]))
		for _, col := range want[0].Columns() {
			for _, buf := range col.Data().Buffers() {
				if buf != nil && buf.Len() > 0 {
					if p := uintptr(unsafe.Pointer(&buf.Bytes()[0])); p >= lo && p <= hi {
						inside = true
					}
				}
			}
		}
		if !inside {
			t.Errorf("%s: no buffer read in place", sig)
		}
		for _, r := range want {
			r.Release()
		}
	}
}
