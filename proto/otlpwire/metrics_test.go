package otlpwire

import (
	"errors"
	"math"
	"strings"
	"testing"
	"unsafe"

	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// agreeMetrics decodes b with proto.Unmarshal (unknown fields discarded) and
// with UnmarshalMetrics and fails unless both reject it or both give equal
// requests. It returns UnmarshalMetrics's request and proto's error.
func agreeMetrics(t testing.TB, b []byte) (*colmetricspb.ExportMetricsServiceRequest, error) {
	t.Helper()
	var want, got colmetricspb.ExportMetricsServiceRequest
	werr := proto.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, &want)
	gerr := UnmarshalMetrics(b, &got)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("input %x: proto.Unmarshal error %v, UnmarshalMetrics error %v", b, werr, gerr)
	}
	if werr != nil {
		if !errors.Is(gerr, ErrMalformed) {
			t.Fatalf("input %x: error %v does not wrap ErrMalformed", b, gerr)
		}
		return nil, werr
	}
	if !proto.Equal(&want, &got) {
		t.Fatalf("input %x: decoded requests differ\nproto:    %v\notlpwire: %v", b, &want, &got)
	}
	return &got, nil
}

// Wire-format builders for hand-made inputs.

func wTag(num protowire.Number, typ protowire.Type) []byte { return protowire.AppendTag(nil, num, typ) }

func wMsg(num protowire.Number, fields ...[]byte) []byte {
	return protowire.AppendBytes(wTag(num, protowire.BytesType), wJoin(fields))
}

func wStr(num protowire.Number, s string) []byte {
	return protowire.AppendString(wTag(num, protowire.BytesType), s)
}

func wVarint(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(wTag(num, protowire.VarintType), v)
}

func wFixed64(num protowire.Number, v uint64) []byte {
	return protowire.AppendFixed64(wTag(num, protowire.Fixed64Type), v)
}

func wDouble(num protowire.Number, f float64) []byte { return wFixed64(num, math.Float64bits(f)) }

func wFixed32(num protowire.Number, v uint32) []byte {
	return protowire.AppendFixed32(wTag(num, protowire.Fixed32Type), v)
}

// wPackedFixed64 is a packed run of fixed64 values.
func wPackedFixed64(num protowire.Number, vs ...uint64) []byte {
	var run []byte
	for _, v := range vs {
		run = protowire.AppendFixed64(run, v)
	}
	return protowire.AppendBytes(wTag(num, protowire.BytesType), run)
}

// wPackedVarint is a packed run of varints.
func wPackedVarint(num protowire.Number, vs ...uint64) []byte {
	var run []byte
	for _, v := range vs {
		run = protowire.AppendVarint(run, v)
	}
	return protowire.AppendBytes(wTag(num, protowire.BytesType), run)
}

// wGroup is a group field with a varint and a nested group in it.
func wGroup(num protowire.Number) []byte {
	b := wTag(num, protowire.StartGroupType)
	b = append(b, wVarint(1, 7)...)
	b = append(b, wTag(2, protowire.StartGroupType)...)
	b = append(b, wStr(3, "nested")...)
	b = append(b, wTag(2, protowire.EndGroupType)...)
	return append(b, wTag(num, protowire.EndGroupType)...)
}

func wJoin(parts [][]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// wMetricReq is a request with one metric made of fields.
func wMetricReq(fields ...[]byte) []byte {
	return wMsg(1, wMsg(2, wMsg(2, fields...)))
}

// wAttr is a KeyValue with a string value, as field num.
func wAttr(num protowire.Number, k, v string) []byte {
	return wMsg(num, wStr(1, k), wMsg(2, wStr(1, v)))
}

// metricsEdgeInputs are hand-made requests for the rules of the wire format
// that proto.Marshal does not exercise: each must decode as proto.Unmarshal
// decodes it. They seed the fuzzer too.
func metricsEdgeInputs() map[string][]byte {
	gauge := func(points ...[]byte) []byte { return wMsg(5, points...) }
	ndp := func(fields ...[]byte) []byte { return wMsg(1, fields...) }
	hist := func(fields ...[]byte) []byte { return wMetricReq(wMsg(9, wMsg(1, fields...))) }
	exp := func(fields ...[]byte) []byte { return wMetricReq(wMsg(10, wMsg(1, fields...))) }
	summ := func(fields ...[]byte) []byte { return wMetricReq(wMsg(11, wMsg(1, fields...))) }
	exemplar := func(fields ...[]byte) []byte { return hist(wMsg(8, fields...)) }
	badUTF8 := "bad \xff\xfe utf-8"
	return map[string][]byte{
		"empty":               nil,
		"empty messages":      wMsg(1, wMsg(1), wMsg(2, wMsg(1), wMsg(2))),
		"empty gauge":         wMetricReq(wMsg(5)),
		"gauge twice merges":  wMetricReq(gauge(ndp(wDouble(4, 1))), gauge(ndp(wDouble(4, 2)))),
		"gauge sum gauge":     wMetricReq(gauge(ndp(wDouble(4, 1))), wMsg(7, wVarint(2, 1)), gauge(ndp(wDouble(4, 3)))),
		"every data type":     wMetricReq(wMsg(5), wMsg(7), wMsg(9), wMsg(10), wMsg(11)),
		"summary then gauge":  wMetricReq(wMsg(11, wMsg(1, wDouble(5, 2))), wMsg(5)),
		"data wrong type":     wMetricReq(gauge(ndp()), wVarint(7, 1), wFixed64(9, 1), wFixed32(10, 1), wGroup(11)),
		"sum fields":          wMetricReq(wMsg(7, wVarint(2, 1<<40|2), wVarint(3, 2), wVarint(3, 0), wVarint(3, 1<<63))),
		"sum wrong types":     wMetricReq(wMsg(7, wFixed64(2, 1), wFixed32(3, 1), wStr(2, "x"), wVarint(1, 1))),
		"hist wrong types":    wMetricReq(wMsg(9, wFixed64(2, 1), wVarint(1, 1))),
		"exp wrong types":     wMetricReq(wMsg(10, wFixed32(2, 1), wVarint(1, 1))),
		"summary wrong type":  wMetricReq(wMsg(11, wVarint(1, 1))),
		"sum fields twice":    wMetricReq(wMsg(7, wVarint(2, 1), wVarint(3, 1)), wMsg(7, wVarint(2, 2))),
		"temporality -1":      wMetricReq(wMsg(9, wVarint(2, math.MaxUint64))),
		"metric strings":      wMetricReq(wStr(1, "name"), wStr(2, "desc"), wStr(3, "ms"), wStr(1, "name2"), wStr(3, "")),
		"metric metadata":     wMetricReq(wAttr(12, "a", "b"), wStr(1, "n"), wAttr(12, "c", "d")),
		"metric bad name":     wMetricReq(wStr(1, badUTF8)),
		"metric bad desc":     wMetricReq(wStr(2, badUTF8)),
		"metric bad unit":     wMetricReq(wStr(3, badUTF8)),
		"metric bad metadata": wMetricReq(wAttr(12, badUTF8, "v")),
		"rm bad schema url":   wMsg(1, wStr(3, badUTF8)),
		"sm bad schema url":   wMsg(1, wMsg(2, wStr(3, badUTF8))),
		"schema urls":         wMsg(1, wStr(3, "r"), wMsg(2, wStr(3, "s"), wStr(3, "t")), wStr(3, "u")),
		"resource twice":      wMsg(1, wMsg(1, wAttr(1, "a", "1")), wMsg(1, wAttr(1, "b", "2"), wVarint(2, 3))),
		"scope twice":         wMsg(1, wMsg(2, wMsg(1, wStr(1, "n")), wMsg(1, wStr(2, "v")))),
		"wrong types":         wMsg(1, wVarint(1, 1), wFixed32(2, 1), wFixed64(3, 1), wMsg(2, wVarint(1, 1), wVarint(2, 1), wVarint(3, 5))),
		"request wrong type":  append(wVarint(1, 5), wFixed64(1, 5)...),
		"unknown fields": append(wMsg(1, wVarint(99, 1), wFixed32(100, 2), wFixed64(101, 3), wStr(102, "x"), wGroup(103),
			wMsg(2, wGroup(4), wMsg(2, wGroup(13), wFixed32(1, 1), wVarint(1, 1), wMsg(5, wGroup(2), wMsg(1, wGroup(1)))))),
			wGroup(protowire.MaxValidNumber)...),
		"number value oneof":   wMetricReq(gauge(ndp(wDouble(4, 1.5), wFixed64(6, 7)), ndp(wFixed64(6, 7), wDouble(4, 2.5), wDouble(4, 3.5)), ndp(wFixed64(6, 1), wFixed64(6, math.MaxUint64)))),
		"number value wrong":   wMetricReq(gauge(ndp(wDouble(4, 1.5), wVarint(4, 1), wVarint(6, 2), wMsg(6), wFixed32(4, 3)))),
		"number fields":        wMetricReq(gauge(ndp(wAttr(7, "k", "v"), wFixed64(2, 1), wFixed64(3, 2), wVarint(8, 1<<35|5), wAttr(7, "k2", "v2"), wFixed64(2, 9)))),
		"number time wrong":    wMetricReq(gauge(ndp(wVarint(2, 1), wVarint(3, 1), wFixed64(8, 1), wFixed64(7, 1)))),
		"number bad attr":      wMetricReq(gauge(ndp(wAttr(7, "k", badUTF8)))),
		"number bad exemplar":  wMetricReq(gauge(ndp(wMsg(5, wAttr(7, badUTF8, "v"))))),
		"exemplar fields":      exemplar(wAttr(7, "k", "v"), wFixed64(2, 5), wStr(4, ""), wStr(5, "\x00\x01\xff"), wDouble(3, 1), wFixed64(6, 2)),
		"exemplar value twice": exemplar(wFixed64(6, 2), wDouble(3, 1), wDouble(3, 4)),
		"exemplar empty ids":   exemplar(wStr(4, "12345678"), wStr(4, ""), wStr(5, "")),
		"exemplar wrong types": exemplar(wVarint(3, 1), wVarint(4, 1), wFixed64(5, 1), wFixed32(6, 1), wVarint(7, 1)),
		"hist optional zero":   hist(wDouble(5, 0), wDouble(11, 0), wDouble(12, math.Copysign(0, -1))),
		"hist optional twice":  hist(wDouble(5, 1), wDouble(5, 0), wDouble(11, math.NaN()), wDouble(11, math.Inf(1))),
		"hist optional wrong":  hist(wVarint(5, 1), wFixed32(11, 1), wStr(12, "12345678")),
		"hist fields":          hist(wAttr(9, "k", "v"), wFixed64(2, 1), wFixed64(3, 2), wFixed64(4, 3), wVarint(10, 1<<33|1), wVarint(10, 4)),
		"hist packed":          hist(wPackedFixed64(6, 1, 2, 3), wPackedFixed64(7, math.Float64bits(0.5), math.Float64bits(1))),
		"hist unpacked":        hist(wFixed64(6, 1), wFixed64(6, 2), wDouble(7, 0.5), wDouble(7, 1)),
		"hist mixed":           hist(wFixed64(6, 1), wPackedFixed64(6, 2, 3), wFixed64(6, 4), wPackedFixed64(7), wDouble(7, 1), wPackedFixed64(7, 0, 1)),
		"hist packed empty":    hist(wPackedFixed64(6), wPackedFixed64(7)),
		"hist packed short":    hist(append(wTag(6, protowire.BytesType), 7, 1, 2, 3, 4, 5, 6, 7)),
		"hist packed long":     hist(append(wTag(7, protowire.BytesType), 9, 1, 2, 3, 4, 5, 6, 7, 8, 9)),
		"hist repeated wrong":  hist(wVarint(6, 1), wFixed32(7, 1), wGroup(6)),
		"hist merged":          wMetricReq(wMsg(9, wMsg(1, wFixed64(6, 1)), wVarint(2, 1)), wMsg(9, wMsg(1, wFixed64(6, 2)))),
		"exp fields": exp(wAttr(1, "k", "v"), wFixed64(2, 1), wFixed64(3, 2), wFixed64(4, 3), wDouble(5, 0), wVarint(6, protowire.EncodeZigZag(-3)),
			wFixed64(7, 4), wVarint(10, 1), wDouble(12, 0), wDouble(13, 0), wDouble(14, 1e-9), wMsg(11, wDouble(3, 1))),
		"exp scale 64 bits":    exp(wVarint(6, 1<<40|protowire.EncodeZigZag(-5))),
		"exp scale max":        exp(wVarint(6, math.MaxUint64)),
		"exp buckets merge":    exp(wMsg(8, wVarint(1, protowire.EncodeZigZag(-7)), wVarint(2, 1)), wMsg(8, wPackedVarint(2, 2, 300, math.MaxUint64)), wMsg(9), wMsg(9, wVarint(1, 4))),
		"exp buckets unpacked": exp(wMsg(8, wVarint(2, 1), wVarint(2, 1<<60), wPackedVarint(2), wPackedVarint(2, 5))),
		"exp offset 64 bits":   exp(wMsg(8, wVarint(1, 1<<35|3))),
		"exp buckets wrong":    exp(wMsg(8, wFixed64(1, 1), wFixed64(2, 1), wFixed32(2, 1)), wVarint(8, 1), wFixed64(9, 1)),
		"exp packed truncated": exp(wMsg(8, protowire.AppendBytes(wTag(2, protowire.BytesType), []byte{1, 0x80}))),
		"exp packed overflow":  exp(wMsg(8, protowire.AppendBytes(wTag(2, protowire.BytesType), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}))),
		"exp packed long":      exp(wMsg(8, protowire.AppendBytes(wTag(2, protowire.BytesType), []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}))),
		"exp bad attr":         exp(wAttr(1, badUTF8, "v")),
		"exp bad exemplar":     exp(wMsg(11, wAttr(7, "k", badUTF8))),
		"summary fields": summ(wAttr(7, "k", "v"), wFixed64(2, 1), wFixed64(3, 2), wFixed64(4, 3), wDouble(5, 0), wDouble(5, 2.5),
			wMsg(6, wDouble(1, 0.5), wDouble(2, 3)), wMsg(6), wMsg(6, wDouble(2, 1), wDouble(2, 2)), wVarint(8, 1)),
		"summary wrong types": summ(wVarint(5, 1), wVarint(6, 1), wMsg(6, wVarint(1, 1), wFixed32(2, 1)), wFixed64(8, 1)),
		"summary bad attr":    summ(wAttr(7, "k", badUTF8)),
		"truncated metric":    wMsg(1, wMsg(2, append(wTag(2, protowire.BytesType), 5, 1))),
		"truncated point":     wMetricReq(wMsg(5, append(wTag(1, protowire.BytesType), 20, 0x11))),
		"truncated fixed64":   wMetricReq(gauge(append(wTag(1, protowire.BytesType), 4, 0x21, 1, 2, 3))),
		"field number 0":      wMetricReq(gauge(ndp(wVarint(0, 1)))),
		"field number max":    wMetricReq(gauge(ndp(wVarint(protowire.MaxValidNumber, 1)))),
		"field number big":    wMetricReq(gauge(ndp(protowire.AppendVarint(protowire.AppendVarint(nil, uint64(protowire.MaxValidNumber+1)<<3), 1)))),
		"end group alone":     wMetricReq(gauge(ndp(wTag(2, protowire.EndGroupType)))),
		"group unterminated":  wMetricReq(gauge(ndp(wTag(2, protowire.StartGroupType), wVarint(1, 1)))),
		"group mismatched":    wMetricReq(gauge(ndp(wTag(2, protowire.StartGroupType), wTag(3, protowire.EndGroupType)))),
		"wire type 6":         wMetricReq(gauge(ndp(append(wTag(2, 6), 0)))),
		"wire type 7":         wMetricReq(wMsg(11, append(wTag(1, 7), 0))),
		"bad varint":          wMetricReq(wMsg(7, append(wTag(2, protowire.VarintType), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01))),
		"bad tag":             wMetricReq(wMsg(7, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})),
	}
}

func TestUnmarshalMetricsEdges(t *testing.T) {
	for name, in := range metricsEdgeInputs() {
		t.Run(name, func(t *testing.T) { agreeMetrics(t, in) })
	}
}

// TestUnmarshalMetricsPresence checks what proto.Equal alone would let
// pass unnoticed: optional fields present with the value 0 are non-nil, and
// a double keeps its sign bit.
func TestUnmarshalMetricsPresence(t *testing.T) {
	negZero := math.Copysign(0, -1)
	in := wMetricReq(wMsg(9, wMsg(1, wDouble(5, 0), wDouble(11, negZero))))
	got, err := agreeMetrics(t, in)
	if err != nil {
		t.Fatal(err)
	}
	p := got.ResourceMetrics[0].ScopeMetrics[0].Metrics[0].GetHistogram().DataPoints[0]
	if p.Sum == nil || *p.Sum != 0 || math.Signbit(*p.Sum) {
		t.Errorf("sum present with 0: got %v", p.Sum)
	}
	if p.Min == nil || !math.Signbit(*p.Min) {
		t.Errorf("min present with -0: got %v", p.Min)
	}
	if p.Max != nil {
		t.Errorf("max absent: got %v", *p.Max)
	}
}

// TestUnmarshalMetricsAliasesInput checks that strings and bytes alias the
// input, and that repeated fields have no spare capacity to share.
func TestUnmarshalMetricsAliasesInput(t *testing.T) {
	in := marshalMetrics(t, benchMetrics(50))
	var req colmetricspb.ExportMetricsServiceRequest
	if err := UnmarshalMetrics(in, &req); err != nil {
		t.Fatal(err)
	}
	within := func(p unsafe.Pointer, n int) bool {
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(in)))
		return uintptr(p) >= lo && uintptr(p)+uintptr(n) <= lo+uintptr(len(in))
	}
	m := req.ResourceMetrics[0].ScopeMetrics[0].Metrics[0]
	if !within(unsafe.Pointer(unsafe.StringData(m.Name)), len(m.Name)) {
		t.Errorf("metric name %q does not alias the input", m.Name)
	}
	e := m.GetGauge().DataPoints[0].Exemplars[0]
	if !within(unsafe.Pointer(unsafe.SliceData(e.TraceId)), len(e.TraceId)) || cap(e.TraceId) != len(e.TraceId) {
		t.Errorf("trace id does not alias the input with its capacity cut")
	}
	h := req.ResourceMetrics[0].ScopeMetrics[0].Metrics[1].GetHistogram()
	if h == nil {
		// The metric types alternate between the two scopes.
		h = req.ResourceMetrics[0].ScopeMetrics[1].Metrics[1].GetHistogram()
	}
	if h == nil {
		t.Fatal("no histogram where benchMetrics puts one")
	}
	p := h.DataPoints[0]
	if cap(p.BucketCounts) != len(p.BucketCounts) || cap(p.ExplicitBounds) != len(p.ExplicitBounds) || cap(h.DataPoints) != len(h.DataPoints) {
		t.Errorf("repeated fields have spare capacity: %d/%d %d/%d %d/%d",
			len(p.BucketCounts), cap(p.BucketCounts), len(p.ExplicitBounds), cap(p.ExplicitBounds), len(h.DataPoints), cap(h.DataPoints))
	}
}

// TestUnmarshalMetricsReplacesContent decodes into a request that has
// content already: none of it may remain.
func TestUnmarshalMetricsReplacesContent(t *testing.T) {
	req := benchMetrics(10)
	in := wMetricReq(wStr(1, "only"))
	if err := UnmarshalMetrics(in, req); err != nil {
		t.Fatal(err)
	}
	want := &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: []*metricspb.ResourceMetrics{{
		ScopeMetrics: []*metricspb.ScopeMetrics{{Metrics: []*metricspb.Metric{{Name: "only"}}}},
	}}}
	if !proto.Equal(req, want) {
		t.Fatalf("got %v, want %v", req, want)
	}
}

// TestUnmarshalMetricsTruncated cuts a request with every metric type at
// every byte: both decoders must reject the same prefixes.
func TestUnmarshalMetricsTruncated(t *testing.T) {
	in := marshalMetrics(t, benchMetrics(10))
	accepted := 0
	for i := range in {
		if _, err := agreeMetrics(t, in[:i]); err == nil {
			accepted++
		}
	}
	if accepted == 0 {
		t.Fatal("no prefix accepted")
	}
}

// TestUnmarshalMetricsDepth nests arrays in attributes at every place a
// metrics request has attributes, around proto.Unmarshal's recursion limit,
// after a first resource with every message type: the decoder must count
// every level as proto does, and the sibling messages none.
func TestUnmarshalMetricsDepth(t *testing.T) {
	// nested is an AnyValue with k arrays nested in it: 2k+1 levels. It is
	// written outside in, from the sizes of the levels, in linear time.
	nested := func(k int) []byte {
		inner := wVarint(3, 1)       // AnyValue.int_value
		anyLen := make([]int, k+1)   // size of the AnyValue with i arrays
		arrayLen := make([]int, k+1) // size of the ArrayValue of that AnyValue
		anyLen[0] = len(inner)
		for i := 1; i <= k; i++ {
			arrayLen[i] = 1 + protowire.SizeBytes(anyLen[i-1])
			anyLen[i] = 1 + protowire.SizeBytes(arrayLen[i])
		}
		b := make([]byte, 0, anyLen[k])
		for i := k; i >= 1; i-- {
			b = protowire.AppendVarint(append(b, wTag(5, protowire.BytesType)...), uint64(arrayLen[i])) // AnyValue.array_value
			b = protowire.AppendVarint(append(b, wTag(1, protowire.BytesType)...), uint64(anyLen[i-1])) // ArrayValue.values
		}
		return append(b, inner...)
	}
	kv := func(num protowire.Number, k int) []byte { return wMsg(num, wStr(1, "k"), wMsg(2, nested(k))) }
	metric := func(fields ...[]byte) []byte { return wMsg(1, wMsg(2, wMsg(2, fields...))) }
	paths := map[string]struct {
		levels int // message levels above the attribute's KeyValue
		req    func(k int) []byte
	}{
		"resource":     {2, func(k int) []byte { return wMsg(1, wMsg(1, kv(1, k))) }},
		"scope":        {3, func(k int) []byte { return wMsg(1, wMsg(2, wMsg(1, kv(3, k)))) }},
		"metadata":     {4, func(k int) []byte { return metric(kv(12, k)) }},
		"gauge":        {6, func(k int) []byte { return metric(wMsg(5, wMsg(1, kv(7, k)))) }},
		"sum":          {6, func(k int) []byte { return metric(wMsg(7, wMsg(1, kv(7, k)))) }},
		"histogram":    {6, func(k int) []byte { return metric(wMsg(9, wMsg(1, kv(9, k)))) }},
		"exphistogram": {6, func(k int) []byte { return metric(wMsg(10, wMsg(1, kv(1, k)))) }},
		"summary":      {6, func(k int) []byte { return metric(wMsg(11, wMsg(1, kv(7, k)))) }},
		"exemplar":     {7, func(k int) []byte { return metric(wMsg(9, wMsg(1, wMsg(8, kv(7, k))))) }},
		"number ex":    {7, func(k int) []byte { return metric(wMsg(7, wMsg(1, wMsg(5, kv(7, k))))) }},
		"exp ex":       {7, func(k int) []byte { return metric(wMsg(10, wMsg(1, wMsg(11, kv(7, k))))) }},
	}
	siblings := marshalMetrics(t, benchMetrics(10))
	for name, p := range paths {
		t.Run(name, func(t *testing.T) {
			// levels + KeyValue + 2k+1 AnyValue and ArrayValue levels.
			edge := (protowire.DefaultRecursionLimit - p.levels - 2) / 2
			var ok, rejected int
			for k := edge - 2; k <= edge+2; k++ {
				in := append(append([]byte(nil), siblings...), p.req(k)...)
				if _, err := agreeMetrics(t, in); err != nil {
					rejected++
				} else {
					ok++
				}
			}
			if ok == 0 || rejected == 0 {
				t.Fatalf("depths around %d arrays: %d accepted, %d rejected: the limit is not between them", edge, ok, rejected)
			}
		})
	}
}

func FuzzUnmarshalMetrics(f *testing.F) {
	for _, in := range metricsEdgeInputs() {
		f.Add(in)
	}
	f.Add(marshalMetrics(f, benchMetrics(10)))
	f.Add(marshalMetrics(f, benchMetrics(3)))
	f.Fuzz(func(t *testing.T, b []byte) {
		agreeMetrics(t, b)
	})
}

// TestUnmarshalMetricsErrorSaysWhat checks that the error names the
// request and the cause.
func TestUnmarshalMetricsErrorSaysWhat(t *testing.T) {
	var req colmetricspb.ExportMetricsServiceRequest
	err := UnmarshalMetrics(wMetricReq(wStr(1, "\xff")), &req)
	if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "metrics") || !strings.Contains(err.Error(), "UTF-8") {
		t.Fatalf("error %v: want one wrapping ErrMalformed that names metrics and UTF-8", err)
	}
}
