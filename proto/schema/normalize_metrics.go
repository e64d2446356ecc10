package schema

import (
	"slices"

	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"
)

// metricShell returns m's description without its data points: name,
// description, unit, metadata, type, temporality and monotonicity.
func metricShell(m *metricspb.Metric) *metricspb.Metric {
	s := &metricspb.Metric{Name: m.Name, Description: m.Description, Unit: m.Unit, Metadata: m.Metadata}
	switch data := m.Data.(type) {
	case *metricspb.Metric_Gauge:
		s.Data = &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{}}
	case *metricspb.Metric_Sum:
		s.Data = &metricspb.Metric_Sum{Sum: &metricspb.Sum{
			AggregationTemporality: data.Sum.GetAggregationTemporality(),
			IsMonotonic:            data.Sum.GetIsMonotonic(),
		}}
	case *metricspb.Metric_Histogram:
		s.Data = &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
			AggregationTemporality: data.Histogram.GetAggregationTemporality(),
		}}
	case *metricspb.Metric_ExponentialHistogram:
		s.Data = &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: &metricspb.ExponentialHistogram{
			AggregationTemporality: data.ExponentialHistogram.GetAggregationTemporality(),
		}}
	case *metricspb.Metric_Summary:
		s.Data = &metricspb.Metric_Summary{Summary: &metricspb.Summary{}}
	}
	return s
}

// metricKey identifies a metric description for merging; m's metadata must
// already be normalized.
func metricKey(m *metricspb.Metric) string {
	b, _ := deterministic.Marshal(metricShell(m))
	return string(b)
}

// hasPoints reports whether m holds a data point; only such metrics produce
// rows.
func hasPoints(m *metricspb.Metric) bool { return numPoints(m) > 0 }

// numPoints returns how many data points m holds.
func numPoints(m *metricspb.Metric) int {
	switch data := m.GetData().(type) {
	case *metricspb.Metric_Gauge:
		return len(data.Gauge.GetDataPoints())
	case *metricspb.Metric_Sum:
		return len(data.Sum.GetDataPoints())
	case *metricspb.Metric_Histogram:
		return len(data.Histogram.GetDataPoints())
	case *metricspb.Metric_ExponentialHistogram:
		return len(data.ExponentialHistogram.GetDataPoints())
	case *metricspb.Metric_Summary:
		return len(data.Summary.GetDataPoints())
	}
	return 0
}

// normalizeExemplars regroups the attributes of exs; an id of zeros is an
// absent one (pdata keeps both as zeros, the schema stores null).
func normalizeExemplars(exs []*metricspb.Exemplar) {
	for _, e := range exs {
		e.FilteredAttributes = normalizePdataAttrs(e.FilteredAttributes)
		e.SpanId = zeroIsAbsent(e.SpanId)
		e.TraceId = zeroIsAbsent(e.TraceId)
	}
}

// emptyBuckets returns bk, or empty buckets for absent ones: pdata cannot
// tell them apart.
func emptyBuckets(bk *metricspb.ExponentialHistogramDataPoint_Buckets) *metricspb.ExponentialHistogramDataPoint_Buckets {
	if bk == nil {
		return &metricspb.ExponentialHistogramDataPoint_Buckets{}
	}
	return bk
}

// cloneMetric deep-copies m through the wire format: proto.Clone (merge)
// turns -0 into 0 in fields without presence (summary sum, zero_threshold,
// quantiles), which the Arrow conversion keeps.
func cloneMetric(m *metricspb.Metric) *metricspb.Metric {
	b, err := proto.Marshal(m)
	out := &metricspb.Metric{}
	if err == nil {
		err = proto.Unmarshal(b, out)
	}
	if err != nil {
		// Only invalid UTF-8 in strings fails; fall back to a merge copy.
		return proto.Clone(m).(*metricspb.Metric)
	}
	return out
}

// normalizeMetric returns a deep copy of m with every attribute set
// normalized.
func normalizeMetric(m *metricspb.Metric) *metricspb.Metric {
	m = cloneMetric(m)
	m.Metadata = normalizePdataAttrs(m.Metadata)
	switch data := m.Data.(type) {
	case *metricspb.Metric_Gauge:
		for _, p := range data.Gauge.DataPoints {
			p.Attributes = normalizePdataAttrs(p.Attributes)
			normalizeExemplars(p.Exemplars)
		}
	case *metricspb.Metric_Sum:
		for _, p := range data.Sum.DataPoints {
			p.Attributes = normalizePdataAttrs(p.Attributes)
			normalizeExemplars(p.Exemplars)
		}
	case *metricspb.Metric_Histogram:
		for _, p := range data.Histogram.DataPoints {
			p.Attributes = normalizePdataAttrs(p.Attributes)
			normalizeExemplars(p.Exemplars)
		}
	case *metricspb.Metric_ExponentialHistogram:
		for _, p := range data.ExponentialHistogram.DataPoints {
			p.Attributes = normalizePdataAttrs(p.Attributes)
			normalizeExemplars(p.Exemplars)
			p.Positive, p.Negative = emptyBuckets(p.Positive), emptyBuckets(p.Negative)
		}
	case *metricspb.Metric_Summary:
		for _, p := range data.Summary.DataPoints {
			p.Attributes = normalizePdataAttrs(p.Attributes)
		}
	}
	return m
}

// mergePoints appends the data points of src to dst; both have the same
// description (metricKey).
func mergePoints(dst, src *metricspb.Metric) {
	switch data := dst.Data.(type) {
	case *metricspb.Metric_Gauge:
		data.Gauge.DataPoints = append(data.Gauge.DataPoints, src.GetGauge().GetDataPoints()...)
	case *metricspb.Metric_Sum:
		data.Sum.DataPoints = append(data.Sum.DataPoints, src.GetSum().GetDataPoints()...)
	case *metricspb.Metric_Histogram:
		data.Histogram.DataPoints = append(data.Histogram.DataPoints, src.GetHistogram().GetDataPoints()...)
	case *metricspb.Metric_ExponentialHistogram:
		data.ExponentialHistogram.DataPoints = append(data.ExponentialHistogram.DataPoints, src.GetExponentialHistogram().GetDataPoints()...)
	case *metricspb.Metric_Summary:
		data.Summary.DataPoints = append(data.Summary.DataPoints, src.GetSummary().GetDataPoints()...)
	}
}

// NormalizeMetrics returns a normalized deep copy of rms: what
// MetricsFromArrow(MetricsToArrow(rms)) returns (see the normalization
// documented in normalize.go). Metrics without data points are dropped,
// equal metric descriptions within a scope are merged in order of first
// appearance, and every attribute set is regrouped by value kind.
func NormalizeMetrics(rms []*metricspb.ResourceMetrics) []*metricspb.ResourceMetrics {
	var out []*metricspb.ResourceMetrics
	idx := newMergeIndex()
	var metricIdx [][]map[string]int // [resource][scope][metricKey] -> metric index
	for _, rm := range rms {
		res := normalizeResource(rm.Resource)
		fillValues(res.Attributes)
		for _, sm := range rm.ScopeMetrics {
			if !slices.ContainsFunc(sm.Metrics, hasPoints) {
				continue
			}
			scope := normalizeScope(sm.Scope)
			fillValues(scope.Attributes)
			ri, si, newRes, newScope := idx.place(res, rm.SchemaUrl, scope, sm.SchemaUrl)
			if newRes {
				out = append(out, &metricspb.ResourceMetrics{Resource: res, SchemaUrl: rm.SchemaUrl})
				metricIdx = append(metricIdx, nil)
			}
			if newScope {
				out[ri].ScopeMetrics = append(out[ri].ScopeMetrics, &metricspb.ScopeMetrics{Scope: scope, SchemaUrl: sm.SchemaUrl})
				metricIdx[ri] = append(metricIdx[ri], map[string]int{})
			}
			dst := out[ri].ScopeMetrics[si]
			for _, m := range sm.Metrics {
				if !hasPoints(m) {
					continue
				}
				m = normalizeMetric(m)
				key := metricKey(m)
				if mi, ok := metricIdx[ri][si][key]; ok {
					mergePoints(dst.Metrics[mi], m)
					continue
				}
				metricIdx[ri][si][key] = len(dst.Metrics)
				dst.Metrics = append(dst.Metrics, m)
			}
		}
	}
	return out
}
