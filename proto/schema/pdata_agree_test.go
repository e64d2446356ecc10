package schema

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestResourceSpansAgree checks that the pdata conversion gives the batch
// the struct conversion gives, on random data.
func TestResourceSpansAgree(t *testing.T) {
	mem := memory.NewGoAllocator()
	for seed := range uint64(200) {
		rss := newGen(seed).traces()
		pdataEquivalent(rss)
		want, err := TracesToArrow(mem, rss)
		if err != nil {
			t.Fatal(err)
		}
		b, err := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: rss})
		if err != nil {
			t.Fatal(err)
		}
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(b); err != nil {
			t.Fatal(err)
		}
		td := req.Traces()
		prs := make([]ptrace.ResourceSpans, td.ResourceSpans().Len())
		for i := range prs {
			prs[i] = td.ResourceSpans().At(i)
		}
		got, err := ResourceSpansToArrow(mem, prs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want.NumCols() {
			if !array.ApproxEqual(want.Column(int(i)), got.Column(int(i)), array.WithNaNsEqual(true), array.WithAbsTolerance(0)) {
				t.Errorf("seed %d: column %s differs:\n%v\n%v", seed, want.ColumnName(int(i)), want.Column(int(i)), got.Column(int(i)))
			}
		}
		want.Release()
		got.Release()
	}
}

// pdataEquivalent rewrites what pdata cannot express into its nearest
// equal: an attribute without a value has the empty value, an empty status
// is absent.
func pdataEquivalent(rss []*tracepb.ResourceSpans) {
	var fixKVs func(kvs []*commonpb.KeyValue)
	var fixValue func(v *commonpb.AnyValue)
	fixValue = func(v *commonpb.AnyValue) {
		switch x := v.GetValue().(type) {
		case *commonpb.AnyValue_ArrayValue:
			for i, e := range x.ArrayValue.GetValues() {
				if e == nil {
					x.ArrayValue.Values[i] = &commonpb.AnyValue{}
				}
				fixValue(e)
			}
		case *commonpb.AnyValue_KvlistValue:
			fixKVs(x.KvlistValue.GetValues())
		}
	}
	fixKVs = func(kvs []*commonpb.KeyValue) {
		for _, kv := range kvs {
			if kv.Value == nil {
				kv.Value = &commonpb.AnyValue{}
			}
			fixValue(kv.Value)
		}
	}
	for _, rs := range rss {
		fixKVs(rs.GetResource().GetAttributes())
		for _, ss := range rs.ScopeSpans {
			fixKVs(ss.GetScope().GetAttributes())
			for _, s := range ss.Spans {
				fixKVs(s.Attributes)
				for _, e := range s.Events {
					fixKVs(e.Attributes)
				}
				for _, l := range s.Links {
					fixKVs(l.Attributes)
				}
				if s.Status != nil && s.Status.Code == 0 && s.Status.Message == "" {
					s.Status = nil
				}
			}
		}
	}
}
