package pipeline

import (
	"context"
	"errors"
	"fmt"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// errUnknownAggregation is wrapped when the SDK hands over an aggregation
// or temporality this exporter does not know.
var errUnknownAggregation = errors.New("unknown aggregation")

type metricConfig struct {
	temporality sdkmetric.TemporalitySelector
	aggregation sdkmetric.AggregationSelector
}

// MetricOption configures the exporter of [Pipeline.MetricExporter].
type MetricOption func(*metricConfig)

// WithDeltaTemporality makes the exporter ask for delta temporality for
// counters, histograms and observable counters (up-down counters stay
// cumulative), as sdkmetric.DeltaTemporalitySelector does.
func WithDeltaTemporality() MetricOption {
	return WithTemporalitySelector(sdkmetric.DeltaTemporalitySelector)
}

// WithTemporalitySelector sets the temporality per instrument kind
// (default: cumulative for every kind).
func WithTemporalitySelector(sel sdkmetric.TemporalitySelector) MetricOption {
	return func(c *metricConfig) { c.temporality = sel }
}

// WithAggregationSelector sets the aggregation per instrument kind
// (default: sdkmetric.DefaultAggregationSelector).
func WithAggregationSelector(sel sdkmetric.AggregationSelector) MetricOption {
	return func(c *metricConfig) { c.aggregation = sel }
}

// MetricExporter returns an OpenTelemetry SDK metric exporter that writes
// into p, for sdkmetric.NewPeriodicReader. Export converts the SDK's
// metric data to OTLP (every aggregation: sums, gauges, histograms,
// exponential histograms, summaries, with exemplars) and hands it to
// [Pipeline.ExportMetrics]; it returns once the points are durable in the
// bus, or the pipeline's error ([ErrShutdown] after p.Shutdown).
//
// Temporality is cumulative by default ([WithDeltaTemporality] to change),
// aggregation the SDK default. The exporter is safe for concurrent use; its
// Shutdown stops only the exporter (later exports return
// sdkmetric.ErrExporterShutdown), not the pipeline.
func (p *Pipeline) MetricExporter(opts ...MetricOption) sdkmetric.Exporter {
	c := metricConfig{
		temporality: sdkmetric.DefaultTemporalitySelector,
		aggregation: sdkmetric.DefaultAggregationSelector,
	}
	for _, o := range opts {
		o(&c)
	}
	return &metricExporter{p: p, cfg: c}
}

type metricExporter struct {
	p     *Pipeline
	cfg   metricConfig
	state exporterState
}

var _ sdkmetric.Exporter = (*metricExporter)(nil)

// Temporality implements sdkmetric.Exporter.
func (e *metricExporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return e.cfg.temporality(k)
}

// Aggregation implements sdkmetric.Exporter.
func (e *metricExporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return e.cfg.aggregation(k)
}

// Export implements sdkmetric.Exporter. Metrics of an unknown aggregation
// are left out and reported in the error; the rest is exported.
func (e *metricExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	if e.state.down.Load() {
		return sdkmetric.ErrExporterShutdown
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("export metrics: %w", err)
	}
	out, convErr := resourceMetricsProto(rm)
	// An export with no points (say, delta metrics with nothing new) is not sent.
	if schema.CountDataPoints(out) > 0 {
		req := &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: []*metricspb.ResourceMetrics{out}}
		if err := e.p.ExportMetrics(ctx, req); err != nil {
			return errors.Join(fmt.Errorf("export metrics: %w", err), convErr)
		}
	}
	return convErr
}

// ForceFlush implements sdkmetric.Exporter; the exporter holds nothing.
func (e *metricExporter) ForceFlush(ctx context.Context) error { return e.state.flush(ctx) }

// Shutdown implements sdkmetric.Exporter; the pipeline keeps running.
func (e *metricExporter) Shutdown(ctx context.Context) error { return e.state.shutdown(ctx) }

// resourceMetricsProto converts the SDK's metric data to OTLP. Metrics of
// an unknown aggregation are left out and reported in the error.
func resourceMetricsProto(rm *metricdata.ResourceMetrics) (*metricspb.ResourceMetrics, error) {
	out := &metricspb.ResourceMetrics{
		Resource:  resourceProto(rm.Resource),
		SchemaUrl: rm.Resource.SchemaURL(),
	}
	var errs []error
	for _, sm := range rm.ScopeMetrics {
		osm := &metricspb.ScopeMetrics{
			Scope:     scopeProto(sm.Scope),
			SchemaUrl: sm.Scope.SchemaURL,
			Metrics:   make([]*metricspb.Metric, 0, len(sm.Metrics)),
		}
		for _, m := range sm.Metrics {
			om, err := metricProto(m)
			if err != nil {
				errs = append(errs, fmt.Errorf("convert metric %q: %w", m.Name, err))
				continue
			}
			osm.Metrics = append(osm.Metrics, om)
		}
		out.ScopeMetrics = append(out.ScopeMetrics, osm)
	}
	return out, errors.Join(errs...)
}

func metricProto(m metricdata.Metrics) (*metricspb.Metric, error) {
	out := &metricspb.Metric{Name: m.Name, Description: m.Description, Unit: m.Unit}
	var err error
	switch a := m.Data.(type) {
	case metricdata.Gauge[int64]:
		out.Data = gaugeProto(a)
	case metricdata.Gauge[float64]:
		out.Data = gaugeProto(a)
	case metricdata.Sum[int64]:
		out.Data, err = sumProto(a)
	case metricdata.Sum[float64]:
		out.Data, err = sumProto(a)
	case metricdata.Histogram[int64]:
		out.Data, err = histogramProto(a)
	case metricdata.Histogram[float64]:
		out.Data, err = histogramProto(a)
	case metricdata.ExponentialHistogram[int64]:
		out.Data, err = expHistogramProto(a)
	case metricdata.ExponentialHistogram[float64]:
		out.Data, err = expHistogramProto(a)
	case metricdata.Summary:
		out.Data = summaryProto(a)
	default:
		return nil, fmt.Errorf("%w: %T", errUnknownAggregation, a)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func temporalityProto(t metricdata.Temporality) (metricspb.AggregationTemporality, error) {
	switch t {
	case metricdata.CumulativeTemporality:
		return metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, nil
	case metricdata.DeltaTemporality:
		return metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA, nil
	}
	return metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_UNSPECIFIED,
		fmt.Errorf("%w: temporality %v", errUnknownAggregation, t)
}

func gaugeProto[N int64 | float64](g metricdata.Gauge[N]) *metricspb.Metric_Gauge {
	return &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: numberPoints(g.DataPoints)}}
}

func sumProto[N int64 | float64](s metricdata.Sum[N]) (*metricspb.Metric_Sum, error) {
	t, err := temporalityProto(s.Temporality)
	if err != nil {
		return nil, err
	}
	return &metricspb.Metric_Sum{Sum: &metricspb.Sum{
		AggregationTemporality: t,
		IsMonotonic:            s.IsMonotonic,
		DataPoints:             numberPoints(s.DataPoints),
	}}, nil
}

func numberPoints[N int64 | float64](pts []metricdata.DataPoint[N]) []*metricspb.NumberDataPoint {
	out := make([]*metricspb.NumberDataPoint, 0, len(pts))
	for _, pt := range pts {
		dp := &metricspb.NumberDataPoint{
			Attributes:        attrIter(pt.Attributes.Iter()),
			StartTimeUnixNano: timeUnixNano(pt.StartTime),
			TimeUnixNano:      timeUnixNano(pt.Time),
			Exemplars:         exemplarsProto(pt.Exemplars),
		}
		switch v := any(pt.Value).(type) {
		case int64:
			dp.Value = &metricspb.NumberDataPoint_AsInt{AsInt: v}
		case float64:
			dp.Value = &metricspb.NumberDataPoint_AsDouble{AsDouble: v}
		}
		out = append(out, dp)
	}
	return out
}

func histogramProto[N int64 | float64](h metricdata.Histogram[N]) (*metricspb.Metric_Histogram, error) {
	t, err := temporalityProto(h.Temporality)
	if err != nil {
		return nil, err
	}
	pts := make([]*metricspb.HistogramDataPoint, 0, len(h.DataPoints))
	for _, pt := range h.DataPoints {
		sum := float64(pt.Sum)
		dp := &metricspb.HistogramDataPoint{
			Attributes:        attrIter(pt.Attributes.Iter()),
			StartTimeUnixNano: timeUnixNano(pt.StartTime),
			TimeUnixNano:      timeUnixNano(pt.Time),
			Count:             pt.Count,
			Sum:               &sum,
			BucketCounts:      pt.BucketCounts,
			ExplicitBounds:    pt.Bounds,
			Exemplars:         exemplarsProto(pt.Exemplars),
		}
		dp.Min, dp.Max = extremaProto(pt.Min), extremaProto(pt.Max)
		pts = append(pts, dp)
	}
	return &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
		AggregationTemporality: t,
		DataPoints:             pts,
	}}, nil
}

func expHistogramProto[N int64 | float64](h metricdata.ExponentialHistogram[N]) (*metricspb.Metric_ExponentialHistogram, error) {
	t, err := temporalityProto(h.Temporality)
	if err != nil {
		return nil, err
	}
	pts := make([]*metricspb.ExponentialHistogramDataPoint, 0, len(h.DataPoints))
	for _, pt := range h.DataPoints {
		sum := float64(pt.Sum)
		dp := &metricspb.ExponentialHistogramDataPoint{
			Attributes:        attrIter(pt.Attributes.Iter()),
			StartTimeUnixNano: timeUnixNano(pt.StartTime),
			TimeUnixNano:      timeUnixNano(pt.Time),
			Count:             pt.Count,
			Sum:               &sum,
			Scale:             pt.Scale,
			ZeroCount:         pt.ZeroCount,
			ZeroThreshold:     pt.ZeroThreshold,
			Positive: &metricspb.ExponentialHistogramDataPoint_Buckets{
				Offset: pt.PositiveBucket.Offset, BucketCounts: pt.PositiveBucket.Counts,
			},
			Negative: &metricspb.ExponentialHistogramDataPoint_Buckets{
				Offset: pt.NegativeBucket.Offset, BucketCounts: pt.NegativeBucket.Counts,
			},
			Exemplars: exemplarsProto(pt.Exemplars),
		}
		dp.Min, dp.Max = extremaProto(pt.Min), extremaProto(pt.Max)
		pts = append(pts, dp)
	}
	return &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: &metricspb.ExponentialHistogram{
		AggregationTemporality: t,
		DataPoints:             pts,
	}}, nil
}

func extremaProto[N int64 | float64](e metricdata.Extrema[N]) *float64 {
	v, ok := e.Value()
	if !ok {
		return nil
	}
	f := float64(v)
	return &f
}

func summaryProto(s metricdata.Summary) *metricspb.Metric_Summary {
	pts := make([]*metricspb.SummaryDataPoint, 0, len(s.DataPoints))
	for _, pt := range s.DataPoints {
		qs := make([]*metricspb.SummaryDataPoint_ValueAtQuantile, 0, len(pt.QuantileValues))
		for _, q := range pt.QuantileValues {
			qs = append(qs, &metricspb.SummaryDataPoint_ValueAtQuantile{Quantile: q.Quantile, Value: q.Value})
		}
		pts = append(pts, &metricspb.SummaryDataPoint{
			Attributes:        attrIter(pt.Attributes.Iter()),
			StartTimeUnixNano: timeUnixNano(pt.StartTime),
			TimeUnixNano:      timeUnixNano(pt.Time),
			Count:             pt.Count,
			Sum:               pt.Sum,
			QuantileValues:    qs,
		})
	}
	return &metricspb.Metric_Summary{Summary: &metricspb.Summary{DataPoints: pts}}
}

func exemplarsProto[N int64 | float64](exs []metricdata.Exemplar[N]) []*metricspb.Exemplar {
	if len(exs) == 0 {
		return nil
	}
	out := make([]*metricspb.Exemplar, 0, len(exs))
	for _, ex := range exs {
		e := &metricspb.Exemplar{
			FilteredAttributes: attrKVs(ex.FilteredAttributes),
			TimeUnixNano:       timeUnixNano(ex.Time),
			SpanId:             ex.SpanID,
			TraceId:            ex.TraceID,
		}
		switch v := any(ex.Value).(type) {
		case int64:
			e.Value = &metricspb.Exemplar_AsInt{AsInt: v}
		case float64:
			e.Value = &metricspb.Exemplar_AsDouble{AsDouble: v}
		}
		out = append(out, e)
	}
	return out
}
