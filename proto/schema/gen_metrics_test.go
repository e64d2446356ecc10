package schema

import metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"

// genMetricNames is small so that equal metric descriptions recur and the
// merge of equal descriptions within a scope is exercised.
var genMetricNames = []string{"http.server.duration", "requests", "", "日本語.metric"}

// optDouble returns nil or a random value, so nil and 0 both occur.
func (g *gen) optDouble() *float64 {
	if g.r.IntN(3) == 0 {
		return nil
	}
	v := g.double()
	if g.r.IntN(6) == 0 {
		v = 0
	}
	return &v
}

func (g *gen) u64s() []uint64 {
	n := g.r.IntN(6)
	if n == 0 {
		if g.r.IntN(2) == 0 {
			return nil
		}
		return []uint64{}
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = g.r.Uint64N(1000)
	}
	if g.r.IntN(10) == 0 {
		out[0] = ^uint64(0)
	}
	return out
}

func (g *gen) doubles() []float64 {
	out := make([]float64, g.r.IntN(6))
	for i := range out {
		out[i] = g.double()
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (g *gen) exemplars() []*metricspb.Exemplar {
	var out []*metricspb.Exemplar
	for range g.r.IntN(3) {
		e := &metricspb.Exemplar{
			FilteredAttributes: g.attrs(1),
			TimeUnixNano:       g.time(),
			SpanId:             g.id(8),
			TraceId:            g.id(16),
		}
		switch g.r.IntN(3) {
		case 0:
			e.Value = &metricspb.Exemplar_AsDouble{AsDouble: g.double()}
		case 1:
			e.Value = &metricspb.Exemplar_AsInt{AsInt: int64(g.r.Uint64())}
		}
		out = append(out, e)
	}
	return out
}

func (g *gen) numberPoints() []*metricspb.NumberDataPoint {
	var out []*metricspb.NumberDataPoint
	for range g.r.IntN(4) {
		p := &metricspb.NumberDataPoint{
			Attributes:        g.attrs(0),
			StartTimeUnixNano: g.time(),
			TimeUnixNano:      g.time(),
			Exemplars:         g.exemplars(),
			Flags:             g.r.Uint32N(2),
		}
		switch g.r.IntN(5) {
		case 0, 1:
			p.Value = &metricspb.NumberDataPoint_AsDouble{AsDouble: g.double()}
		case 2, 3:
			p.Value = &metricspb.NumberDataPoint_AsInt{AsInt: int64(g.r.Uint64())}
		}
		out = append(out, p)
	}
	return out
}

func (g *gen) histogramPoints() []*metricspb.HistogramDataPoint {
	var out []*metricspb.HistogramDataPoint
	for range g.r.IntN(4) {
		out = append(out, &metricspb.HistogramDataPoint{
			Attributes:        g.attrs(0),
			StartTimeUnixNano: g.time(),
			TimeUnixNano:      g.time(),
			Count:             g.r.Uint64(),
			Sum:               g.optDouble(),
			BucketCounts:      g.u64s(),
			ExplicitBounds:    g.doubles(),
			Exemplars:         g.exemplars(),
			Flags:             g.r.Uint32(),
			Min:               g.optDouble(),
			Max:               g.optDouble(),
		})
	}
	return out
}

func (g *gen) buckets() *metricspb.ExponentialHistogramDataPoint_Buckets {
	if g.r.IntN(3) == 0 {
		return nil
	}
	return &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: g.r.Int32N(200) - 100, BucketCounts: g.u64s()}
}

func (g *gen) expHistogramPoints() []*metricspb.ExponentialHistogramDataPoint {
	var out []*metricspb.ExponentialHistogramDataPoint
	for range g.r.IntN(4) {
		out = append(out, &metricspb.ExponentialHistogramDataPoint{
			Attributes:        g.attrs(0),
			StartTimeUnixNano: g.time(),
			TimeUnixNano:      g.time(),
			Count:             g.r.Uint64(),
			Sum:               g.optDouble(),
			Scale:             g.r.Int32N(41) - 20,
			ZeroCount:         g.r.Uint64N(10),
			Positive:          g.buckets(),
			Negative:          g.buckets(),
			Flags:             g.r.Uint32N(2),
			Exemplars:         g.exemplars(),
			Min:               g.optDouble(),
			Max:               g.optDouble(),
			ZeroThreshold:     g.double(),
		})
	}
	return out
}

func (g *gen) summaryPoints() []*metricspb.SummaryDataPoint {
	var out []*metricspb.SummaryDataPoint
	for range g.r.IntN(4) {
		p := &metricspb.SummaryDataPoint{
			Attributes:        g.attrs(0),
			StartTimeUnixNano: g.time(),
			TimeUnixNano:      g.time(),
			Count:             g.r.Uint64(),
			Sum:               g.double(),
			Flags:             g.r.Uint32N(2),
		}
		for range g.r.IntN(4) {
			p.QuantileValues = append(p.QuantileValues, &metricspb.SummaryDataPoint_ValueAtQuantile{Quantile: g.r.Float64(), Value: g.double()})
		}
		out = append(out, p)
	}
	return out
}

func (g *gen) temporality() metricspb.AggregationTemporality {
	return metricspb.AggregationTemporality(g.r.IntN(3))
}

func (g *gen) metric() *metricspb.Metric {
	m := &metricspb.Metric{}
	if g.r.IntN(2) == 0 {
		m.Name = genMetricNames[g.r.IntN(len(genMetricNames))]
	} else {
		m.Name = g.str()
	}
	if g.r.IntN(2) == 0 {
		m.Description, m.Unit = g.str(), g.str()
	}
	if g.r.IntN(4) == 0 {
		m.Metadata = g.attrs(1)
	}
	switch g.r.IntN(12) {
	case 0, 1:
		m.Data = &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: g.numberPoints()}}
	case 2, 3:
		m.Data = &metricspb.Metric_Sum{Sum: &metricspb.Sum{DataPoints: g.numberPoints(), AggregationTemporality: g.temporality(), IsMonotonic: g.r.IntN(2) == 0}}
	case 4, 5:
		m.Data = &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{DataPoints: g.histogramPoints(), AggregationTemporality: g.temporality()}}
	case 6, 7:
		m.Data = &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: &metricspb.ExponentialHistogram{DataPoints: g.expHistogramPoints(), AggregationTemporality: g.temporality()}}
	case 8, 9:
		m.Data = &metricspb.Metric_Summary{Summary: &metricspb.Summary{DataPoints: g.summaryPoints()}}
	case 10:
		// A data oneof case without a message: no points.
		m.Data = &metricspb.Metric_Gauge{}
	}
	return m
}

// metricLike returns a metric with the description of m and new points, so
// that the merge of equal descriptions sees every metric type.
func (g *gen) metricLike(m *metricspb.Metric) *metricspb.Metric {
	s := metricShell(m)
	switch d := s.Data.(type) {
	case *metricspb.Metric_Gauge:
		d.Gauge.DataPoints = g.numberPoints()
	case *metricspb.Metric_Sum:
		d.Sum.DataPoints = g.numberPoints()
	case *metricspb.Metric_Histogram:
		d.Histogram.DataPoints = g.histogramPoints()
	case *metricspb.Metric_ExponentialHistogram:
		d.ExponentialHistogram.DataPoints = g.expHistogramPoints()
	case *metricspb.Metric_Summary:
		d.Summary.DataPoints = g.summaryPoints()
	default:
		return g.metric()
	}
	return s
}

func (g *gen) metrics() []*metricspb.ResourceMetrics {
	var rms []*metricspb.ResourceMetrics
	for range g.r.IntN(4) {
		res, url := g.resource()
		rm := &metricspb.ResourceMetrics{Resource: res, SchemaUrl: url}
		for range g.r.IntN(4) {
			scope, surl := g.scope()
			sm := &metricspb.ScopeMetrics{Scope: scope, SchemaUrl: surl}
			for range g.r.IntN(6) {
				if len(sm.Metrics) > 0 && g.r.IntN(4) == 0 {
					sm.Metrics = append(sm.Metrics, g.metricLike(sm.Metrics[g.r.IntN(len(sm.Metrics))]))
					continue
				}
				sm.Metrics = append(sm.Metrics, g.metric())
			}
			rm.ScopeMetrics = append(rm.ScopeMetrics, sm)
		}
		rms = append(rms, rm)
	}
	return rms
}
