package writer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// benchSpans makes n spans of one service in the shape of instrumented HTTP
// servers: resource attributes of a Kubernetes pod, a route, a method, a
// status code, a peer address and a user agent per span, one span in ten
// with an event.
func benchSpans(svc, seed, n int) *tracepb.ResourceSpans {
	str := func(k, v string) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
	}
	num := func(k string, v int64) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
	}
	name := fmt.Sprintf("service-%02d", svc)
	ss := &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", Version: "0.60.0"}}
	for i := range n {
		id := make([]byte, 16)
		for j := range id {
			id[j] = byte((seed+i)*(j+7) + j*31 + svc)
		}
		route := fmt.Sprintf("/api/v1/items/{id}/%d", i%12)
		start := uint64(1_700_000_000_000_000_000 + (seed+i)*1_000_000)
		s := &tracepb.Span{
			TraceId: id, SpanId: id[8:], ParentSpanId: id[4:12],
			Name: "GET " + route, Kind: tracepb.Span_SPAN_KIND_SERVER,
			StartTimeUnixNano: start, EndTimeUnixNano: start + uint64(1000+i%5000)*1000,
			Attributes: []*commonpb.KeyValue{
				str("http.request.method", "GET"), str("http.route", route), num("http.response.status_code", int64(200+100*(i%20/18))),
				str("server.address", "api.example.com"), str("client.address", fmt.Sprintf("10.0.%d.%d", i%8, i%250)),
				str("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"), str("url.scheme", "https"),
			},
			Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_UNSET},
		}
		if i%10 == 0 {
			s.Events = []*tracepb.Span_Event{{TimeUnixNano: start + 500, Name: "cache.miss", Attributes: []*commonpb.KeyValue{str("cache.key", fmt.Sprintf("k%d", i))}}}
		}
		ss.Spans = append(ss.Spans, s)
	}
	return &tracepb.ResourceSpans{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			str("service.name", name), str("service.version", "1.4.2"), str("deployment.environment", "production"),
			str("k8s.namespace.name", "shop"), str("k8s.pod.name", name+"-7d4b9c6f5-x2x9z"), str("host.name", "node-3"),
			str("telemetry.sdk.language", "go"), str("telemetry.sdk.name", "opentelemetry"), str("telemetry.sdk.version", "1.47.0"),
		}},
		ScopeSpans: []*tracepb.ScopeSpans{ss},
	}
}

// cpuTime returns the process's user and system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPassthrough weighs the writer with and without pass-through side
// by side: the same zstd payloads (files are zstd) of rows rows, about
// 100 000 rows in all, are published first; then a writer drains them. It
// reports the process's CPU (writer and the in-process bus serving it) per
// row while the writer drains, and the files' bytes per row (0 for
// passthrough_rows means pass-through off: every batch merged). Payloads of
// 410 rows are a gateway request's share of one service (8192 spans of 20
// services), 8192 a whole gateway request in one payload, 1000 the Flight
// and 1000-span SDK batches. traces_schema=v2 is pass-through off (it never
// applies to v2 files) with the files in the traces/v2 layout: its CPU over
// passthrough_rows=0's is the conversion's.
//
//	go test -c -o writer.test ./writer/
//	for i in 1 2 3; do ./writer.test -test.run '^$' -test.bench Passthrough -test.benchtime 1x; done
func BenchmarkPassthrough(b *testing.B) {
	const total = 100_000
	for _, rows := range []int{410, 1000, 8192} {
		// One set of payloads for both variants.
		var payloads [][]byte
		var payloadRows int64
		for p := 0; p*rows < total; p++ {
			rss := []*tracepb.ResourceSpans{benchSpans(p%20, p*rows, rows)}
			if rows == 8192 { // 20 services in one payload
				rss = nil
				for s := range 20 {
					rss = append(rss, benchSpans(s, p*rows+s*410, min(410, rows-s*410)))
				}
			}
			rec, err := schema.TracesToArrow(memory.DefaultAllocator, rss)
			if err != nil {
				b.Fatal(err)
			}
			payloadRows += rec.NumRows()
			out, err := payload.Encode([]arrow.RecordBatch{rec}, 8<<20, payload.WithZstd())
			rec.Release()
			if err != nil {
				b.Fatal(err)
			}
			payloads = append(payloads, out...)
		}
		// passthrough_rows 0 is pass-through off (every batch merged);
		// 256 lets every size here through.
		for _, v := range []struct {
			name      string
			threshold int
			schema    string
		}{{"passthrough_rows=0", 0, "v1"}, {"passthrough_rows=256", 256, "v1"}, {"traces_schema=v2", 256, "v2"}} {
			threshold := v.threshold
			b.Run(fmt.Sprintf("rows=%d/%s", rows, v.name), func(b *testing.B) {
				var cpu time.Duration
				var fileBytes, written int64
				for range b.N {
					b.StopTimer()
					js := runBus(b)
					for _, p := range payloads {
						m := bus.Message{Signal: schema.Traces, Services: []string{"bench"}, Source: "bench", Rows: 1, Payload: p}
						if _, err := bus.Publish(context.Background(), js, m); err != nil {
							b.Fatal(err)
						}
					}
					cfg := DefaultConfig()
					cfg.OutputDir = b.TempDir()
					cfg.WriterID = "bench"
					cfg.Signals = []schema.Signal{schema.Traces}
					cfg.WriteInterval = time.Second
					cfg.Passthrough = threshold > 0
					cfg.PassthroughRows = max(threshold, 1)
					cfg.TracesSchema = v.schema
					b.StartTimer()
					before := cpuTime(b)
					r := start(b, cfg, js, nil)
					drain(b, js, cfg.Signals, r.w)
					if err := r.stop(b); err != nil {
						b.Fatal(err)
					}
					cpu += cpuTime(b) - before
					b.StopTimer()
					dir := filepath.Join(cfg.OutputDir, "otlp", "traces")
					entries, err := os.ReadDir(dir)
					if err != nil {
						b.Fatal(err)
					}
					for _, e := range entries {
						fi, err := e.Info()
						if err != nil {
							b.Fatal(err)
						}
						fileBytes += fi.Size()
					}
					written += payloadRows
					b.StartTimer()
				}
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(written), "cpu-ns/row")
				b.ReportMetric(float64(fileBytes)/float64(written), "file-B/row")
			})
		}
	}
}
