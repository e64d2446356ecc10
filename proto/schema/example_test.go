package schema_test

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func str(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

// Convert an OTLP request to one Arrow record batch, one row per span, read a
// column, and convert the batch back.
func ExampleTracesToArrow() {
	rss := []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name", Value: str("checkout")}}},
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope: &commonpb.InstrumentationScope{Name: "shop"},
			Spans: []*tracepb.Span{
				{
					TraceId: []byte("0123456789abcdef"), SpanId: []byte("span0001"), Name: "GET /cart",
					StartTimeUnixNano: 1_700_000_000_000_000_000, EndTimeUnixNano: 1_700_000_001_500_000_000,
					Attributes: []*commonpb.KeyValue{{Key: "http.route", Value: str("/cart")}},
				},
				{
					TraceId: []byte("0123456789abcdef"), SpanId: []byte("span0002"), Name: "SELECT cart",
					Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "timeout"},
				},
			},
		}},
	}}

	rec, err := schema.TracesToArrow(memory.DefaultAllocator, rss)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rec.Release()
	fmt.Println("rows:", rec.NumRows(), "columns:", rec.NumCols())

	name := rec.Column(rec.Schema().FieldIndices("name")[0]).(*array.Dictionary)
	start := rec.Column(rec.Schema().FieldIndices("start_time")[0])
	for i := range int(rec.NumRows()) {
		fmt.Printf("%s start=%s\n", name.ValueStr(i), start.ValueStr(i))
	}

	back, err := schema.TracesFromArrow([]arrow.RecordBatch{rec})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("service:", schema.ServiceName(back[0].Resource))
	for _, s := range back[0].ScopeSpans[0].Spans {
		fmt.Println(s.Name, s.GetStatus().GetCode())
	}
	// Output:
	// rows: 2 columns: 42
	// GET /cart start=2023-11-14T22:13:20Z
	// SELECT cart start=(null)
	// service: checkout
	// GET /cart STATUS_CODE_UNSET
	// SELECT cart STATUS_CODE_ERROR
}
