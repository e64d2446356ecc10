package otlpwire

import (
	"testing"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

type commonKV = commonpb.KeyValue

func stringValue(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func arrayValue(vs ...*commonpb.AnyValue) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vs}}}
}

// body decodes a logs request whose one record has the body b.
func body(t *testing.T, b []byte) (*commonpb.AnyValue, error) {
	t.Helper()
	in := record(msg(5, b))
	werr := agreeLogs(t, in)
	var req collogspb.ExportLogsServiceRequest
	if err := UnmarshalLogs(in, &req); err != nil {
		return nil, err
	}
	if werr != nil {
		t.Fatal("proto.Unmarshal rejects what UnmarshalLogs accepts")
	}
	return req.ResourceLogs[0].ScopeLogs[0].LogRecords[0].Body, nil
}

func TestAnyValueOneof(t *testing.T) {
	kv := func(k string, v []byte) []byte { return msg(1, append(msg(1, []byte(k)), msg(2, v)...)) }
	cat := func(bs ...[]byte) []byte {
		var r []byte
		for _, b := range bs {
			r = append(r, b...)
		}
		return r
	}
	tests := []struct {
		name string
		in   []byte
		want *commonpb.AnyValue
	}{
		{"string then int", cat(msg(1, []byte("a")), varintField(3, 5)), &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 5}}},
		{"int then string", cat(varintField(3, 5), msg(1, []byte("a"))), stringValue("a")},
		{"bool wrong wire type keeps string", cat(msg(1, []byte("a")), fixed64Field(2, 1)), stringValue("a")},
		{"bool nonzero", varintField(2, 7), &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}},
		{"double", fixed64Field(4, 0x3ff0000000000000), &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 1}}},
		{"double nan", fixed64Field(4, 0x7ff8000000000001), nil},
		{"bytes invalid utf-8", msg(7, []byte{0xff}), &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{0xff}}}},
		{"strindex", varintField(8, 1<<64-1), &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValueStrindex{StringValueStrindex: -1}}},
		{"arrays merge", cat(msg(5, msg(1, msg(1, []byte("a")))), msg(5, msg(1, msg(1, []byte("b"))))),
			arrayValue(stringValue("a"), stringValue("b"))},
		{"array, kvlist, array: last array only", cat(msg(5, msg(1, msg(1, []byte("a")))), msg(6, kv("k", nil)), msg(5, msg(1, msg(1, []byte("b"))))),
			arrayValue(stringValue("b"))},
		{"kvlists merge", cat(msg(6, kv("a", msg(1, []byte("x")))), msg(6, kv("b", nil))),
			&commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{
				{Key: "a", Value: stringValue("x")}, {Key: "b", Value: &commonpb.AnyValue{}},
			}}}}},
		{"key value's value merges", msg(6, msg(1, cat(msg(2, msg(5, msg(1, nil))), msg(1, []byte("k")), msg(2, msg(5, msg(1, varintField(3, 1))))))),
			&commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{
				{Key: "k", Value: arrayValue(&commonpb.AnyValue{}, &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 1}})},
			}}}}},
		{"key strindex", msg(6, msg(1, varintField(3, 4))),
			&commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{{KeyStrindex: 4}}}}}},
		{"unknown group", cat(protowire.AppendTag(nil, 50, protowire.StartGroupType), msg(1, []byte{0xff}), protowire.AppendTag(nil, 50, protowire.EndGroupType), varintField(3, 2)),
			&commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := body(t, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil && !proto.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAnyValueEmptyBytesIsNotNil(t *testing.T) {
	got, err := body(t, msg(7, nil))
	if err != nil {
		t.Fatal(err)
	}
	var want collogspb.ExportLogsServiceRequest
	if err := proto.Unmarshal(record(msg(5, msg(7, nil))), &want); err != nil {
		t.Fatal(err)
	}
	wantNil := want.ResourceLogs[0].ScopeLogs[0].LogRecords[0].Body.GetBytesValue() == nil
	if gotNil := got.GetBytesValue() == nil; gotNil != wantNil {
		t.Fatalf("empty bytes_value: nil %v, proto.Unmarshal gives nil %v", gotNil, wantNil)
	}
}

// nested returns an AnyValue holding levels arrays in one another; with kv,
// every other level is a kvlist instead. It writes from the end, to build
// deep values in linear time.
func nested(levels int, kv bool) []byte {
	buf := make([]byte, 16*levels)
	pos := len(buf)
	wrap := func(num protowire.Number) { // prepends num's tag and the length of what follows
		n := len(buf) - pos
		pre := protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.BytesType), uint64(n))
		pos -= len(pre)
		copy(buf[pos:], pre)
	}
	for i := range levels {
		if kv && i%2 == 1 {
			wrap(2) // KeyValue.value
			wrap(1) // KeyValueList.values
			wrap(6) // AnyValue.kvlist_value
		} else {
			wrap(1) // ArrayValue.values
			wrap(5) // AnyValue.array_value
		}
	}
	return buf[pos:]
}

// TestRecursionLimit finds the nesting at which proto.Unmarshal starts to
// fail and checks that UnmarshalLogs fails from the same level on.
func TestRecursionLimit(t *testing.T) {
	for _, tt := range []struct {
		kv   bool
		from int
	}{{false, 4995}, {true, 3996}} {
		ok := 0
		const n = 4
		for levels := tt.from; levels < tt.from+n; levels++ {
			in := record(msg(5, nested(levels, tt.kv)))
			if agreeLogs(t, in) == nil {
				ok++
			}
		}
		if ok == 0 || ok == n {
			t.Fatalf("kvlist %v: proto.Unmarshal accepted %d of %d nestings, the test must straddle its limit", tt.kv, ok, n)
		}
	}
}

func TestResourceEntityRefs(t *testing.T) {
	ref := append(append(append(append(msg(1, []byte("url")), msg(2, []byte("service"))...), msg(3, []byte("service.name"))...), msg(4, []byte("d1"))...), msg(4, []byte("d2"))...)
	res := append(append(msg(1, msg(1, []byte("k"))), varintField(2, 3)...), msg(3, ref)...)
	in := msg(1, msg(1, append(res, msg(3, msg(3, []byte("x")))...)))
	agreeLogs(t, in)
	var req collogspb.ExportLogsServiceRequest
	if err := UnmarshalLogs(in, &req); err != nil {
		t.Fatal(err)
	}
	want := &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "k"}}, DroppedAttributesCount: 3, EntityRefs: []*commonpb.EntityRef{
		{SchemaUrl: "url", Type: "service", IdKeys: []string{"service.name"}, DescriptionKeys: []string{"d1", "d2"}},
		{IdKeys: []string{"x"}},
	}}
	if got := req.ResourceLogs[0].Resource; !proto.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	agreeLogs(t, msg(1, msg(1, msg(3, msg(3, []byte{0xff})))))
}
