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
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/otlpwire"
)

// The decode benchmarks (issue 19, "decode OTLP once") take the same OTLP
// export request from protobuf bytes to a record batch in the traces schema
// three ways:
//
//   - otlpwire: the hand-written decoder into the generated structs, then
//     TracesToArrow (what ingest does);
//   - goproto: proto.Unmarshal into the generated structs of
//     go.opentelemetry.io/proto/otlp (the path otlpwire replaced), then
//     TracesToArrow;
//   - pdata: the Collector's ptraceotlp.ExportRequest.UnmarshalProto, then a
//     conversion from pdata into the same builders (pdataTracesToArrow,
//     below, which gives the same batch).
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

// decodePaths are the three ways from bytes to a batch.
var decodePaths = []struct {
	name string
	run  func(mem memory.Allocator, b []byte) (arrow.RecordBatch, error)
}{
	{"otlpwire", func(mem memory.Allocator, b []byte) (arrow.RecordBatch, error) {
		var req coltracepb.ExportTraceServiceRequest
		if err := otlpwire.UnmarshalTraces(b, &req); err != nil {
			return nil, err
		}
		return TracesToArrow(mem, req.ResourceSpans)
	}},
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

// TestDecodePathsAgree checks the three paths give the same batch, so the
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
			{"otlpwire", func(b []byte) error {
				var req coltracepb.ExportTraceServiceRequest
				return otlpwire.UnmarshalTraces(b, &req)
			}},
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

// pdataTracesToArrow is TracesToArrow reading pdata instead of the
// generated structs: spans, events and links through pdata's accessors
// straight into the builders; the resource and scope (one per request here)
// are copied into the generated structs for the envelope, as the
// conversion shares that code.
func pdataTracesToArrow(mem memory.Allocator, td ptrace.Traces) (arrow.RecordBatch, error) {
	rss := td.ResourceSpans()
	var c spanCount
	res := make([]*resourcepb.Resource, rss.Len())
	for i := range rss.Len() {
		rs := rss.At(i)
		res[i] = pdataResource(rs.Resource())
		for j := range rs.ScopeSpans().Len() {
			ss := rs.ScopeSpans().At(j)
			c.env.add(res[i], pdataScope(ss.Scope()), ss.Spans().Len())
			for k := range ss.Spans().Len() {
				s := ss.Spans().At(k)
				c.rows++
				countPdataAttrs(&c.attrs, s.Attributes())
				for e := range s.Events().Len() {
					countPdataAttrs(&c.evAttrs, s.Events().At(e).Attributes())
				}
				for l := range s.Links().Len() {
					countPdataAttrs(&c.lkAttrs, s.Links().At(l).Attributes())
				}
			}
		}
	}
	b := spanBuilders.get(mem)
	b.reserve(&c)
	env := &b.env.cur
	for i := range rss.Len() {
		rs := rss.At(i)
		if err := env.setResource(res[i], rs.SchemaUrl()); err != nil {
			spanBuilders.discard(b)
			return nil, err
		}
		for j := range rs.ScopeSpans().Len() {
			ss := rs.ScopeSpans().At(j)
			env.setScope(pdataScope(ss.Scope()), ss.SchemaUrl())
			spans := ss.Spans()
			if spans.Len() == 0 {
				continue
			}
			if err := b.env.appendN(env, spans.Len()); err != nil {
				spanBuilders.discard(b)
				return nil, err
			}
			for k := range spans.Len() {
				if err := b.appendPdata(spans.At(k)); err != nil {
					spanBuilders.discard(b)
					return nil, err
				}
			}
		}
	}
	return spanBuilders.finish(b), nil
}

func (b *spanBuilder) appendPdata(s ptrace.Span) error {
	tid, sid, pid := s.TraceID(), s.SpanID(), s.ParentSpanID()
	appendPdataID(b.traceID, tid.IsEmpty(), tid[:])
	appendPdataID(b.spanID, sid.IsEmpty(), sid[:])
	b.traceState.Append(s.TraceState().AsRaw())
	appendPdataID(b.parentSpanID, pid.IsEmpty(), pid[:])
	b.flags.Append(s.Flags())
	if err := appendDict(b.name, s.Name()); err != nil {
		return err
	}
	b.kind.Append(int32(s.Kind()))
	appendTime(b.start, uint64(s.StartTimestamp()))
	appendTime(b.end, uint64(s.EndTimestamp()))
	if err := appendPdataAttrs(b.attrs, s.Attributes()); err != nil {
		return err
	}
	b.dropped.Append(s.DroppedAttributesCount())

	b.events.Append(true)
	for i := range s.Events().Len() {
		e := s.Events().At(i)
		b.evStruct.Append(true)
		appendTime(b.evTime, uint64(e.Timestamp()))
		b.evName.Append(e.Name())
		if err := appendPdataAttrs(b.evAttrs, e.Attributes()); err != nil {
			return err
		}
		b.evDropped.Append(e.DroppedAttributesCount())
	}
	b.droppedEvents.Append(s.DroppedEventsCount())

	b.links.Append(true)
	for i := range s.Links().Len() {
		l := s.Links().At(i)
		b.lkStruct.Append(true)
		ltid, lsid := l.TraceID(), l.SpanID()
		appendPdataID(b.lkTraceID, ltid.IsEmpty(), ltid[:])
		appendPdataID(b.lkSpanID, lsid.IsEmpty(), lsid[:])
		b.lkTraceState.Append(l.TraceState().AsRaw())
		if err := appendPdataAttrs(b.lkAttrs, l.Attributes()); err != nil {
			return err
		}
		b.lkDropped.Append(l.DroppedAttributesCount())
		b.lkFlags.Append(l.Flags())
	}
	b.droppedLinks.Append(s.DroppedLinksCount())

	// pdata cannot tell an absent status from an empty one.
	if st := s.Status(); st.Code() == ptrace.StatusCodeUnset && st.Message() == "" {
		b.statusCode.AppendNull()
		b.statusMessage.AppendNull()
	} else {
		b.statusCode.Append(int32(st.Code()))
		b.statusMessage.Append(st.Message())
	}
	return nil
}

// appendPdataID appends a pdata trace or span id; pdata keeps an absent id as
// zeros, which the schema stores as null.
func appendPdataID(b *array.FixedSizeBinaryBuilder, empty bool, id []byte) {
	if empty {
		b.AppendNull()
		return
	}
	b.Append(id)
}

// appendPdataAttrs is attrBuilder.append over a pcommon.Map.
func appendPdataAttrs(a *attrBuilder, m pcommon.Map) error {
	var seen uint8
	var err error
	m.Range(func(k string, v pcommon.Value) bool {
		switch v.Type() {
		case pcommon.ValueTypeStr:
			seen = a.key(kindStr, seen, k)
			a.strs.Append(v.Str())
		case pcommon.ValueTypeInt:
			seen = a.key(kindInt, seen, k)
			a.ints.Append(v.Int())
		case pcommon.ValueTypeDouble:
			seen = a.key(kindDouble, seen, k)
			a.doubles.Append(v.Double())
		case pcommon.ValueTypeBool:
			seen = a.key(kindBool, seen, k)
			a.bools.Append(v.Bool())
		case pcommon.ValueTypeBytes:
			seen = a.key(kindBytes, seen, k)
			a.bytes.Append(v.Bytes().AsRaw())
		default:
			seen = a.key(kindOther, seen, k)
			if a.json, err = appendValueJSON(a.json[:0], pdataAnyValue(v)); err != nil {
				err = fmt.Errorf("attribute %q: %w", k, err)
				return false
			}
			a.other.BinaryBuilder.Append(a.json)
		}
		return true
	})
	if err != nil {
		return err
	}
	for k := range numAttrKinds {
		if seen&(1<<k) == 0 {
			a.startRow(k, false)
		}
	}
	return nil
}

func countPdataAttrs(c *attrCount, m pcommon.Map) {
	c.rows++
	m.Range(func(k string, v pcommon.Value) bool {
		kind := kindOther
		switch v.Type() {
		case pcommon.ValueTypeStr:
			kind = kindStr
			c.valBytes[kind] += len(v.Str())
		case pcommon.ValueTypeInt:
			kind = kindInt
		case pcommon.ValueTypeDouble:
			kind = kindDouble
		case pcommon.ValueTypeBool:
			kind = kindBool
		case pcommon.ValueTypeBytes:
			kind = kindBytes
			c.valBytes[kind] += v.Bytes().Len()
		}
		c.entries[kind]++
		c.keyBytes[kind] += len(k)
		return true
	})
}

func pdataKeyValues(m pcommon.Map) []*commonpb.KeyValue {
	kvs := make([]*commonpb.KeyValue, 0, m.Len())
	m.Range(func(k string, v pcommon.Value) bool {
		kvs = append(kvs, &commonpb.KeyValue{Key: k, Value: pdataAnyValue(v)})
		return true
	})
	return kvs
}

func pdataResource(r pcommon.Resource) *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: pdataKeyValues(r.Attributes()), DroppedAttributesCount: r.DroppedAttributesCount()}
}

func pdataScope(s pcommon.InstrumentationScope) *commonpb.InstrumentationScope {
	return &commonpb.InstrumentationScope{Name: s.Name(), Version: s.Version(), Attributes: pdataKeyValues(s.Attributes()),
		DroppedAttributesCount: s.DroppedAttributesCount()}
}

func pdataAnyValue(v pcommon.Value) *commonpb.AnyValue {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v.Str()}}
	case pcommon.ValueTypeInt:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v.Int()}}
	case pcommon.ValueTypeDouble:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: v.Double()}}
	case pcommon.ValueTypeBool:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: v.Bool()}}
	case pcommon.ValueTypeBytes:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: v.Bytes().AsRaw()}}
	case pcommon.ValueTypeSlice:
		arr := &commonpb.ArrayValue{}
		for i := range v.Slice().Len() {
			arr.Values = append(arr.Values, pdataAnyValue(v.Slice().At(i)))
		}
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: arr}}
	case pcommon.ValueTypeMap:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: pdataKeyValues(v.Map())}}}
	}
	return &commonpb.AnyValue{}
}
