package otlpwire

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
)

// UnmarshalMetrics replaces req's content with b decoded; see UnmarshalTraces.
func UnmarshalMetrics(b []byte, req *colmetricspb.ExportMetricsServiceRequest) error {
	req.Reset()
	m := &metricsDecoder{}
	m.init(b)
	if err := m.request(b, req); err != nil {
		return fmt.Errorf("unmarshal OTLP metrics request: %w", err)
	}
	return nil
}

// errPackedFixed64 reports a packed run of fixed64 values whose length is
// not a multiple of 8, which proto.Unmarshal rejects.
var errPackedFixed64 = fmt.Errorf("%w: packed fixed64 field with a length not a multiple of 8", ErrMalformed)

// metricsDecoder is the state of one UnmarshalMetrics call: the common
// decoder and slabs for the metrics messages.
type metricsDecoder struct {
	decoder

	resourceMetricsSlab slab[metricspb.ResourceMetrics]
	resourceMetricsPtrs slab[*metricspb.ResourceMetrics]
	scopeMetricsSlab    slab[metricspb.ScopeMetrics]
	scopeMetricsPtrs    slab[*metricspb.ScopeMetrics]
	metricSlab          slab[metricspb.Metric]
	metricPtrs          slab[*metricspb.Metric]

	gaugeWraps        slab[metricspb.Metric_Gauge]
	gauges            slab[metricspb.Gauge]
	sumWraps          slab[metricspb.Metric_Sum]
	sums              slab[metricspb.Sum]
	histogramWraps    slab[metricspb.Metric_Histogram]
	histograms        slab[metricspb.Histogram]
	expHistogramWraps slab[metricspb.Metric_ExponentialHistogram]
	expHistograms     slab[metricspb.ExponentialHistogram]
	summaryWraps      slab[metricspb.Metric_Summary]
	summaries         slab[metricspb.Summary]

	numberPoints       slab[metricspb.NumberDataPoint]
	numberPtrs         slab[*metricspb.NumberDataPoint]
	numberDoubles      slab[metricspb.NumberDataPoint_AsDouble]
	numberInts         slab[metricspb.NumberDataPoint_AsInt]
	histogramPoints    slab[metricspb.HistogramDataPoint]
	histogramPtrs      slab[*metricspb.HistogramDataPoint]
	expHistogramPoints slab[metricspb.ExponentialHistogramDataPoint]
	expHistogramPtrs   slab[*metricspb.ExponentialHistogramDataPoint]
	bucketsSlab        slab[metricspb.ExponentialHistogramDataPoint_Buckets]
	summaryPoints      slab[metricspb.SummaryDataPoint]
	summaryPtrs        slab[*metricspb.SummaryDataPoint]
	quantiles          slab[metricspb.SummaryDataPoint_ValueAtQuantile]
	quantilePtrs       slab[*metricspb.SummaryDataPoint_ValueAtQuantile]
	exemplars          slab[metricspb.Exemplar]
	exemplarPtrs       slab[*metricspb.Exemplar]
	exemplarDoubles    slab[metricspb.Exemplar_AsDouble]
	exemplarInts       slab[metricspb.Exemplar_AsInt]

	float64s slab[float64] // optional sum/min/max and explicit bounds
	uint64s  slab[uint64]  // bucket counts
}

func (m *metricsDecoder) request(b []byte, req *colmetricspb.ExportMetricsServiceRequest) error {
	if err := m.enter(); err != nil {
		return err
	}
	var c [16]int32
	countFields(b, &c)
	req.ResourceMetrics = reserve(&m.resourceMetricsPtrs, req.ResourceMetrics, int(c[1]))
	for len(b) > 0 {
		num, typ, _, p, rest, err := field(b)
		if err != nil {
			return err
		}
		b = rest
		if num == 1 && typ == protowire.BytesType {
			rm, err := m.resourceMetrics(p)
			if err != nil {
				return err
			}
			req.ResourceMetrics = append(req.ResourceMetrics, rm)
		}
	}
	m.leave()
	return nil
}

func (m *metricsDecoder) resourceMetrics(b []byte) (*metricspb.ResourceMetrics, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	rm := m.resourceMetricsSlab.new()
	var c [16]int32
	countFields(b, &c)
	rm.ScopeMetrics = reserve(&m.scopeMetricsPtrs, rm.ScopeMetrics, int(c[2]))
	for len(b) > 0 {
		num, typ, _, p, rest, err := field(b)
		if err != nil {
			return nil, err
		}
		b = rest
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case 1:
			if err := m.resource(p, &rm.Resource); err != nil {
				return nil, err
			}
		case 2:
			sm, err := m.scopeMetrics(p)
			if err != nil {
				return nil, err
			}
			rm.ScopeMetrics = append(rm.ScopeMetrics, sm)
		case 3:
			if rm.SchemaUrl, err = m.str(p); err != nil {
				return nil, err
			}
		}
	}
	m.leave()
	return rm, nil
}

func (m *metricsDecoder) scopeMetrics(b []byte) (*metricspb.ScopeMetrics, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	sm := m.scopeMetricsSlab.new()
	var c [16]int32
	countFields(b, &c)
	sm.Metrics = reserve(&m.metricPtrs, sm.Metrics, int(c[2]))
	for len(b) > 0 {
		num, typ, _, p, rest, err := field(b)
		if err != nil {
			return nil, err
		}
		b = rest
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case 1:
			if err := m.scope(p, &sm.Scope); err != nil {
				return nil, err
			}
		case 2:
			mt, err := m.metric(p)
			if err != nil {
				return nil, err
			}
			sm.Metrics = append(sm.Metrics, mt)
		case 3:
			if sm.SchemaUrl, err = m.str(p); err != nil {
				return nil, err
			}
		}
	}
	m.leave()
	return sm, nil
}

// metric decodes a Metric. Its data oneof is last-wins, except that a
// member following itself merges into the previous one, as in
// proto.Unmarshal.
func (m *metricsDecoder) metric(b []byte) (*metricspb.Metric, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	mt := m.metricSlab.new()
	var c [16]int32
	countFields(b, &c)
	m.attrs(&mt.Metadata, c[12])
	for len(b) > 0 {
		num, typ, _, p, rest, err := field(b)
		if err != nil {
			return nil, err
		}
		b = rest
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case 1:
			if mt.Name, err = m.str(p); err != nil {
				return nil, err
			}
		case 2:
			if mt.Description, err = m.str(p); err != nil {
				return nil, err
			}
		case 3:
			if mt.Unit, err = m.str(p); err != nil {
				return nil, err
			}
		case 12:
			if err := m.appendKeyValue(&mt.Metadata, p); err != nil {
				return nil, err
			}
		case 5:
			w, ok := mt.Data.(*metricspb.Metric_Gauge)
			if !ok {
				w = m.gaugeWraps.new()
			}
			if err := m.gauge(p, &w.Gauge); err != nil {
				return nil, err
			}
			mt.Data = w
		case 7:
			w, ok := mt.Data.(*metricspb.Metric_Sum)
			if !ok {
				w = m.sumWraps.new()
			}
			if err := m.sum(p, &w.Sum); err != nil {
				return nil, err
			}
			mt.Data = w
		case 9:
			w, ok := mt.Data.(*metricspb.Metric_Histogram)
			if !ok {
				w = m.histogramWraps.new()
			}
			if err := m.histogram(p, &w.Histogram); err != nil {
				return nil, err
			}
			mt.Data = w
		case 10:
			w, ok := mt.Data.(*metricspb.Metric_ExponentialHistogram)
			if !ok {
				w = m.expHistogramWraps.new()
			}
			if err := m.expHistogram(p, &w.ExponentialHistogram); err != nil {
				return nil, err
			}
			mt.Data = w
		case 11:
			w, ok := mt.Data.(*metricspb.Metric_Summary)
			if !ok {
				w = m.summaryWraps.new()
			}
			if err := m.summary(p, &w.Summary); err != nil {
				return nil, err
			}
			mt.Data = w
		}
	}
	m.leave()
	return mt, nil
}

func (m *metricsDecoder) gauge(b []byte, dst **metricspb.Gauge) error {
	if err := m.enter(); err != nil {
		return err
	}
	g := *dst
	if g == nil {
		g = m.gauges.new()
		*dst = g
	}
	var c [16]int32
	countFields(b, &c)
	g.DataPoints = reserve(&m.numberPtrs, g.DataPoints, int(c[1]))
	for len(b) > 0 {
		num, typ, _, p, rest, err := field(b)
		if err != nil {
			return err
		}
		b = rest
		if num == 1 && typ == protowire.BytesType {
			dp, err := m.numberPoint(p)
			if err != nil {
				return err
			}
			g.DataPoints = append(g.DataPoints, dp)
		}
	}
	m.leave()
	return nil
}

func (m *metricsDecoder) sum(b []byte, dst **metricspb.Sum) error {
	if err := m.enter(); err != nil {
		return err
	}
	s := *dst
	if s == nil {
		s = m.sums.new()
		*dst = s
	}
	var c [16]int32
	countFields(b, &c)
	s.DataPoints = reserve(&m.numberPtrs, s.DataPoints, int(c[1]))
	for len(b) > 0 {
		num, typ, v, p, rest, err := field(b)
		if err != nil {
			return err
		}
		b = rest
		switch num {
		case 1:
			if typ == protowire.BytesType {
				dp, err := m.numberPoint(p)
				if err != nil {
					return err
				}
				s.DataPoints = append(s.DataPoints, dp)
			}
		case 2:
			if typ == protowire.VarintType {
				s.AggregationTemporality = metricspb.AggregationTemporality(int32(v))
			}
		case 3:
			if typ == protowire.VarintType {
				s.IsMonotonic = v != 0
			}
		}
	}
	m.leave()
	return nil
}

func (m *metricsDecoder) histogram(b []byte, dst **metricspb.Histogram) error {
	if err := m.enter(); err != nil {
		return err
	}
	h := *dst
	if h == nil {
		h = m.histograms.new()
		*dst = h
	}
	var c [16]int32
	countFields(b, &c)
	h.DataPoints = reserve(&m.histogramPtrs, h.DataPoints, int(c[1]))
	for len(b) > 0 {
		num, typ, v, p, rest, err := field(b)
		if err != nil {
			return err
		}
		b = rest
		switch num {
		case 1:
			if typ == protowire.BytesType {
				dp, err := m.histogramPoint(p)
				if err != nil {
					return err
				}
				h.DataPoints = append(h.DataPoints, dp)
			}
		case 2:
			if typ == protowire.VarintType {
				h.AggregationTemporality = metricspb.AggregationTemporality(int32(v))
			}
		}
	}
	m.leave()
	return nil
}

func (m *metricsDecoder) expHistogram(b []byte, dst **metricspb.ExponentialHistogram) error {
	if err := m.enter(); err != nil {
		return err
	}
	h := *dst
	if h == nil {
		h = m.expHistograms.new()
		*dst = h
	}
	var c [16]int32
	countFields(b, &c)
	h.DataPoints = reserve(&m.expHistogramPtrs, h.DataPoints, int(c[1]))
	for len(b) > 0 {
		num, typ, v, p, rest, err := field(b)
		if err != nil {
			return err
		}
		b = rest
		switch num {
		case 1:
			if typ == protowire.BytesType {
				dp, err := m.expHistogramPoint(p)
				if err != nil {
					return err
				}
				h.DataPoints = append(h.DataPoints, dp)
			}
		case 2:
			if typ == protowire.VarintType {
				h.AggregationTemporality = metricspb.AggregationTemporality(int32(v))
			}
		}
	}
	m.leave()
	return nil
}

func (m *metricsDecoder) summary(b []byte, dst **metricspb.Summary) error {
	if err := m.enter(); err != nil {
		return err
	}
	s := *dst
	if s == nil {
		s = m.summaries.new()
		*dst = s
	}
	var c [16]int32
	countFields(b, &c)
	s.DataPoints = reserve(&m.summaryPtrs, s.DataPoints, int(c[1]))
	for len(b) > 0 {
		num, typ, _, p, rest, err := field(b)
		if err != nil {
			return err
		}
		b = rest
		if num == 1 && typ == protowire.BytesType {
			dp, err := m.summaryPoint(p)
			if err != nil {
				return err
			}
			s.DataPoints = append(s.DataPoints, dp)
		}
	}
	m.leave()
	return nil
}

func (m *metricsDecoder) numberPoint(b []byte) (*metricspb.NumberDataPoint, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	dp := m.numberPoints.new()
	var c [16]int32
	countFields(b, &c)
	m.attrs(&dp.Attributes, c[7])
	dp.Exemplars = reserve(&m.exemplarPtrs, dp.Exemplars, int(c[5]))
	for len(b) > 0 {
		num, typ, v, p, rest, err := field(b)
		if err != nil {
			return nil, err
		}
		b = rest
		switch num {
		case 7:
			if typ == protowire.BytesType {
				if err := m.appendKeyValue(&dp.Attributes, p); err != nil {
					return nil, err
				}
			}
		case 2:
			if typ == protowire.Fixed64Type {
				dp.StartTimeUnixNano = v
			}
		case 3:
			if typ == protowire.Fixed64Type {
				dp.TimeUnixNano = v
			}
		case 4:
			if typ == protowire.Fixed64Type {
				w, ok := dp.Value.(*metricspb.NumberDataPoint_AsDouble)
				if !ok {
					w = m.numberDoubles.new()
					dp.Value = w
				}
				w.AsDouble = math.Float64frombits(v)
			}
		case 6:
			if typ == protowire.Fixed64Type {
				w, ok := dp.Value.(*metricspb.NumberDataPoint_AsInt)
				if !ok {
					w = m.numberInts.new()
					dp.Value = w
				}
				w.AsInt = int64(v)
			}
		case 5:
			if typ == protowire.BytesType {
				e, err := m.exemplar(p)
				if err != nil {
					return nil, err
				}
				dp.Exemplars = append(dp.Exemplars, e)
			}
		case 8:
			if typ == protowire.VarintType {
				dp.Flags = uint32(v)
			}
		}
	}
	m.leave()
	return dp, nil
}

func (m *metricsDecoder) exemplar(b []byte) (*metricspb.Exemplar, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	e := m.exemplars.new()
	var c [16]int32
	countFields(b, &c)
	m.attrs(&e.FilteredAttributes, c[7])
	for len(b) > 0 {
		num, typ, v, p, rest, err := field(b)
		if err != nil {
			return nil, err
		}
		b = rest
		switch num {
		case 7:
			if typ == protowire.BytesType {
				if err := m.appendKeyValue(&e.FilteredAttributes, p); err != nil {
					return nil, err
				}
			}
		case 2:
			if typ == protowire.Fixed64Type {
				e.TimeUnixNano = v
			}
		case 3:
			if typ == protowire.Fixed64Type {
				w, ok := e.Value.(*metricspb.Exemplar_AsDouble)
				if !ok {
					w = m.exemplarDoubles.new()
					e.Value = w
				}
				w.AsDouble = math.Float64frombits(v)
			}
		case 6:
			if typ == protowire.Fixed64Type {
				w, ok := e.Value.(*metricspb.Exemplar_AsInt)
				if !ok {
					w = m.exemplarInts.new()
					e.Value = w
				}
				w.AsInt = int64(v)
			}
		case 4:
			if typ == protowire.BytesType {
				e.SpanId = bytesNoZero(p)
			}
		case 5:
			if typ == protowire.BytesType {
				e.TraceId = bytesNoZero(p)
			}
		}
	}
	m.leave()
	return e, nil
}

func (m *metricsDecoder) histogramPoint(b []byte) (*metricspb.HistogramDataPoint, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	dp := m.histogramPoints.new()
	var c [16]int32
	countFields(b, &c)
	m.attrs(&dp.Attributes, c[9])
	dp.Exemplars = reserve(&m.exemplarPtrs, dp.Exemplars, int(c[8]))
	for len(b) > 0 {
		num, typ, v, p, rest, err := field(b)
		if err != nil {
			return nil, err
		}
		b = rest
		switch num {
		case 9:
			if typ == protowire.BytesType {
				if err := m.appendKeyValue(&dp.Attributes, p); err != nil {
					return nil, err
				}
			}
		case 2:
			if typ == protowire.Fixed64Type {
				dp.StartTimeUnixNano = v
			}
		case 3:
			if typ == protowire.Fixed64Type {
				dp.TimeUnixNano = v
			}
		case 4:
			if typ == protowire.Fixed64Type {
				dp.Count = v
			}
		case 5:
			if typ == protowire.Fixed64Type {
				dp.Sum = m.optDouble(dp.Sum, v)
			}
		case 6:
			if dp.BucketCounts, err = m.fixed64s(dp.BucketCounts, typ, v, p); err != nil {
				return nil, err
			}
		case 7:
			if dp.ExplicitBounds, err = m.doubles(dp.ExplicitBounds, typ, v, p); err != nil {
				return nil, err
			}
		case 8:
			if typ == protowire.BytesType {
				e, err := m.exemplar(p)
				if err != nil {
					return nil, err
				}
				dp.Exemplars = append(dp.Exemplars, e)
			}
		case 10:
			if typ == protowire.VarintType {
				dp.Flags = uint32(v)
			}
		case 11:
			if typ == protowire.Fixed64Type {
				dp.Min = m.optDouble(dp.Min, v)
			}
		case 12:
			if typ == protowire.Fixed64Type {
				dp.Max = m.optDouble(dp.Max, v)
			}
		}
	}
	m.leave()
	return dp, nil
}

func (m *metricsDecoder) expHistogramPoint(b []byte) (*metricspb.ExponentialHistogramDataPoint, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	dp := m.expHistogramPoints.new()
	var c [16]int32
	countFields(b, &c)
	m.attrs(&dp.Attributes, c[1])
	dp.Exemplars = reserve(&m.exemplarPtrs, dp.Exemplars, int(c[11]))
	for len(b) > 0 {
		num, typ, v, p, rest, err := field(b)
		if err != nil {
			return nil, err
		}
		b = rest
		switch num {
		case 1:
			if typ == protowire.BytesType {
				if err := m.appendKeyValue(&dp.Attributes, p); err != nil {
					return nil, err
				}
			}
		case 2:
			if typ == protowire.Fixed64Type {
				dp.StartTimeUnixNano = v
			}
		case 3:
			if typ == protowire.Fixed64Type {
				dp.TimeUnixNano = v
			}
		case 4:
			if typ == protowire.Fixed64Type {
				dp.Count = v
			}
		case 5:
			if typ == protowire.Fixed64Type {
				dp.Sum = m.optDouble(dp.Sum, v)
			}
		case 6:
			if typ == protowire.VarintType {
				dp.Scale = int32(protowire.DecodeZigZag(v & math.MaxUint32))
			}
		case 7:
			if typ == protowire.Fixed64Type {
				dp.ZeroCount = v
			}
		case 8:
			if typ == protowire.BytesType {
				if err := m.buckets(p, &dp.Positive); err != nil {
					return nil, err
				}
			}
		case 9:
			if typ == protowire.BytesType {
				if err := m.buckets(p, &dp.Negative); err != nil {
					return nil, err
				}
			}
		case 10:
			if typ == protowire.VarintType {
				dp.Flags = uint32(v)
			}
		case 11:
			if typ == protowire.BytesType {
				e, err := m.exemplar(p)
				if err != nil {
					return nil, err
				}
				dp.Exemplars = append(dp.Exemplars, e)
			}
		case 12:
			if typ == protowire.Fixed64Type {
				dp.Min = m.optDouble(dp.Min, v)
			}
		case 13:
			if typ == protowire.Fixed64Type {
				dp.Max = m.optDouble(dp.Max, v)
			}
		case 14:
			if typ == protowire.Fixed64Type {
				dp.ZeroThreshold = math.Float64frombits(v)
			}
		}
	}
	m.leave()
	return dp, nil
}

func (m *metricsDecoder) buckets(b []byte, dst **metricspb.ExponentialHistogramDataPoint_Buckets) error {
	if err := m.enter(); err != nil {
		return err
	}
	bk := *dst
	if bk == nil {
		bk = m.bucketsSlab.new()
		*dst = bk
	}
	for len(b) > 0 {
		num, typ, v, p, rest, err := field(b)
		if err != nil {
			return err
		}
		b = rest
		switch num {
		case 1:
			if typ == protowire.VarintType {
				bk.Offset = int32(protowire.DecodeZigZag(v & math.MaxUint32))
			}
		case 2:
			if bk.BucketCounts, err = m.varints(bk.BucketCounts, typ, v, p); err != nil {
				return err
			}
		}
	}
	m.leave()
	return nil
}

func (m *metricsDecoder) summaryPoint(b []byte) (*metricspb.SummaryDataPoint, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	dp := m.summaryPoints.new()
	var c [16]int32
	countFields(b, &c)
	m.attrs(&dp.Attributes, c[7])
	dp.QuantileValues = reserve(&m.quantilePtrs, dp.QuantileValues, int(c[6]))
	for len(b) > 0 {
		num, typ, v, p, rest, err := field(b)
		if err != nil {
			return nil, err
		}
		b = rest
		switch num {
		case 7:
			if typ == protowire.BytesType {
				if err := m.appendKeyValue(&dp.Attributes, p); err != nil {
					return nil, err
				}
			}
		case 2:
			if typ == protowire.Fixed64Type {
				dp.StartTimeUnixNano = v
			}
		case 3:
			if typ == protowire.Fixed64Type {
				dp.TimeUnixNano = v
			}
		case 4:
			if typ == protowire.Fixed64Type {
				dp.Count = v
			}
		case 5:
			if typ == protowire.Fixed64Type {
				dp.Sum = math.Float64frombits(v)
			}
		case 6:
			if typ == protowire.BytesType {
				q, err := m.quantile(p)
				if err != nil {
					return nil, err
				}
				dp.QuantileValues = append(dp.QuantileValues, q)
			}
		case 8:
			if typ == protowire.VarintType {
				dp.Flags = uint32(v)
			}
		}
	}
	m.leave()
	return dp, nil
}

func (m *metricsDecoder) quantile(b []byte) (*metricspb.SummaryDataPoint_ValueAtQuantile, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	q := m.quantiles.new()
	for len(b) > 0 {
		num, typ, v, _, rest, err := field(b)
		if err != nil {
			return nil, err
		}
		b = rest
		if typ != protowire.Fixed64Type {
			continue
		}
		switch num {
		case 1:
			q.Quantile = math.Float64frombits(v)
		case 2:
			q.Value = math.Float64frombits(v)
		}
	}
	m.leave()
	return q, nil
}

// optDouble sets an optional double field to the bits v: present, even
// with the value 0, it is a non-nil pointer.
func (m *metricsDecoder) optDouble(p *float64, v uint64) *float64 {
	if p == nil {
		p = m.float64s.new()
	}
	*p = math.Float64frombits(v)
	return p
}

// fixed64s appends to dst one occurrence of a repeated fixed64 field: a
// packed run (BytesType) or one value (Fixed64Type). Other wire types leave
// dst as it is, proto.Unmarshal taking them for unknown fields.
func (m *metricsDecoder) fixed64s(dst []uint64, typ protowire.Type, v uint64, p []byte) ([]uint64, error) {
	switch typ {
	case protowire.Fixed64Type:
		return append(dst, v), nil
	case protowire.BytesType:
		if len(p)%8 != 0 {
			return nil, errPackedFixed64
		}
		dst = reserve(&m.uint64s, dst, len(p)/8)
		for ; len(p) > 0; p = p[8:] {
			dst = append(dst, binary.LittleEndian.Uint64(p))
		}
	}
	return dst, nil
}

// doubles is fixed64s for a repeated double field.
func (m *metricsDecoder) doubles(dst []float64, typ protowire.Type, v uint64, p []byte) ([]float64, error) {
	switch typ {
	case protowire.Fixed64Type:
		return append(dst, math.Float64frombits(v)), nil
	case protowire.BytesType:
		if len(p)%8 != 0 {
			return nil, errPackedFixed64
		}
		dst = reserve(&m.float64s, dst, len(p)/8)
		for ; len(p) > 0; p = p[8:] {
			dst = append(dst, math.Float64frombits(binary.LittleEndian.Uint64(p)))
		}
	}
	return dst, nil
}

// varints is fixed64s for a repeated uint64 field (VarintType).
func (m *metricsDecoder) varints(dst []uint64, typ protowire.Type, v uint64, p []byte) ([]uint64, error) {
	switch typ {
	case protowire.VarintType:
		return append(dst, v), nil
	case protowire.BytesType:
		n := 0 // a varint ends at each byte below 0x80
		for _, c := range p {
			if c < 0x80 {
				n++
			}
		}
		dst = reserve(&m.uint64s, dst, n)
		for len(p) > 0 {
			x, n := varint(p)
			if n < 0 {
				return nil, errVarint
			}
			dst = append(dst, x)
			p = p[n:]
		}
	}
	return dst, nil
}
