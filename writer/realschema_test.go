package writer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func strAttr(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func spans(service string, n int, seed byte) []*tracepb.ResourceSpans {
	rs := &tracepb.ResourceSpans{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{strAttr("service.name", service), strAttr("host.name", "h-"+service)}},
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope: &commonpb.InstrumentationScope{Name: "lib", Version: "1.0"},
		}},
	}
	for i := range n {
		id := make([]byte, 16)
		id[0], id[15] = seed, byte(i)
		rs.ScopeSpans[0].Spans = append(rs.ScopeSpans[0].Spans, &tracepb.Span{
			TraceId:           id,
			SpanId:            id[8:],
			Name:              service + "-op",
			Kind:              tracepb.Span_SPAN_KIND_SERVER,
			StartTimeUnixNano: 1_000_000_000 + uint64(i),
			EndTimeUnixNano:   2_000_000_000 + uint64(i),
			Attributes:        []*commonpb.KeyValue{strAttr("http.route", "/r/"+service)},
			Status:            &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK},
		})
	}
	return []*tracepb.ResourceSpans{rs}
}

// TestRealTraceSchema writes payloads in the real traces schema (dictionary
// columns, nested lists) and reads the file back into OTLP.
func TestRealTraceSchema(t *testing.T) {
	js := runBus(t)
	cfg := testConfig(t, "w1")
	cfg.Signals = []schema.Signal{schema.Traces}
	var want []*tracepb.ResourceSpans
	for i, svc := range []string{"checkout", "cart", "checkout"} {
		rss := spans(svc, 2+i, byte(i+1))
		want = append(want, rss...)
		publishTraces(t, js, rss)
	}
	r := start(t, cfg, js, nil)
	drain(t, js, cfg.Signals, r.w)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	names := finished(t, cfg, schema.Traces)
	if len(names) != 1 {
		t.Fatalf("files = %v, want 1", names)
	}
	f, err := os.Open(filepath.Join(cfg.OutputDir, "otlp", "traces", names[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := ipc.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	if !rd.Schema().Equal(schema.Schema(schema.Traces)) {
		t.Fatalf("file schema differs from schema.Schema(traces)")
	}
	var recs []arrow.RecordBatch
	for rd.Next() {
		rec := rd.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	got, err := schema.TracesFromArrow(recs)
	if err != nil {
		t.Fatal(err)
	}
	equalTraces(t, got, want)
}
