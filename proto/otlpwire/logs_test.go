package otlpwire

import (
	"testing"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// agreeLogs is agreeTraces for logs requests.
func agreeLogs(t testing.TB, b []byte) error {
	t.Helper()
	var want, got collogspb.ExportLogsServiceRequest
	werr := discardUnknown.Unmarshal(b, &want)
	gerr := UnmarshalLogs(b, &got)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("input %x: proto.Unmarshal error %v, UnmarshalLogs error %v", b, werr, gerr)
	}
	if werr == nil && !proto.Equal(&want, &got) {
		t.Fatalf("input %x: decoded requests differ\nproto:    %v\notlpwire: %v", b, &want, &got)
	}
	return werr
}

// record wraps log record fields into a request with one record.
func record(fields ...[]byte) []byte {
	var r []byte
	for _, f := range fields {
		r = append(r, f...)
	}
	return msg(1, msg(2, msg(2, r)))
}

func fixed64Field(num protowire.Number, v uint64) []byte {
	return protowire.AppendFixed64(protowire.AppendTag(nil, num, protowire.Fixed64Type), v)
}

func fixed32Field(num protowire.Number, v uint32) []byte {
	return protowire.AppendFixed32(protowire.AppendTag(nil, num, protowire.Fixed32Type), v)
}

func TestUnmarshalLogsRecordFields(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want *logspb.LogRecord // nil: an error is wanted
	}{
		{"every field", record(fixed64Field(1, 10), varintField(2, 9), msg(3, []byte("INFO")), msg(5, msg(1, []byte("hi"))),
			msg(6, msg(1, []byte("k"))), varintField(7, 2), fixed32Field(8, 1), msg(9, []byte{1}), msg(10, []byte{2}),
			fixed64Field(11, 11), msg(12, []byte("ev"))),
			&logspb.LogRecord{TimeUnixNano: 10, SeverityNumber: 9, SeverityText: "INFO", Body: stringValue("hi"),
				Attributes: []*commonKV{{Key: "k"}}, DroppedAttributesCount: 2, Flags: 1, TraceId: []byte{1}, SpanId: []byte{2},
				ObservedTimeUnixNano: 11, EventName: "ev"}},
		{"reserved field 4 is unknown", record(msg(4, []byte("x"))), &logspb.LogRecord{}},
		{"body merges", record(msg(5, msg(5, msg(1, msg(1, []byte("a"))))), msg(5, msg(5, msg(1, msg(1, []byte("b")))))),
			&logspb.LogRecord{Body: arrayValue(stringValue("a"), stringValue("b"))}},
		{"time wrong wire type", record(varintField(1, 3)), &logspb.LogRecord{}},
		{"invalid utf-8 event name", record(msg(12, []byte{0xc3})), nil},
		{"invalid utf-8 severity text", record(msg(3, []byte{0x80})), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := agreeLogs(t, tt.in)
			if tt.want == nil {
				if err == nil {
					t.Fatal("proto.Unmarshal accepts the input, the test wants it rejected")
				}
				return
			}
			var req collogspb.ExportLogsServiceRequest
			if err := UnmarshalLogs(tt.in, &req); err != nil {
				t.Fatal(err)
			}
			if got := req.ResourceLogs[0].ScopeLogs[0].LogRecords[0]; !proto.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUnmarshalLogsBench(t *testing.T) {
	for _, n := range []int{0, 1, 100} {
		agreeLogs(t, mustMarshal(t, benchLogs(n)))
	}
}

func FuzzUnmarshalLogs(f *testing.F) {
	// Small seeds: see FuzzUnmarshalTraces.
	f.Add(mustMarshal(f, &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{strAttr("service.name", "a")}},
		ScopeLogs: []*logspb.ScopeLogs{{
			Scope: &commonpb.InstrumentationScope{Name: "s"},
			LogRecords: []*logspb.LogRecord{{
				TimeUnixNano: 1, ObservedTimeUnixNano: 2, SeverityNumber: 9, SeverityText: "INFO", Body: stringValue("hello"),
				Attributes: spanAttrs(5)[9:], DroppedAttributesCount: 1, Flags: 1, TraceId: id(16, 1), SpanId: id(8, 1), EventName: "e",
			}},
			SchemaUrl: "u",
		}},
		SchemaUrl: "v",
	}}}))
	f.Add(record(msg(5, msg(6, msg(1, msg(2, msg(5, msg(1, msg(7, nil)))))))))
	f.Add(record(msg(1, []byte("x")), msg(6, nil), msg(6, msg(2, nil))))
	f.Add(msg(1, msg(1, msg(3, msg(3, []byte("id"))))))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		agreeLogs(t, b)
	})
}
