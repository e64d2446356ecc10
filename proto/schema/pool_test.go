package schema

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unsafe"
	"weak"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// checkDictsUsed fails when a dictionary column of rec holds a value that
// no row of rec uses: what a pooled builder whose memo tables were not reset
// would leave behind from an earlier batch.
func checkDictsUsed(t *testing.T, rec arrow.RecordBatch, what string) {
	t.Helper()
	for i, col := range rec.Columns() {
		d, ok := col.(*array.Dictionary)
		if !ok {
			continue
		}
		used := map[int]bool{}
		for j := range d.Len() {
			if d.IsValid(j) {
				used[d.GetValueIndex(j)] = true
			}
		}
		if got, want := d.Dictionary().Len(), len(used); got != want {
			t.Fatalf("%s: column %s: dictionary has %d values, rows use %d", what, rec.ColumnName(i), got, want)
		}
	}
}

// roundTripPooled converts in with the (pooled) default allocator, checks
// the dictionaries and returns what reads back.
func roundTripPooled[R proto.Message](t *testing.T, what string, in []R,
	to func(memory.Allocator, []R) (arrow.RecordBatch, error),
	from func([]arrow.RecordBatch) ([]R, error),
) []R {
	t.Helper()
	rec, err := to(memory.DefaultAllocator, in)
	if err != nil {
		t.Fatalf("%s: to arrow: %v", what, err)
	}
	defer rec.Release()
	checkDictsUsed(t, rec, what)
	back := ipcRoundTrip(t, rec)
	defer back.Release()
	got, err := from([]arrow.RecordBatch{back})
	if err != nil {
		t.Fatalf("%s: from arrow: %v", what, err)
	}
	return got
}

func equalMsgs[R proto.Message](t *testing.T, what string, want, got []R) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%s: %d resources, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !proto.Equal(want[i], got[i]) {
			t.Fatalf("%s: resource %d differs\n%s", what, i, diffMsg(want[i], got[i]))
		}
	}
}

// TestPooledBuildersRoundTrip runs the property round trips on the pooled
// path (the Go allocator), where consecutive requests share builders.
func TestPooledBuildersRoundTrip(t *testing.T) {
	for seed := range uint64(propertySeeds) {
		g := newGen(seed)
		tr := g.traces()
		equalMsgs(t, "traces", NormalizeTraces(tr), roundTripPooled(t, "traces", tr, TracesToArrow, TracesFromArrow))
		lg := g.logs()
		equalMsgs(t, "logs", NormalizeLogs(lg), roundTripPooled(t, "logs", lg, LogsToArrow, LogsFromArrow))
		mt := g.metrics()
		equalMsgs(t, "metrics", NormalizeMetrics(mt), roundTripPooled(t, "metrics", mt, MetricsToArrow, MetricsFromArrow))
	}
}

// TestPooledBuilderTwoRequests converts two requests with disjoint strings
// one after the other: the second batch's dictionaries hold only its own
// values.
func TestPooledBuilderTwoRequests(t *testing.T) {
	req := func(service, name string) []*tracepb.ResourceSpans {
		return []*tracepb.ResourceSpans{{
			Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kvPair(ServiceNameKey, avStr(service))}},
			SchemaUrl:  "https://example.com/" + service,
			ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "scope-" + service}, Spans: []*tracepb.Span{{Name: name}, {Name: name + "-2"}}}},
		}}
	}
	for i := range 4 { // more than once, in case sync.Pool dropped the builder
		a, b := req("a", "span-a"), req("b", "span-b")
		roundTripPooled(t, "request a", a, TracesToArrow, TracesFromArrow)
		got := roundTripPooled(t, "request b", b, TracesToArrow, TracesFromArrow)
		equalMsgs(t, "request b", NormalizeTraces(b), got)

		rec, err := TracesToArrow(memory.DefaultAllocator, b)
		if err != nil {
			t.Fatal(err)
		}
		names := colByName(t, rec, "name").(*array.Dictionary)
		if got, want := names.Dictionary().Len(), 2; got != want {
			t.Errorf("round %d: name dictionary has %d values, want %d", i, got, want)
		}
		svc := colByName(t, rec, "service_name").(*array.Dictionary)
		if got, want := svc.Dictionary().(*array.String).Value(0), "b"; svc.Dictionary().Len() != 1 || got != want {
			t.Errorf("round %d: service_name dictionary %v, want [b]", i, svc.Dictionary())
		}
		rec.Release()
	}

	logs := func(sev string) []*logspb.ResourceLogs {
		return []*logspb.ResourceLogs{{ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{{SeverityText: sev, EventName: "ev-" + sev}}}}}}
	}
	metrics := func(name string) []*metricspb.ResourceMetrics {
		return []*metricspb.ResourceMetrics{{ScopeMetrics: []*metricspb.ScopeMetrics{{Metrics: []*metricspb.Metric{{
			Name: name, Unit: "u-" + name,
			Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: []*metricspb.NumberDataPoint{{TimeUnixNano: 1}}}},
		}}}}}}
	}
	for range 4 {
		roundTripPooled(t, "logs a", logs("INFO"), LogsToArrow, LogsFromArrow)
		equalMsgs(t, "logs b", NormalizeLogs(logs("WARN")), roundTripPooled(t, "logs b", logs("WARN"), LogsToArrow, LogsFromArrow))
		roundTripPooled(t, "metrics a", metrics("a"), MetricsToArrow, MetricsFromArrow)
		equalMsgs(t, "metrics b", NormalizeMetrics(metrics("b")), roundTripPooled(t, "metrics b", metrics("b"), MetricsToArrow, MetricsFromArrow))
	}
}

// TestPooledBuilderAfterError checks that a failed conversion does not leave
// rows behind for the next request.
func TestPooledBuilderAfterError(t *testing.T) {
	bad := []*logspb.ResourceLogs{{ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{
		{SeverityText: "x"},
		{Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "\xff"}}, Attributes: []*commonpb.KeyValue{kvPair("k", avArray(avStr("\xff")))}},
	}}}}}
	if rec, err := LogsToArrow(memory.DefaultAllocator, bad); err == nil {
		rec.Release() // protojson accepted the value: nothing to check then
	}
	good := []*logspb.ResourceLogs{{ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{{SeverityText: "y"}}}}}}
	rec, err := LogsToArrow(memory.DefaultAllocator, good)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	if got, want := rec.NumRows(), int64(1); got != want {
		t.Fatalf("rows = %d, want %d", got, want)
	}
	checkDictsUsed(t, rec, "after error")
}

// TestPooledBuildersDropRequest checks that a builder back in the pool
// holds nothing of the request it converted, which a pooled builder would
// keep alive.
func TestPooledBuildersDropRequest(t *testing.T) {
	var weaks []weak.Pointer[byte]
	str := func() string {
		s := strings.Clone(fmt.Sprintf("a string of the request, number %d", len(weaks)))
		weaks = append(weaks, weak.Make(unsafe.StringData(s)))
		return s
	}
	envelope := func() (*resourcepb.Resource, *commonpb.InstrumentationScope, []*commonpb.KeyValue) {
		res := &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			kvPair(ServiceNameKey, avStr(str())), kvPair(str(), avStr(str())), kvPair(str(), avArray(avStr(str()))),
		}}
		scope := &commonpb.InstrumentationScope{Name: str(), Version: str(), Attributes: []*commonpb.KeyValue{kvPair(str(), avInt(1))}}
		return res, scope, []*commonpb.KeyValue{kvPair(str(), avStr(str()))}
	}
	convert := func() {
		res, scope, attrs := envelope()
		rec, err := TracesToArrow(memory.DefaultAllocator, []*tracepb.ResourceSpans{{Resource: res, SchemaUrl: str(),
			ScopeSpans: []*tracepb.ScopeSpans{{Scope: scope, SchemaUrl: str(), Spans: []*tracepb.Span{{Name: str(), Attributes: attrs}, {Name: "b"}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		rec.Release()
		res, scope, attrs = envelope()
		rec, err = LogsToArrow(memory.DefaultAllocator, []*logspb.ResourceLogs{{Resource: res,
			ScopeLogs: []*logspb.ScopeLogs{{Scope: scope, LogRecords: []*logspb.LogRecord{{Body: avStr(str()), Attributes: attrs}, {}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		rec.Release()
		res, scope, attrs = envelope()
		points := []*metricspb.NumberDataPoint{{Attributes: attrs}, {}}
		rec, err = MetricsToArrow(memory.DefaultAllocator, []*metricspb.ResourceMetrics{{Resource: res,
			ScopeMetrics: []*metricspb.ScopeMetrics{{Scope: scope, Metrics: []*metricspb.Metric{{Name: str(), Metadata: []*commonpb.KeyValue{kvPair(str(), avStr(str()))},
				Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: points}}}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	convert()
	// One collection: the pool keeps its builders through it (as victims).
	runtime.GC()
	for i, w := range weaks {
		if w.Value() != nil {
			t.Errorf("string %d of the request is still referenced after the conversion", i)
		}
	}
}
