package seedspans

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

func TestCheck(t *testing.T) {
	ok := arrow.NewSchema([]arrow.Field{
		{Name: "trace_id", Type: arrow.BinaryTypes.Binary},
		{Name: "span_id", Type: &arrow.FixedSizeBinaryType{ByteWidth: 8}},
		{Name: "kind", Type: arrow.BinaryTypes.String},
		{Name: "start_time_unix_nano", Type: arrow.FixedWidthTypes.Timestamp_us},
		{Name: "end_time_unix_nano", Type: arrow.PrimitiveTypes.Int64},
		{Name: "service_name", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}},
	}, nil)
	if !Detect(ok) {
		t.Error("not detected")
	}
	if err := Check(ok); err != nil {
		t.Errorf("Check: %v", err)
	}
	bad := arrow.NewSchema([]arrow.Field{
		{Name: "attributes", Type: arrow.PrimitiveTypes.Int64},
		{Name: "extra", Type: arrow.BinaryTypes.String},
	}, nil)
	err := Check(bad)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"attributes"`) || !strings.Contains(err.Error(), `"extra"`) {
		t.Errorf("Check = %v", err)
	}
}

func TestToOTLP(t *testing.T) {
	mem := memory.NewGoAllocator()
	s := arrow.NewSchema([]arrow.Field{
		{Name: "trace_id", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "kind", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "status_code", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "start_time_unix_nano", Type: arrow.FixedWidthTypes.Timestamp_us, Nullable: true},
		{Name: "service_name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "attributes", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, s)
	defer b.Release()
	b.Field(0).(*array.BinaryBuilder).AppendValues([][]byte{make([]byte, 16), nil}, []bool{true, false})
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"client", "SPAN_KIND_PRODUCER"}, nil)
	b.Field(2).(*array.StringBuilder).AppendValues([]string{"error", ""}, []bool{true, false})
	b.Field(3).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{5, 0}, []bool{true, false})
	b.Field(4).(*array.StringBuilder).AppendValues([]string{"a", "b"}, nil)
	b.Field(5).(*array.StringBuilder).AppendValues([]string{`{"nested":{"x":1.5}}`, " "}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	rss, err := ToOTLP(rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(rss) != 2 {
		t.Fatalf("%d resources, want 2", len(rss))
	}
	a := rss[0].ScopeSpans[0].Spans[0]
	if a.Kind != tracepb.Span_SPAN_KIND_CLIENT || a.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || a.StartTimeUnixNano != 5000 {
		t.Errorf("span a = %v", a)
	}
	if got := a.Attributes[0].GetValue().GetKvlistValue().GetValues()[0].GetValue().GetDoubleValue(); got != 1.5 {
		t.Errorf("nested attribute = %v", got)
	}
	bsp := rss[1].ScopeSpans[0].Spans[0]
	if bsp.Kind != tracepb.Span_SPAN_KIND_PRODUCER || bsp.Status != nil || bsp.TraceId != nil || bsp.Attributes != nil {
		t.Errorf("span b = %v", bsp)
	}

	for _, tt := range []struct {
		name string
		col  arrow.Field
		val  string
		want string
	}{
		{"bad hex", arrow.Field{Name: "trace_id", Type: arrow.BinaryTypes.String}, "zz", `"trace_id"`},
		{"short id", arrow.Field{Name: "span_id", Type: arrow.BinaryTypes.String}, "0102", "want 8"},
		{"bad json", arrow.Field{Name: "attributes", Type: arrow.BinaryTypes.String}, "[1]", `"attributes"`},
		{"bad kind", arrow.Field{Name: "kind", Type: arrow.BinaryTypes.String}, "sideways", `"kind"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := array.NewStringBuilder(mem)
			b.Append(tt.val)
			a := b.NewArray()
			b.Release()
			defer a.Release()
			rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{tt.col}, nil), []arrow.Array{a}, 1)
			defer rec.Release()
			_, err := ToOTLP(rec)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "row 0") {
				t.Errorf("ToOTLP = %v, want ErrInvalid naming %s and row 0", err, tt.want)
			}
		})
	}
}
