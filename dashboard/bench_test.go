package dashboard

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// benchSpans is the size of the benchmark's data: 100 000 traces of 10
// spans, from 20 services, in 10 files of 100 000 spans (the writer's
// default batch), written as the writer writes them (Arrow IPC, zstd).
const (
	benchTraces        = 100_000
	benchSpansPerTrace = 10
	benchFiles         = 10
)

// benchData writes the benchmark's files into a directory removed when the
// benchmark ends.
func benchData(b *testing.B) string {
	dir := b.TempDir()
	perFile := benchTraces / benchFiles
	for f := range benchFiles {
		var rss []*tracepb.ResourceSpans
		bySvc := map[int]*tracepb.ResourceSpans{}
		for tr := f * perFile; tr < (f+1)*perFile; tr++ {
			start := base.Add(time.Duration(tr) * 10 * time.Millisecond)
			tid := make([]byte, 16)
			binary.BigEndian.PutUint64(tid[8:], uint64(tr+1))
			for s := range benchSpansPerTrace {
				svc := (tr + s) % 20
				sp := &tracepb.Span{TraceId: tid, SpanId: binary.BigEndian.AppendUint64(nil, uint64(tr*benchSpansPerTrace+s+1)),
					Name: fmt.Sprintf("op-%d", s), Kind: tracepb.Span_SPAN_KIND_SERVER,
					StartTimeUnixNano: nanos(start.Add(time.Duration(s) * time.Millisecond)),
					EndTimeUnixNano:   nanos(start.Add(time.Duration(s+1+tr%50) * time.Millisecond)),
					Attributes: []*commonpb.KeyValue{kv("http.route", str(fmt.Sprintf("/r/%d", tr%100))),
						kv("http.status_code", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: int64(200 + tr%5)}})}}
				if s > 0 {
					sp.ParentSpanId = binary.BigEndian.AppendUint64(nil, uint64(tr*benchSpansPerTrace+1))
				}
				if tr%97 == 0 && s == 3 {
					sp.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR}
				}
				r := bySvc[svc]
				if r == nil {
					r = rs(fmt.Sprintf("svc-%02d", svc))
					bySvc[svc] = r
					rss = append(rss, r)
				}
				r.ScopeSpans[0].Spans = append(r.ScopeSpans[0].Spans, sp)
			}
		}
		writeFile(b, dir, "traces", tracesRecord(b, rss), false)
	}
	return dir
}

// BenchmarkTraceSearch searches one million spans in files, the files'
// batches already decoded (cached), as every query after the first.
func BenchmarkTraceSearch(b *testing.B) {
	dir := benchData(b)
	d, _ := newTestDashboard(b, dir, nil)
	for _, bc := range []struct{ name, query string }{
		{"all", ""},
		{"service", "service=svc-07"},
		{"attr", "attr=http.route=/r/42"},
		{"errors_duration", "errors=1&min_ms=20&sort=duration"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tq := mustTraceQuery(b, bc.query)
			if _, err := d.searchTraces(context.Background(), tq); err != nil { // fills the cache
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				res, err := d.searchTraces(context.Background(), tq)
				if err != nil || res.ScannedRows != benchTraces*benchSpansPerTrace {
					b.Fatalf("%v, %d rows", err, res.ScannedRows)
				}
			}
		})
	}
}

// BenchmarkTraceSearchCold is the first search after start: every file is
// read and decoded.
func BenchmarkTraceSearchCold(b *testing.B) {
	dir := benchData(b)
	tq := mustTraceQuery(b, "")
	for b.Loop() {
		b.StopTimer()
		d, _ := newTestDashboard(b, dir, nil)
		b.StartTimer()
		if _, err := d.searchTraces(context.Background(), tq); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		d.cache.close()
		b.StartTimer()
	}
}

func mustTraceQuery(b *testing.B, query string) traceQuery {
	tq, err := parseTraceQuery(httptestRequest(query))
	if err != nil {
		b.Fatal(err)
	}
	return tq
}
