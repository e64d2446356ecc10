package schema

import (
	"math"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// checkValueJSON tests appendAnyValueJSON against protojson (the reference,
// protoValueJSON) for v: when the fast path takes v, it must write exactly
// the reference bytes; when it declines, anyValueJSON must still give the
// reference answer. It reports whether the fast path took v.
func checkValueJSON(t *testing.T, v *commonpb.AnyValue) bool {
	t.Helper()
	want, wantErr := protoValueJSON(v)
	got, ok := appendAnyValueJSON([]byte("prefix"), v)
	if ok {
		if wantErr != nil {
			t.Fatalf("fast path encoded %v as %s, protojson fails: %v", v, got, wantErr)
		}
		if string(got) != "prefix"+string(want) {
			t.Fatalf("fast path differs from protojson for %v\n got %s\nwant prefix%s", v, got, want)
		}
	}
	js, err := anyValueJSON(v)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("anyValueJSON(%v) error = %v, protojson error = %v", v, err, wantErr)
	}
	if err == nil && js != string(want) {
		t.Fatalf("anyValueJSON(%v) = %s, want %s", v, js, want)
	}
	return ok
}

// jsonEdgeStrings are strings whose escaping protojson and a hand-written
// encoder could disagree on.
var jsonEdgeStrings = []string{
	"", "plain", "quote\"", "back\\slash", "/slash", "\b\f\n\r\t", "\x00\x01\x1f", "\x7f",
	"<html>&amp;", "\u2028\u2029", "\ufffd", "é日本🚀", "tab\tin", "\U0010ffff",
	"bad\xff", "\xc3", "\xed\xa0\x80", // invalid UTF-8: protojson rejects it
}

func TestValueJSONEdges(t *testing.T) {
	floats := []float64{0, math.Copysign(0, -1), 1, -1.5, 1e20, 1e21, 123456789e13, 1e-6, 9.99e-7, 1e-7, 1e-300,
		math.SmallestNonzeroFloat64, math.MaxFloat64, -math.MaxFloat64, math.NaN(), math.Inf(1), math.Inf(-1), 0.1, 1.0 / 3}
	var vals []*commonpb.AnyValue
	for _, s := range jsonEdgeStrings {
		vals = append(vals, avStr(s), avKvlist(kvPair(s, avStr(s))))
	}
	for _, f := range floats {
		vals = append(vals, avDouble(f))
	}
	for _, i := range []int64{0, 1, -1, math.MaxInt64, math.MinInt64} {
		vals = append(vals, avInt(i))
	}
	vals = append(vals,
		avBool(true), avBool(false),
		avBytes(nil), avBytes([]byte{}), avBytes([]byte{0}), avBytes([]byte{0xff, 0xfe}), avBytes([]byte("abcd")),
		&commonpb.AnyValue{},
		avArray(), avKvlist(),
		avArray(avStr("a"), avInt(2), avArray(avDouble(3)), &commonpb.AnyValue{}),
		avKvlist(kvPair("", nil), kvPair("k", nil), kvPair("", avInt(1)), &commonpb.KeyValue{}),
	)
	for _, v := range vals {
		checkValueJSON(t, v)
	}
	// What the fast path leaves to protojson, which must still agree.
	declined := []*commonpb.AnyValue{
		nil,
		avStr("bad\xff"),
		avArray(nil),
		avArray(avStr("ok"), avStr("\xff")),
		{Value: &commonpb.AnyValue_ArrayValue{}},
		{Value: &commonpb.AnyValue_KvlistValue{}},
		avKvlist(nil),
		avKvlist(&commonpb.KeyValue{Key: "k", KeyStrindex: 3}),
		{Value: &commonpb.AnyValue_StringValueStrindex{StringValueStrindex: 7}},
	}
	for _, v := range declined {
		if checkValueJSON(t, v) {
			t.Errorf("fast path took %v, want it left to protojson", v)
		}
	}
}

func TestValueJSONProperty(t *testing.T) {
	taken := 0
	for seed := range uint64(propertySeeds * 10) {
		g := newGen(seed)
		for range 5 {
			if checkValueJSON(t, g.anyValue(0)) {
				taken++
			}
		}
	}
	if taken == 0 {
		t.Fatal("the fast path took no generated value")
	}
}

func FuzzValueJSON(f *testing.F) {
	f.Add("héllo", "key", 1.5, int64(-3), []byte{1, 2}, true)
	f.Add("\x00\"\\\xff", "", math.Inf(-1), int64(math.MinInt64), []byte(nil), false)
	f.Fuzz(func(t *testing.T, s, key string, d float64, i int64, b []byte, flag bool) {
		vals := []*commonpb.AnyValue{avStr(s), avDouble(d), avInt(i), avBytes(b), avBool(flag)}
		vals = append(vals, avArray(vals...), avKvlist(kvPair(key, avStr(s)), kvPair(s, avDouble(d)), kvPair(strings.Repeat(key, 2), nil)))
		for _, v := range vals {
			checkValueJSON(t, v)
		}
	})
}

// TestPdataValueJSON checks that appendPdataJSON, which encodes the "other"
// attribute values as ingest decodes them (pdata), writes the bytes
// protojson writes for the same AnyValue, on random values and the edge
// strings; values without a value are the empty value in pdata.
func TestPdataValueJSON(t *testing.T) {
	check := func(v *commonpb.AnyValue) {
		t.Helper()
		v = filledValue(v)
		b, err := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
			Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "k", Value: v}}}}}})
		if err != nil {
			return // not UTF-8: refused before any encoding
		}
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(b); err != nil {
			t.Fatal(err)
		}
		pv, _ := req.Traces().ResourceSpans().At(0).Resource().Attributes().Get("k")
		want, err := protoValueJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendPdataJSON([]byte("prefix"), pv)
		if err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		if string(got) != "prefix"+string(want) {
			t.Fatalf("pdata encoding differs from protojson for %v\n got %s\nwant prefix%s", v, got, want)
		}
	}
	g := newGen(19)
	for range 2000 {
		check(g.anyValue(0))
	}
	for _, s := range jsonEdgeStrings {
		check(&commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}})
		check(&commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{
			Values: []*commonpb.KeyValue{{Key: s, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: math.Inf(-1)}}}}}}})
	}
}
