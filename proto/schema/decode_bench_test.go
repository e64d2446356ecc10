package schema

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// The decode benchmarks (issue 19, "decode OTLP once") take the same OTLP
// export request from protobuf bytes to a record batch in the traces schema
// two ways:
//
//   - pdata: the Collector's ptraceotlp.ExportRequest.UnmarshalProto, then
//     ResourceSpansToArrow (what ingest does);
//   - goproto: proto.Unmarshal into the generated structs of
//     go.opentelemetry.io/proto/otlp, then TracesToArrow, their adapter,
//     which encodes them again and decodes them with pdata: what a caller
//     holding the structs pays.
//
// Run: cd proto && go test -run '^$' -bench 'Decode' -benchmem -count 5 ./schema/
// CPU and allocations are reported per span (ns/span, B/span, allocs/span).

// decodeBenchRequest is one SDK-like request: one service, n spans with
// 10-20 attributes, events on a quarter, an error status on a tenth.
func decodeBenchRequest(n int) *coltracepb.ExportTraceServiceRequest {
	r := rand.New(rand.NewPCG(uint64(n), 19))
	ss := &tracepb.ScopeSpans{Scope: benchScope}
	for j := range n {
		ss.Spans = append(ss.Spans, benchSpan(r, j))
	}
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: benchResource(1), SchemaUrl: "https://opentelemetry.io/schemas/1.37.0", ScopeSpans: []*tracepb.ScopeSpans{ss},
	}}}
}

// benchSpan is span j of a request: 10-20 attributes, events on a quarter,
// an error status on a tenth, a link on one in fifty, every fifth a root.
func benchSpan(r *rand.Rand, j int) *tracepb.Span {
	start := uint64(1_760_000_000_000_000_000) + r.Uint64N(1e12)
	s := &tracepb.Span{
		TraceId: randBytes(r, 16), SpanId: randBytes(r, 8), Flags: 1,
		Name: "HTTP " + benchRoutes[r.IntN(len(benchRoutes))], Kind: tracepb.Span_SPAN_KIND_SERVER,
		StartTimeUnixNano: start, EndTimeUnixNano: start + r.Uint64N(2e9), Attributes: benchAttrs(r),
	}
	if j%5 != 0 {
		s.ParentSpanId = randBytes(r, 8)
	}
	if r.IntN(4) == 0 {
		s.Events = []*tracepb.Span_Event{{TimeUnixNano: start + 1000, Name: "cache.miss", Attributes: []*commonpb.KeyValue{kvPair("cache.key", avStr(fmt.Sprintf("product:%d", r.IntN(5000))))}}}
	}
	if r.IntN(10) == 0 {
		s.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "upstream timeout"}
	}
	if r.IntN(50) == 0 {
		s.Links = []*tracepb.Span_Link{{TraceId: randBytes(r, 16), SpanId: randBytes(r, 8), Attributes: []*commonpb.KeyValue{kvPair("link.kind", avStr("follows_from"))}}}
	}
	return s
}

// decodePaths are the ways from bytes to a batch.
var decodePaths = []struct {
	name string
	run  func(mem memory.Allocator, b []byte) (arrow.RecordBatch, error)
}{
	{"goproto", func(mem memory.Allocator, b []byte) (arrow.RecordBatch, error) {
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			return nil, err
		}
		return TracesToArrow(mem, req.ResourceSpans)
	}},
	{"pdata", func(mem memory.Allocator, b []byte) (arrow.RecordBatch, error) {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(b); err != nil {
			return nil, err
		}
		return pdataTracesToArrow(mem, req.Traces())
	}},
}

// TestDecodePathsAgree checks the paths give the same batch, so the
// benchmark compares equal work.
func TestDecodePathsAgree(t *testing.T) {
	in, err := proto.Marshal(decodeBenchRequest(300))
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewGoAllocator()
	var want arrow.RecordBatch
	for _, p := range decodePaths {
		rec, err := p.run(mem, in)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		defer rec.Release()
		if want == nil {
			want = rec
			continue
		}
		if !array.RecordEqual(want, rec) {
			for i := range want.NumCols() {
				if !array.Equal(want.Column(int(i)), rec.Column(int(i))) {
					t.Errorf("%s: column %s differs from %s's", p.name, want.ColumnName(int(i)), decodePaths[0].name)
				}
			}
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	mem := memory.NewGoAllocator()
	for _, n := range []int{100, 1000} {
		in, err := proto.Marshal(decodeBenchRequest(n))
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range decodePaths {
			b.Run(fmt.Sprintf("spans=%d/%s", n, p.name), func(b *testing.B) {
				b.SetBytes(int64(len(in)))
				b.ReportAllocs()
				perSpan(b, n, func() {
					for b.Loop() {
						rec, err := p.run(mem, in)
						if err != nil {
							b.Fatal(err)
						}
						rec.Release()
					}
				})
			})
		}
	}
}

// BenchmarkDecodeOnly is the decode step alone, without the conversion.
func BenchmarkDecodeOnly(b *testing.B) {
	for _, n := range []int{100, 1000} {
		in, err := proto.Marshal(decodeBenchRequest(n))
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range []struct {
			name   string
			decode func([]byte) error
		}{
			{"goproto", func(b []byte) error {
				var req coltracepb.ExportTraceServiceRequest
				return proto.Unmarshal(b, &req)
			}},
			{"pdata", func(b []byte) error { return ptraceotlp.NewExportRequest().UnmarshalProto(b) }},
		} {
			b.Run(fmt.Sprintf("spans=%d/%s", n, p.name), func(b *testing.B) {
				b.SetBytes(int64(len(in)))
				b.ReportAllocs()
				perSpan(b, n, func() {
					for b.Loop() {
						if err := p.decode(in); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}

// perSpan runs loop and reports its time and allocations per span, for
// requests of n spans.
// Besides wall time it reports the process's CPU time (user and system,
// the GC's included) per span, which a machine shared with other work
// inflates less than wall time.
func perSpan(b *testing.B, n int, loop func()) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := processCPU(b)
	loop()
	cpu1 := processCPU(b)
	runtime.ReadMemStats(&after)
	spans := float64(b.N) * float64(n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/spans, "ns/span")
	b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/spans, "cpu-ns/span")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/spans, "B/span")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/spans, "allocs/span")
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pdataTracesToArrow converts all the spans of td.
func pdataTracesToArrow(mem memory.Allocator, td ptrace.Traces) (arrow.RecordBatch, error) {
	return ResourceSpansToArrow(mem, ResourceSpansOf(td))
}
