package schema

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Value constructors for readable test tables.
func avStr(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}
func avInt(i int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: i}}
}
func avDouble(d float64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: d}}
}
func avBool(b bool) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: b}}
}
func avBytes(b []byte) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: b}}
}
func avArray(vs ...*commonpb.AnyValue) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vs}}}
}
func avKvlist(kvs ...*commonpb.KeyValue) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: kvs}}}
}
func kvPair(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

// allKindsAttrs holds an attribute of every kind and the odd cases: NaN and
// infinities, an empty key, a duplicate key, a kvlist inside an array, the
// empty AnyValue and a KeyValue without any value.
func allKindsAttrs() []*commonpb.KeyValue {
	return []*commonpb.KeyValue{
		kvPair("arr", avArray(avInt(1), avKvlist(kvPair("inner", avStr("x")), kvPair("deep", avArray(avBool(true)))))),
		kvPair("s", avStr("v")),
		kvPair("nan", avDouble(math.NaN())),
		kvPair("inf", avDouble(math.Inf(1))),
		kvPair("-inf", avDouble(math.Inf(-1))),
		kvPair("", avStr("empty key")),
		kvPair("dup", avInt(1)),
		kvPair("dup", avInt(2)),
		kvPair("dup", avStr("two kinds")),
		kvPair("b", avBool(false)),
		kvPair("bytes", avBytes([]byte{0, 1, 0xff})),
		kvPair("empty", &commonpb.AnyValue{}),
		kvPair("nil", nil),
		kvPair("kvl", avKvlist()),
	}
}

var (
	edgeTraceID = []byte("0123456789abcdef")
	edgeSpanID  = []byte("01234567")
	edgeSvcRes  = &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kvPair(ServiceNameKey, avStr("checkout"))}}
)

// colByName returns the named column of rec; the test fails when it is absent.
func colByName(t *testing.T, rec arrow.RecordBatch, name string) arrow.Array {
	t.Helper()
	idx := rec.Schema().FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("column %s: found %d", name, len(idx))
	}
	return rec.Column(idx[0])
}

// wantNullAt checks that row 0 of each named column is null (or not).
func wantNullAt(t *testing.T, rec arrow.RecordBatch, null bool, names ...string) {
	t.Helper()
	for _, n := range names {
		if got := colByName(t, rec, n).IsNull(0); got != null {
			t.Errorf("column %s row 0: null = %v, want %v", n, got, null)
		}
	}
}

func oneSpan(res *resourcepb.Resource, s *tracepb.Span) []*tracepb.ResourceSpans {
	return []*tracepb.ResourceSpans{{Resource: res, ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{s}}}}}
}

func oneLog(res *resourcepb.Resource, l *logspb.LogRecord) []*logspb.ResourceLogs {
	return []*logspb.ResourceLogs{{Resource: res, ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{l}}}}}
}

func TestTracesEdgeCases(t *testing.T) {
	tests := []struct {
		name  string
		in    []*tracepb.ResourceSpans
		check func(t *testing.T, rec arrow.RecordBatch)
	}{
		{
			name: "absent parent span id",
			in:   oneSpan(edgeSvcRes, &tracepb.Span{TraceId: edgeTraceID, SpanId: edgeSpanID, Name: "root", StartTimeUnixNano: 1, EndTimeUnixNano: 2}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantNullAt(t, rec, true, "parent_span_id", "status_code", "status_message")
				wantNullAt(t, rec, false, "trace_id", "span_id", "service_name", "start_time")
				if got, want := colByName(t, rec, "service_name").(*array.Dictionary).ValueStr(0), "checkout"; got != want {
					t.Errorf("service_name = %q, want %q", got, want)
				}
			},
		},
		{
			name: "zero timestamps and empty ids",
			in:   oneSpan(edgeSvcRes, &tracepb.Span{Name: "no times", Status: &tracepb.Status{}}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantNullAt(t, rec, true, "start_time", "end_time", "trace_id", "span_id")
				// pdata cannot tell an empty Status from an absent one:
				// both are null.
				wantNullAt(t, rec, true, "status_code", "status_message")
			},
		},
		{
			name: "nil resource",
			in:   oneSpan(nil, &tracepb.Span{Name: "s"}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantNullAt(t, rec, true, "service_name", "resource_attributes_str", "resource_entity_refs")
			},
		},
		{
			name: "empty resource",
			in:   oneSpan(&resourcepb.Resource{}, &tracepb.Span{Name: "s"}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantNullAt(t, rec, true, "service_name", "resource_attributes_str")
			},
		},
		{
			name: "resource without service.name",
			in:   oneSpan(&resourcepb.Resource{Attributes: []*commonpb.KeyValue{kvPair("host.name", avStr("h1"))}}, &tracepb.Span{Name: "s"}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantNullAt(t, rec, true, "service_name")
				wantNullAt(t, rec, false, "resource_attributes_str")
			},
		},
		{
			name: "service.name not a string",
			in:   oneSpan(&resourcepb.Resource{Attributes: []*commonpb.KeyValue{kvPair(ServiceNameKey, avInt(7))}}, &tracepb.Span{Name: "s"}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantNullAt(t, rec, true, "service_name", "resource_attributes_str")
				wantNullAt(t, rec, false, "resource_attributes_int")
			},
		},
		{
			name: "attributes of every kind",
			in: oneSpan(&resourcepb.Resource{Attributes: allKindsAttrs()}, &tracepb.Span{
				Name:       "attrs",
				Attributes: allKindsAttrs(),
				Events:     []*tracepb.Span_Event{{Name: "e", Attributes: allKindsAttrs()}},
				Links:      []*tracepb.Span_Link{{TraceId: edgeTraceID, Attributes: allKindsAttrs()}},
			}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				m := colByName(t, rec, "attributes_double").(*array.Map)
				if got, want := m.Len(), 1; got != want {
					t.Fatalf("rows = %d, want %d", got, want)
				}
				start, end := m.ValueOffsets(0)
				if got, want := end-start, int64(3); got != want {
					t.Errorf("double attributes = %d, want %d", got, want)
				}
				other := colByName(t, rec, "attributes_other").(*array.Map)
				items := other.Items().(*array.String)
				var got []string
				for j := range items.Len() {
					if items.IsNull(j) {
						got = append(got, "<null>")
					} else {
						got = append(got, items.Value(j))
					}
				}
				// pdata decodes an attribute without a value as the empty value.
				want := `{"arrayValue":{"values":[{"intValue":"1"},{"kvlistValue":{"values":[{"key":"inner","value":{"stringValue":"x"}},{"key":"deep","value":{"arrayValue":{"values":[{"boolValue":true}]}}}]}}]}}|{}|{}|{"kvlistValue":{}}`
				if g := strings.Join(got, "|"); g != want {
					t.Errorf("attributes_other items:\n got %s\nwant %s", g, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			rec, err := TracesToArrow(mem, tt.in)
			if err != nil {
				t.Fatalf("to arrow: %v", err)
			}
			defer rec.Release()
			tt.check(t, rec)
			back := ipcRoundTrip(t, rec)
			defer back.Release()
			got, err := TracesFromArrow([]arrow.RecordBatch{back})
			if err != nil {
				t.Fatalf("from arrow: %v", err)
			}
			want := NormalizeTraces(tt.in)
			if len(got) != len(want) {
				t.Fatalf("%d resources, want %d", len(got), len(want))
			}
			for i := range want {
				if !proto.Equal(want[i], got[i]) {
					t.Fatalf("resource %d differs\n%s", i, diffMsg(want[i], got[i]))
				}
			}
		})
	}
}

func TestLogsEdgeCases(t *testing.T) {
	tests := []struct {
		name  string
		in    []*logspb.ResourceLogs
		check func(t *testing.T, rec arrow.RecordBatch)
	}{
		{
			name: "no body",
			in:   oneLog(edgeSvcRes, &logspb.LogRecord{TimeUnixNano: 5, SeverityText: "INFO"}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantNullAt(t, rec, true, "body", "body_json", "observed_time", "trace_id", "span_id")
				wantNullAt(t, rec, false, "time", "severity_text", "event_name")
			},
		},
		{
			name: "string body",
			in:   oneLog(edgeSvcRes, &logspb.LogRecord{Body: avStr("hello")}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantNullAt(t, rec, true, "body_json")
				if got, want := colByName(t, rec, "body").(*array.String).Value(0), "hello"; got != want {
					t.Errorf("body = %q, want %q", got, want)
				}
			},
		},
		{
			name: "empty string body",
			in:   oneLog(edgeSvcRes, &logspb.LogRecord{Body: avStr("")}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantNullAt(t, rec, false, "body")
				wantNullAt(t, rec, true, "body_json")
			},
		},
		{
			name: "int body",
			in:   oneLog(edgeSvcRes, &logspb.LogRecord{Body: avInt(42)}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantNullAt(t, rec, true, "body")
				if got, want := colByName(t, rec, "body_json").(*array.String).Value(0), `{"intValue":"42"}`; got != want {
					t.Errorf("body_json = %q, want %q", got, want)
				}
			},
		},
		{
			// pdata decodes an empty body as no body.
			name: "empty AnyValue body",
			in:   oneLog(edgeSvcRes, &logspb.LogRecord{Body: &commonpb.AnyValue{}}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantNullAt(t, rec, true, "body", "body_json")
			},
		},
		{
			name: "kvlist body with NaN",
			in:   oneLog(edgeSvcRes, &logspb.LogRecord{Body: avKvlist(kvPair("msg", avStr("m")), kvPair("n", avDouble(math.NaN())), kvPair("a", avArray(avKvlist(kvPair("x", avInt(1))))))}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantNullAt(t, rec, true, "body")
				wantNullAt(t, rec, false, "body_json")
			},
		},
		{
			name: "zero timestamps",
			in:   oneLog(edgeSvcRes, &logspb.LogRecord{Body: avStr("x")}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantNullAt(t, rec, true, "time", "observed_time")
			},
		},
		{
			name: "nil resource",
			in:   oneLog(nil, &logspb.LogRecord{Body: avStr("x")}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantNullAt(t, rec, true, "service_name")
			},
		},
		{
			name: "empty resource",
			in:   oneLog(&resourcepb.Resource{}, &logspb.LogRecord{Body: avStr("x")}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantNullAt(t, rec, true, "service_name")
			},
		},
		{
			name: "resource without service.name",
			in:   oneLog(&resourcepb.Resource{Attributes: []*commonpb.KeyValue{kvPair("host.name", avStr("h"))}}, &logspb.LogRecord{Body: avStr("x")}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantNullAt(t, rec, true, "service_name")
			},
		},
		{
			name: "ids, event name and attributes of every kind",
			in: oneLog(edgeSvcRes, &logspb.LogRecord{
				TraceId: edgeTraceID, SpanId: edgeSpanID, EventName: "browser.click",
				Attributes: allKindsAttrs(), SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_ERROR,
			}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantNullAt(t, rec, false, "trace_id", "span_id", "attributes_str", "attributes_int",
					"attributes_double", "attributes_bool", "attributes_bytes", "attributes_other")
				if got, want := colByName(t, rec, "severity_number").(*array.Int32).Value(0), int32(17); got != want {
					t.Errorf("severity_number = %d, want %d", got, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			rec, err := LogsToArrow(mem, tt.in)
			if err != nil {
				t.Fatalf("to arrow: %v", err)
			}
			defer rec.Release()
			tt.check(t, rec)
			back := ipcRoundTrip(t, rec)
			defer back.Release()
			got, err := LogsFromArrow([]arrow.RecordBatch{back})
			if err != nil {
				t.Fatalf("from arrow: %v", err)
			}
			want := NormalizeLogs(tt.in)
			if len(got) != len(want) {
				t.Fatalf("%d resources, want %d", len(got), len(want))
			}
			for i := range want {
				if !proto.Equal(want[i], got[i]) {
					t.Fatalf("resource %d differs\n%s", i, diffMsg(want[i], got[i]))
				}
			}
		})
	}
}

func TestInvalidIDs(t *testing.T) {
	good := &tracepb.Span{TraceId: edgeTraceID, SpanId: edgeSpanID, Name: "ok"}
	tests := []struct {
		name   string
		traces []*tracepb.ResourceSpans
		logs   []*logspb.ResourceLogs
	}{
		{name: "span 3-byte trace id", traces: oneSpan(edgeSvcRes, &tracepb.Span{TraceId: []byte{1, 2, 3}})},
		{name: "span 5-byte span id", traces: oneSpan(edgeSvcRes, &tracepb.Span{SpanId: []byte{1, 2, 3, 4, 5}})},
		{name: "span 16-byte parent id", traces: oneSpan(edgeSvcRes, &tracepb.Span{ParentSpanId: edgeTraceID})},
		{name: "link 3-byte trace id", traces: oneSpan(edgeSvcRes, &tracepb.Span{Links: []*tracepb.Span_Link{{TraceId: []byte{1, 2, 3}}}})},
		{name: "bad span after a good one", traces: []*tracepb.ResourceSpans{
			oneSpan(edgeSvcRes, good)[0],
			oneSpan(edgeSvcRes, &tracepb.Span{TraceId: []byte{1, 2, 3}})[0],
		}},
		{name: "log 3-byte trace id", logs: oneLog(edgeSvcRes, &logspb.LogRecord{TraceId: []byte{1, 2, 3}})},
		{name: "log 9-byte span id", logs: oneLog(edgeSvcRes, &logspb.LogRecord{SpanId: []byte("123456789")})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			var rec arrow.RecordBatch
			var err error
			if tt.traces != nil {
				rec, err = TracesToArrow(mem, tt.traces)
			} else {
				rec, err = LogsToArrow(mem, tt.logs)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if rec != nil {
				rec.Release()
				t.Fatalf("got a batch with an error")
			}
		})
	}
}

// oneRowRecord makes a one-row batch from columns built by fill.
func oneRowRecord(t *testing.T, mem memory.Allocator, fields []arrow.Field, fill func(bs []array.Builder)) arrow.RecordBatch {
	t.Helper()
	rb := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer rb.Release()
	fill(rb.Fields())
	return rb.NewRecordBatch()
}

func TestCompatibleSubset(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)

	t.Run("traces", func(t *testing.T) {
		rec := oneRowRecord(t, mem, []arrow.Field{
			{Name: "trace_id", Type: TraceID, Nullable: true},
			{Name: "span_id", Type: SpanID, Nullable: true},
			{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "unknown_extra", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		}, func(bs []array.Builder) {
			bs[0].(*array.FixedSizeBinaryBuilder).Append(edgeTraceID)
			bs[1].(*array.FixedSizeBinaryBuilder).Append(edgeSpanID)
			bs[2].(*array.StringBuilder).Append("GET /")
			bs[3].(*array.Int64Builder).Append(1)
		})
		defer rec.Release()
		got, err := TracesFromArrow([]arrow.RecordBatch{rec})
		if err != nil {
			t.Fatalf("from arrow: %v", err)
		}
		want := []*tracepb.ResourceSpans{{
			Resource: &resourcepb.Resource{},
			ScopeSpans: []*tracepb.ScopeSpans{{
				Scope: &commonpb.InstrumentationScope{},
				Spans: []*tracepb.Span{{TraceId: edgeTraceID, SpanId: edgeSpanID, Name: "GET /"}},
			}},
		}}
		if len(got) != 1 || !proto.Equal(want[0], got[0]) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})

	t.Run("logs", func(t *testing.T) {
		rec := oneRowRecord(t, mem, []arrow.Field{
			{Name: "service_name", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "time", Type: Timestamp, Nullable: true},
			{Name: "severity_text", Type: arrow.BinaryTypes.LargeString, Nullable: true},
			{Name: "body", Type: arrow.BinaryTypes.String, Nullable: true},
		}, func(bs []array.Builder) {
			bs[0].(*array.StringBuilder).Append("ignored: resource attributes hold it")
			bs[1].(*array.TimestampBuilder).Append(42)
			bs[2].(*array.LargeStringBuilder).Append("WARN")
			bs[3].(*array.StringBuilder).Append("disk almost full")
		})
		defer rec.Release()
		got, err := LogsFromArrow([]arrow.RecordBatch{rec})
		if err != nil {
			t.Fatalf("from arrow: %v", err)
		}
		want := &logspb.ResourceLogs{
			Resource: &resourcepb.Resource{},
			ScopeLogs: []*logspb.ScopeLogs{{
				Scope:      &commonpb.InstrumentationScope{},
				LogRecords: []*logspb.LogRecord{{TimeUnixNano: 42, SeverityText: "WARN", Body: avStr("disk almost full")}},
			}},
		}
		if len(got) != 1 || !proto.Equal(want, got[0]) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
}

func TestWrongColumnType(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	tests := []struct {
		name   string
		field  arrow.Field
		fill   func(b array.Builder)
		traces bool
	}{
		{name: "name", traces: true, field: arrow.Field{Name: "name", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			fill: func(b array.Builder) { b.(*array.Int64Builder).Append(1) }},
		{name: "trace_id", traces: true, field: arrow.Field{Name: "trace_id", Type: arrow.BinaryTypes.String, Nullable: true},
			fill: func(b array.Builder) { b.(*array.StringBuilder).Append("abc") }},
		{name: "start_time", traces: true, field: arrow.Field{Name: "start_time", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			fill: func(b array.Builder) { b.(*array.Int64Builder).Append(1) }},
		{name: "scope_name", traces: true, field: arrow.Field{Name: "scope_name", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			fill: func(b array.Builder) { b.(*array.Int64Builder).Append(1) }},
		{name: "severity_number", field: arrow.Field{Name: "severity_number", Type: arrow.BinaryTypes.String, Nullable: true},
			fill: func(b array.Builder) { b.(*array.StringBuilder).Append("INFO") }},
		{name: "body", field: arrow.Field{Name: "body", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			fill: func(b array.Builder) { b.(*array.Int64Builder).Append(1) }},
		{name: "attributes_str", field: arrow.Field{Name: "attributes_str", Type: arrow.BinaryTypes.String, Nullable: true},
			fill: func(b array.Builder) { b.(*array.StringBuilder).Append("x") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := oneRowRecord(t, mem, []arrow.Field{tt.field}, func(bs []array.Builder) { tt.fill(bs[0]) })
			defer rec.Release()
			var err error
			if tt.traces {
				_, err = TracesFromArrow([]arrow.RecordBatch{rec})
			} else {
				_, err = LogsFromArrow([]arrow.RecordBatch{rec})
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.field.Name) {
				t.Errorf("error %q does not name column %s", err, tt.field.Name)
			}
		})
	}
}

func TestBadBodyJSON(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	rec := oneRowRecord(t, mem, []arrow.Field{{Name: "body_json", Type: arrow.BinaryTypes.String, Nullable: true}},
		func(bs []array.Builder) { bs[0].(*array.StringBuilder).Append(`{"intValue":`) })
	defer rec.Release()
	_, err := LogsFromArrow([]arrow.RecordBatch{rec})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	if !strings.Contains(err.Error(), "body_json") {
		t.Errorf("error %q does not name body_json", err)
	}
}
