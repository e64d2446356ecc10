package schema

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/otlp-arrow/otlp-arrow/proto/otlpwire"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protopath"
	"google.golang.org/protobuf/reflect/protorange"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// metricsWireAgree decodes b with proto.Unmarshal (unknown fields discarded) and with
// otlpwire.UnmarshalMetrics and fails unless both reject it, or both accept it
// with requests that are proto.Equal and marshal to the same bytes (which
// also tells -0 from 0). It returns whether proto accepted b.
func metricsWireAgree(t *testing.T, what string, b []byte) bool {
	t.Helper()
	var want, got colmetricspb.ExportMetricsServiceRequest
	werr := proto.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, &want)
	gerr := otlpwire.UnmarshalMetrics(b, &got)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%s: input %x: proto.Unmarshal error %v, otlpwire.UnmarshalMetrics error %v", what, b, werr, gerr)
	}
	if werr != nil {
		return false
	}
	if !proto.Equal(&want, &got) {
		t.Fatalf("%s: input %x: decoded requests differ\nproto:    %v\notlpwire: %v", what, b, &want, &got)
	}
	det := proto.MarshalOptions{Deterministic: true}
	wb, err := det.Marshal(&want)
	if err != nil {
		t.Fatalf("%s: marshal proto's request: %v", what, err)
	}
	gb, err := det.Marshal(&got)
	if err != nil {
		t.Fatalf("%s: marshal otlpwire's request: %v", what, err)
	}
	if !bytes.Equal(wb, gb) {
		t.Fatalf("%s: input %x: decoded requests marshal differently\nproto:    %x\notlpwire: %x", what, b, wb, gb)
	}
	return true
}

// TestWireDiffMetricsRandom compares the decoders on random requests, in
// proto.Marshal's encoding and in an unusual one (unknown fields everywhere,
// unpacked and split repeated scalars, singular messages in several parts,
// oneof and optional fields set twice).
func TestWireDiffMetricsRandom(t *testing.T) {
	for seed := range uint64(propertySeeds) {
		g := newGen(seed)
		req := &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: g.metrics()}
		for _, opts := range []proto.MarshalOptions{{}, {Deterministic: true}} {
			b, err := opts.Marshal(req)
			if err != nil {
				t.Fatalf("seed %d: marshal: %v", seed, err)
			}
			if !metricsWireAgree(t, "random", b) {
				t.Fatalf("seed %d: proto.Unmarshal rejects a marshaled request", seed)
			}
		}
		odd := metricsWireOdd(t, g.r, req)
		if !metricsWireAgree(t, "odd encoding", odd) {
			t.Fatalf("seed %d: proto.Unmarshal rejects the odd encoding", seed)
		}
	}
}

// TestWireDiffMetricsTruncated cuts small requests at every byte and
// corrupts every byte of them: both decoders must reject the same inputs and
// agree on the others.
func TestWireDiffMetricsTruncated(t *testing.T) {
	found, want := 0, max(1, propertySeeds/100)
	for seed := uint64(1000); found < want && seed < 3000; seed++ {
		g := newGen(seed)
		req := &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: g.metrics()}
		if metricsWireTypes(req) < 3 {
			continue
		}
		b, err := proto.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 1500 {
			continue
		}
		found++
		inputs := [][]byte{b, metricsWireOdd(t, g.r, req)}
		for _, in := range inputs {
			accepted := 0
			for i := range in {
				if metricsWireAgree(t, "truncated", in[:i]) {
					accepted++
				}
			}
			if accepted == 0 {
				t.Fatalf("seed %d: no prefix accepted: the test sees only errors", seed)
			}
			c := bytes.Clone(in)
			for i := range c {
				orig := c[i]
				for _, x := range []byte{0x80, 0xff, ^orig, orig + 1} {
					c[i] = x
					metricsWireAgree(t, "corrupted", c)
				}
				c[i] = orig
			}
		}
	}
	if found == 0 {
		t.Fatal("no small request with several metric types among the seeds")
	}
}

// metricsWireTypes returns how many different metric data types req has.
func metricsWireTypes(req *colmetricspb.ExportMetricsServiceRequest) int {
	types := map[string]bool{}
	for _, rm := range req.ResourceMetrics {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Data != nil {
					types[metricsWireDataType(m.Data)] = true
				}
			}
		}
	}
	return len(types)
}

func metricsWireDataType(v any) string {
	switch v.(type) {
	case *metricspb.Metric_Gauge:
		return "gauge"
	case *metricspb.Metric_Sum:
		return "sum"
	case *metricspb.Metric_Histogram:
		return "histogram"
	case *metricspb.Metric_ExponentialHistogram:
		return "exphistogram"
	case *metricspb.Metric_Summary:
		return "summary"
	}
	return "other"
}

// metricsWireOdd returns an encoding of a copy of req that proto.Marshal
// never produces but proto.Unmarshal accepts. It works through the unknown
// fields of the messages, which proto.Marshal writes verbatim after the known
// ones: a field moved there is still decoded as the known field.
func metricsWireOdd(t *testing.T, r *rand.Rand, req *colmetricspb.ExportMetricsServiceRequest) []byte {
	t.Helper()
	odd := proto.Clone(req).(*colmetricspb.ExportMetricsServiceRequest)
	metricsWireUnknownFields(t, r, odd)
	for _, rm := range odd.ResourceMetrics {
		if rm.Resource != nil && r.IntN(3) == 0 {
			// A singular message in two parts: the parts merge.
			res := rm.Resource
			k := r.IntN(len(res.Attributes) + 1)
			first := proto.Clone(res).(*resourcepb.Resource)
			first.Attributes = first.Attributes[:k]
			second := &resourcepb.Resource{Attributes: res.Attributes[k:]}
			rm.Resource = nil
			metricsWireAddRaw(rm, metricsWireMessage(t, metricsWireMessage(t, nil, 1, first), 1, second))
		}
		for _, sm := range rm.ScopeMetrics {
			if sm.Scope != nil && r.IntN(3) == 0 {
				sc := sm.Scope
				first := &commonpb.InstrumentationScope{Name: sc.Name, Attributes: sc.Attributes}
				second := &commonpb.InstrumentationScope{Version: sc.Version, DroppedAttributesCount: sc.DroppedAttributesCount}
				sm.Scope = nil
				metricsWireAddRaw(sm, metricsWireMessage(t, metricsWireMessage(t, nil, 1, first), 1, second))
			}
		}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				metricsWireOddMetric(t, r, m)
			}
		}
	}
	b, err := proto.Marshal(odd)
	if err != nil {
		t.Fatalf("marshal odd encoding: %v", err)
	}
	return b
}

// metricsWireAddRaw appends b to m's unknown fields.
func metricsWireAddRaw(m proto.Message, b []byte) {
	r := m.ProtoReflect()
	r.SetUnknown(append(r.GetUnknown(), b...))
}

// metricsWireMessage appends m as the message field num.
func metricsWireMessage(t *testing.T, b []byte, num protowire.Number, m proto.Message) []byte {
	t.Helper()
	mb, err := proto.Marshal(m)
	if err != nil {
		t.Fatalf("marshal %T: %v", m, err)
	}
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), mb)
}

// metricsWireUnknownFields adds to some messages of m unknown fields of every wire
// type (groups included) and known field numbers with a wrong wire type,
// which proto.Unmarshal skips as unknown.
func metricsWireUnknownFields(t *testing.T, r *rand.Rand, m proto.Message) {
	t.Helper()
	err := protorange.Range(m.ProtoReflect(), func(v protopath.Values) error {
		msg, ok := v.Index(-1).Value.Interface().(protoreflect.Message)
		if !ok || r.IntN(3) != 0 {
			return nil
		}
		var b []byte
		for range 1 + r.IntN(3) {
			num := []protowire.Number{15, 99, 1000, protowire.MaxValidNumber}[r.IntN(4)]
			fields := msg.Descriptor().Fields()
			if fields.Len() > 0 && r.IntN(2) == 0 {
				num = fields.Get(r.IntN(fields.Len())).Number()
				// Fixed32 and groups are the wrong wire type for
				// every known field of the OTLP messages.
				if r.IntN(2) == 0 {
					b = protowire.AppendTag(b, num, protowire.Fixed32Type)
					b = protowire.AppendFixed32(b, r.Uint32())
				} else {
					b = metricsWireGroup(b, num, r)
				}
				continue
			}
			switch r.IntN(5) {
			case 0:
				b = protowire.AppendTag(b, num, protowire.VarintType)
				b = protowire.AppendVarint(b, r.Uint64()>>r.IntN(64))
			case 1:
				b = protowire.AppendTag(b, num, protowire.Fixed32Type)
				b = protowire.AppendFixed32(b, r.Uint32())
			case 2:
				b = protowire.AppendTag(b, num, protowire.Fixed64Type)
				b = protowire.AppendFixed64(b, r.Uint64())
			case 3:
				b = protowire.AppendTag(b, num, protowire.BytesType)
				b = protowire.AppendBytes(b, []byte("\xff\xfe not UTF-8, not a message"))
			case 4:
				b = metricsWireGroup(b, num, r)
			}
		}
		metricsWireAddRawReflect(msg, b)
		return nil
	})
	if err != nil {
		t.Fatalf("add unknown fields: %v", err)
	}
}

func metricsWireAddRawReflect(m protoreflect.Message, b []byte) {
	m.SetUnknown(append(m.GetUnknown(), b...))
}

// metricsWireGroup appends a group field numbered num with nested fields, a
// nested group included.
func metricsWireGroup(b []byte, num protowire.Number, r *rand.Rand) []byte {
	b = protowire.AppendTag(b, num, protowire.StartGroupType)
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, r.Uint64())
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, "in a group")
	b = protowire.AppendTag(b, 3, protowire.StartGroupType)
	b = protowire.AppendTag(b, 4, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, r.Uint64())
	b = protowire.AppendTag(b, 3, protowire.EndGroupType)
	return protowire.AppendTag(b, num, protowire.EndGroupType)
}

// metricsWireOddMetric re-encodes parts of m through its unknown fields.
func metricsWireOddMetric(t *testing.T, r *rand.Rand, m *metricspb.Metric) {
	t.Helper()
	switch d := m.Data.(type) {
	case *metricspb.Metric_Gauge:
		if d.Gauge == nil {
			return
		}
		for _, p := range d.Gauge.DataPoints {
			metricsWireOddNumber(r, p)
		}
		if r.IntN(3) == 0 {
			// A member of the data oneof twice: the two merge.
			pts := d.Gauge.DataPoints
			k := r.IntN(len(pts) + 1)
			d.Gauge.DataPoints = pts[:k]
			metricsWireAddRaw(m, metricsWireMessage(t, nil, 5, &metricspb.Gauge{DataPoints: pts[k:]}))
		}
	case *metricspb.Metric_Sum:
		if d.Sum == nil {
			return
		}
		for _, p := range d.Sum.DataPoints {
			metricsWireOddNumber(r, p)
		}
		if r.IntN(3) == 0 {
			// Another member of the oneof first: the last one wins.
			s := d.Sum
			m.Data = &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: s.DataPoints}}
			metricsWireAddRaw(m, metricsWireMessage(t, nil, 7, s))
		}
	case *metricspb.Metric_Histogram:
		if d.Histogram == nil {
			return
		}
		for _, p := range d.Histogram.DataPoints {
			if r.IntN(2) == 0 {
				counts, bounds := p.BucketCounts, p.ExplicitBounds
				p.BucketCounts, p.ExplicitBounds = nil, nil
				metricsWireOddFixed64s(r, p, 6, counts, nil)
				metricsWireOddFixed64s(r, p, 7, nil, bounds)
			}
			p.Sum = metricsWireOddOptional(r, p, 5, p.Sum)
			p.Min = metricsWireOddOptional(r, p, 11, p.Min)
			p.Max = metricsWireOddOptional(r, p, 12, p.Max)
		}
	case *metricspb.Metric_ExponentialHistogram:
		if d.ExponentialHistogram == nil {
			return
		}
		for _, p := range d.ExponentialHistogram.DataPoints {
			p.Sum = metricsWireOddOptional(r, p, 5, p.Sum)
			p.Min = metricsWireOddOptional(r, p, 12, p.Min)
			p.Max = metricsWireOddOptional(r, p, 13, p.Max)
			p.Positive = metricsWireOddBuckets(t, r, p, 8, p.Positive)
			p.Negative = metricsWireOddBuckets(t, r, p, 9, p.Negative)
			if r.IntN(4) == 0 {
				// scale is sint32: proto keeps the low 32 bits of the varint.
				b := protowire.AppendTag(nil, 6, protowire.VarintType)
				metricsWireAddRaw(p, protowire.AppendVarint(b, r.Uint64()))
			}
		}
	case *metricspb.Metric_Summary:
		if d.Summary == nil {
			return
		}
		for _, p := range d.Summary.DataPoints {
			if r.IntN(3) == 0 && len(p.QuantileValues) > 0 {
				q := p.QuantileValues[0]
				b := protowire.AppendTag(nil, 1, protowire.Fixed64Type)
				metricsWireAddRaw(q, protowire.AppendFixed64(b, math.Float64bits(-q.Quantile)))
			}
			if r.IntN(4) == 0 {
				b := protowire.AppendTag(nil, 8, protowire.VarintType)
				metricsWireAddRaw(p, protowire.AppendVarint(b, 1<<40|uint64(r.Uint32())))
			}
		}
	}
}

// metricsWireOddNumber sets the value oneof of p a second time (last wins), with
// one of the members, through the unknown fields.
func metricsWireOddNumber(r *rand.Rand, p *metricspb.NumberDataPoint) {
	switch r.IntN(4) {
	case 0:
		b := protowire.AppendTag(nil, 4, protowire.Fixed64Type)
		metricsWireAddRaw(p, protowire.AppendFixed64(b, math.Float64bits(r.NormFloat64())))
	case 1:
		b := protowire.AppendTag(nil, 6, protowire.Fixed64Type)
		metricsWireAddRaw(p, protowire.AppendFixed64(b, r.Uint64()))
	}
	for _, e := range p.Exemplars {
		if r.IntN(3) == 0 {
			b := protowire.AppendTag(nil, 3, protowire.Fixed64Type)
			b = protowire.AppendFixed64(b, math.Float64bits(r.NormFloat64()))
			b = protowire.AppendTag(b, 6, protowire.Fixed64Type)
			metricsWireAddRaw(e, protowire.AppendFixed64(b, r.Uint64()))
		}
	}
}

// metricsWireOddFixed64s adds to the unknown fields of p the repeated fixed64 field
// num with the values counts or bounds (the other nil), in runs each packed
// or unpacked.
func metricsWireOddFixed64s(r *rand.Rand, p proto.Message, num protowire.Number, counts []uint64, bounds []float64) {
	vals := counts
	for _, f := range bounds {
		vals = append(vals, math.Float64bits(f))
	}
	var b []byte
	for len(vals) > 0 {
		k := 1 + r.IntN(len(vals))
		if r.IntN(2) == 0 {
			var run []byte
			for _, v := range vals[:k] {
				run = protowire.AppendFixed64(run, v)
			}
			b = protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), run)
		} else {
			for _, v := range vals[:k] {
				b = protowire.AppendFixed64(protowire.AppendTag(b, num, protowire.Fixed64Type), v)
			}
		}
		vals = vals[k:]
	}
	if r.IntN(4) == 0 {
		b = protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), nil) // an empty packed run
	}
	metricsWireAddRaw(p, b)
}

// metricsWireOddOptional sometimes sets the optional double field num of p twice
// through the unknown fields, ending with v (or with 0 when v is nil, so that
// the field becomes present with the value 0), and returns nil.
func metricsWireOddOptional(r *rand.Rand, p proto.Message, num protowire.Number, v *float64) *float64 {
	if r.IntN(3) != 0 {
		return v
	}
	b := protowire.AppendTag(nil, num, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, math.Float64bits(r.NormFloat64()))
	last := 0.0
	if v != nil {
		last = *v
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	metricsWireAddRaw(p, protowire.AppendFixed64(b, math.Float64bits(last)))
	return nil
}

// metricsWireOddBuckets sometimes moves the Buckets field num of p to its unknown
// fields, in two messages that merge, with the counts in packed and
// unpacked runs, and returns nil then.
func metricsWireOddBuckets(t *testing.T, r *rand.Rand, p proto.Message, num protowire.Number, bk *metricspb.ExponentialHistogramDataPoint_Buckets) *metricspb.ExponentialHistogramDataPoint_Buckets {
	t.Helper()
	if bk == nil || r.IntN(2) == 0 {
		return bk
	}
	var first, second []byte
	first = protowire.AppendTag(first, 1, protowire.VarintType)
	first = protowire.AppendVarint(first, protowire.EncodeZigZag(int64(bk.Offset)))
	if r.IntN(4) == 0 {
		// offset is sint32: proto keeps the low 32 bits of the varint.
		first = protowire.AppendTag(first, 1, protowire.VarintType)
		first = protowire.AppendVarint(first, 1<<33|protowire.EncodeZigZag(int64(bk.Offset)))
	}
	for i, c := range bk.BucketCounts {
		dst := &first
		if i >= len(bk.BucketCounts)/2 {
			dst = &second
		}
		if r.IntN(2) == 0 {
			*dst = protowire.AppendVarint(protowire.AppendTag(*dst, 2, protowire.VarintType), c)
		} else {
			*dst = protowire.AppendBytes(protowire.AppendTag(*dst, 2, protowire.BytesType), protowire.AppendVarint(nil, c))
		}
	}
	b := protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), first)
	b = protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), second)
	metricsWireAddRaw(p, b)
	return nil
}
