package schema

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
)

// metricReader reads metric descriptions and data points from the columns
// of one record batch.
type metricReader struct {
	name, description, unit strCol
	metadata                attrReader
	typ                     strCol
	temporality             *array.Int32
	monotonic               *array.Boolean

	attrs       attrReader
	start, time *array.Timestamp
	flags       *array.Uint32
	valueDouble *array.Float64
	valueInt    *array.Int64

	count                  *array.Uint64
	sum, min, max          *array.Float64
	bucketCounts           *array.List
	bucketCountsV          *array.Uint64
	explicitBounds         *array.List
	explicitBndsV          *array.Float64
	scale                  *array.Int32
	zeroCount              *array.Uint64
	zeroThreshold          *array.Float64
	posOffset, negOffset   *array.Int32
	posCounts, negCounts   *array.List
	posCountsV, negCountsV *array.Uint64

	quantiles         *array.List
	qQuantile, qValue *array.Float64

	exemplars         *array.List
	exAttrs           attrReader
	exTime            *array.Timestamp
	exDouble          *array.Float64
	exInt             *array.Int64
	exSpanID, exTrace *array.FixedSizeBinary
}

// listOf returns the named list column and its values as T, or nils when the
// column is missing.
func listOf[T arrow.Array](e *errList, cols colSet, name string) (*array.List, T) {
	var zero T
	l, err := typedCol[*array.List](cols, name)
	if err != nil || l == nil {
		e.add(err)
		return nil, zero
	}
	v, ok := l.ListValues().(T)
	if !ok {
		e.add(fmt.Errorf("%w: column %s is %s", ErrInvalid, name, l.DataType()))
		return nil, zero
	}
	return l, v
}

func newMetricReader(cols colSet) (*metricReader, error) {
	r := &metricReader{}
	var errs errList
	r.name = errs.str(newStrCol(cols, "metric_name"))
	r.description = errs.str(newStrCol(cols, "metric_description"))
	r.unit = errs.str(newStrCol(cols, "metric_unit"))
	r.metadata = errs.attrs(newAttrReader(cols, "metric_metadata"))
	r.typ = errs.str(newStrCol(cols, "metric_type"))
	r.temporality = errs.i32(typedCol[*array.Int32](cols, "aggregation_temporality"))
	r.monotonic = errs.boolean(typedCol[*array.Boolean](cols, "is_monotonic"))
	r.attrs = errs.attrs(newAttrReader(cols, "attributes"))
	r.start = errs.ts(typedCol[*array.Timestamp](cols, "start_time"))
	r.time = errs.ts(typedCol[*array.Timestamp](cols, "time"))
	r.flags = errs.u32(typedCol[*array.Uint32](cols, "flags"))
	r.valueDouble = errs.f64(typedCol[*array.Float64](cols, "value_double"))
	r.valueInt = errs.i64(typedCol[*array.Int64](cols, "value_int"))
	r.count = errs.u64(typedCol[*array.Uint64](cols, "count"))
	r.sum = errs.f64(typedCol[*array.Float64](cols, "sum"))
	r.min = errs.f64(typedCol[*array.Float64](cols, "min"))
	r.max = errs.f64(typedCol[*array.Float64](cols, "max"))
	r.bucketCounts, r.bucketCountsV = listOf[*array.Uint64](&errs, cols, "bucket_counts")
	r.explicitBounds, r.explicitBndsV = listOf[*array.Float64](&errs, cols, "explicit_bounds")
	r.scale = errs.i32(typedCol[*array.Int32](cols, "scale"))
	r.zeroCount = errs.u64(typedCol[*array.Uint64](cols, "zero_count"))
	r.zeroThreshold = errs.f64(typedCol[*array.Float64](cols, "zero_threshold"))
	r.posOffset = errs.i32(typedCol[*array.Int32](cols, "positive_offset"))
	r.posCounts, r.posCountsV = listOf[*array.Uint64](&errs, cols, "positive_bucket_counts")
	r.negOffset = errs.i32(typedCol[*array.Int32](cols, "negative_offset"))
	r.negCounts, r.negCountsV = listOf[*array.Uint64](&errs, cols, "negative_bucket_counts")
	if q, st := errs.listOfStruct(cols, "quantile_values"); q != nil {
		qc := structCols(st)
		r.quantiles = q
		r.qQuantile = errs.f64(typedCol[*array.Float64](qc, "quantile"))
		r.qValue = errs.f64(typedCol[*array.Float64](qc, "value"))
	}
	if ex, st := errs.listOfStruct(cols, "exemplars"); ex != nil {
		ec := structCols(st)
		r.exemplars = ex
		r.exAttrs = errs.attrs(newAttrReader(ec, "filtered_attributes"))
		r.exTime = errs.ts(typedCol[*array.Timestamp](ec, "time"))
		r.exDouble = errs.f64(typedCol[*array.Float64](ec, "value_double"))
		r.exInt = errs.i64(typedCol[*array.Int64](ec, "value_int"))
		r.exSpanID = errs.col(typedCol[*array.FixedSizeBinary](ec, "span_id"))
		r.exTrace = errs.col(typedCol[*array.FixedSizeBinary](ec, "trace_id"))
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return r, nil
}

func optF64At(a *array.Float64, i int) *float64 {
	if a == nil || a.IsNull(i) {
		return nil
	}
	v := a.Value(i)
	return &v
}

func f64At(a *array.Float64, i int) float64 {
	if a == nil || a.IsNull(i) {
		return 0
	}
	return a.Value(i)
}

// listRange returns the bounds of row i of l in its values; a null or
// missing list is empty.
func listRange(l *array.List, i int) (start, end int) {
	if l == nil || l.IsNull(i) {
		return 0, 0
	}
	s, e := l.ValueOffsets(i)
	return int(s), int(e)
}

func u64List(l *array.List, v *array.Uint64, i int) []uint64 {
	start, end := listRange(l, i)
	if start == end {
		return nil
	}
	return slices.Clone(v.Uint64Values()[start:end])
}

func f64List(l *array.List, v *array.Float64, i int) []float64 {
	start, end := listRange(l, i)
	if start == end {
		return nil
	}
	return slices.Clone(v.Float64Values()[start:end])
}

// desc returns an empty metric (no points) holding the description of row i.
func (r *metricReader) desc(i int) (*metricspb.Metric, error) {
	m := &metricspb.Metric{Name: r.name.str(i), Description: r.description.str(i), Unit: r.unit.str(i)}
	var err error
	if m.Metadata, err = r.metadata.read(i); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	temporality := metricspb.AggregationTemporality(i32At(r.temporality, i))
	switch typ, _ := r.typ.value(i); typ {
	case metricTypeGauge:
		m.Data = &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{}}
	case metricTypeSum:
		mono := r.monotonic != nil && r.monotonic.IsValid(i) && r.monotonic.Value(i)
		m.Data = &metricspb.Metric_Sum{Sum: &metricspb.Sum{AggregationTemporality: temporality, IsMonotonic: mono}}
	case metricTypeHistogram:
		m.Data = &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{AggregationTemporality: temporality}}
	case metricTypeExpHistogram:
		m.Data = &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: &metricspb.ExponentialHistogram{AggregationTemporality: temporality}}
	case metricTypeSummary:
		m.Data = &metricspb.Metric_Summary{Summary: &metricspb.Summary{}}
	default:
		return nil, fmt.Errorf("%w: metric_type %q", ErrInvalid, truncate(typ, 64))
	}
	return m, nil
}

func (r *metricReader) exemplarsAt(i int) ([]*metricspb.Exemplar, error) {
	start, end := listRange(r.exemplars, i)
	if start == end {
		return nil, nil
	}
	out := make([]*metricspb.Exemplar, 0, end-start)
	for j := start; j < end; j++ {
		e := &metricspb.Exemplar{
			TimeUnixNano: timeAt(r.exTime, j),
			SpanId:       idAt(r.exSpanID, j),
			TraceId:      idAt(r.exTrace, j),
		}
		switch {
		case r.exDouble != nil && r.exDouble.IsValid(j):
			e.Value = &metricspb.Exemplar_AsDouble{AsDouble: r.exDouble.Value(j)}
		case r.exInt != nil && r.exInt.IsValid(j):
			e.Value = &metricspb.Exemplar_AsInt{AsInt: r.exInt.Value(j)}
		}
		var err error
		if e.FilteredAttributes, err = r.exAttrs.read(j); err != nil {
			return nil, fmt.Errorf("exemplar: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}

func (r *metricReader) numberPoint(i int) (*metricspb.NumberDataPoint, error) {
	p := &metricspb.NumberDataPoint{
		StartTimeUnixNano: timeAt(r.start, i),
		TimeUnixNano:      timeAt(r.time, i),
		Flags:             u32At(r.flags, i),
	}
	switch {
	case r.valueDouble != nil && r.valueDouble.IsValid(i):
		p.Value = &metricspb.NumberDataPoint_AsDouble{AsDouble: r.valueDouble.Value(i)}
	case r.valueInt != nil && r.valueInt.IsValid(i):
		p.Value = &metricspb.NumberDataPoint_AsInt{AsInt: r.valueInt.Value(i)}
	}
	var err error
	if p.Attributes, err = r.attrs.read(i); err != nil {
		return nil, err
	}
	if p.Exemplars, err = r.exemplarsAt(i); err != nil {
		return nil, err
	}
	return p, nil
}

func (r *metricReader) histogramPoint(i int) (*metricspb.HistogramDataPoint, error) {
	p := &metricspb.HistogramDataPoint{
		StartTimeUnixNano: timeAt(r.start, i),
		TimeUnixNano:      timeAt(r.time, i),
		Flags:             u32At(r.flags, i),
		Count:             u64At(r.count, i),
		Sum:               optF64At(r.sum, i),
		Min:               optF64At(r.min, i),
		Max:               optF64At(r.max, i),
		BucketCounts:      u64List(r.bucketCounts, r.bucketCountsV, i),
		ExplicitBounds:    f64List(r.explicitBounds, r.explicitBndsV, i),
	}
	var err error
	if p.Attributes, err = r.attrs.read(i); err != nil {
		return nil, err
	}
	if p.Exemplars, err = r.exemplarsAt(i); err != nil {
		return nil, err
	}
	return p, nil
}

func bucketsAt(off *array.Int32, l *array.List, v *array.Uint64, i int) *metricspb.ExponentialHistogramDataPoint_Buckets {
	if off == nil || off.IsNull(i) {
		return nil
	}
	return &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: off.Value(i), BucketCounts: u64List(l, v, i)}
}

func (r *metricReader) expHistogramPoint(i int) (*metricspb.ExponentialHistogramDataPoint, error) {
	p := &metricspb.ExponentialHistogramDataPoint{
		StartTimeUnixNano: timeAt(r.start, i),
		TimeUnixNano:      timeAt(r.time, i),
		Flags:             u32At(r.flags, i),
		Count:             u64At(r.count, i),
		Sum:               optF64At(r.sum, i),
		Min:               optF64At(r.min, i),
		Max:               optF64At(r.max, i),
		Scale:             i32At(r.scale, i),
		ZeroCount:         u64At(r.zeroCount, i),
		ZeroThreshold:     f64At(r.zeroThreshold, i),
		Positive:          bucketsAt(r.posOffset, r.posCounts, r.posCountsV, i),
		Negative:          bucketsAt(r.negOffset, r.negCounts, r.negCountsV, i),
	}
	var err error
	if p.Attributes, err = r.attrs.read(i); err != nil {
		return nil, err
	}
	if p.Exemplars, err = r.exemplarsAt(i); err != nil {
		return nil, err
	}
	return p, nil
}

func (r *metricReader) summaryPoint(i int) (*metricspb.SummaryDataPoint, error) {
	p := &metricspb.SummaryDataPoint{
		StartTimeUnixNano: timeAt(r.start, i),
		TimeUnixNano:      timeAt(r.time, i),
		Flags:             u32At(r.flags, i),
		Count:             u64At(r.count, i),
		Sum:               f64At(r.sum, i),
	}
	start, end := listRange(r.quantiles, i)
	for j := start; j < end; j++ {
		p.QuantileValues = append(p.QuantileValues, &metricspb.SummaryDataPoint_ValueAtQuantile{
			Quantile: f64At(r.qQuantile, j),
			Value:    f64At(r.qValue, j),
		})
	}
	var err error
	if p.Attributes, err = r.attrs.read(i); err != nil {
		return nil, err
	}
	return p, nil
}

// readInto appends the point read from row i to *dst.
func readInto[P any](dst *[]P, read func(int) (P, error), i int) error {
	p, err := read(i)
	if err != nil {
		return err
	}
	*dst = append(*dst, p)
	return nil
}

// appendPointTo reads the data point of row i into m, whose type desc chose.
func (r *metricReader) appendPointTo(m *metricspb.Metric, i int) error {
	switch data := m.Data.(type) {
	case *metricspb.Metric_Gauge:
		return readInto(&data.Gauge.DataPoints, r.numberPoint, i)
	case *metricspb.Metric_Sum:
		return readInto(&data.Sum.DataPoints, r.numberPoint, i)
	case *metricspb.Metric_Histogram:
		return readInto(&data.Histogram.DataPoints, r.histogramPoint, i)
	case *metricspb.Metric_ExponentialHistogram:
		return readInto(&data.ExponentialHistogram.DataPoints, r.expHistogramPoint, i)
	case *metricspb.Metric_Summary:
		return readInto(&data.Summary.DataPoints, r.summaryPoint, i)
	}
	return nil
}

// MetricsFromArrow converts record batches in the metrics schema (or a
// compatible subset: missing nullable columns read as unset) back to OTLP.
// Rows are regrouped by resource and scope in order of first appearance, and
// within a scope rows of equal metric descriptions (name, description, unit,
// metadata, type, temporality, monotonicity) become one Metric, in order of
// first appearance. A row with a missing or unknown metric_type fails,
// wrapping ErrInvalid.
func MetricsFromArrow(recs []arrow.RecordBatch) ([]*metricspb.ResourceMetrics, error) {
	var out []*metricspb.ResourceMetrics
	var metricIdx [][]map[string]int // [resource][scope][description key] -> metric index
	err := walkRows(recs, func(cols colSet) (func(int, rowGroup) error, error) {
		mr, err := newMetricReader(cols)
		if err != nil {
			return nil, err
		}
		return func(i int, g rowGroup) error {
			if g.resource != nil {
				out = append(out, &metricspb.ResourceMetrics{Resource: g.resource, SchemaUrl: g.resourceSchemaURL})
				metricIdx = append(metricIdx, nil)
			}
			if g.scope != nil {
				out[g.ri].ScopeMetrics = append(out[g.ri].ScopeMetrics, &metricspb.ScopeMetrics{Scope: g.scope, SchemaUrl: g.scopeSchemaURL})
				metricIdx[g.ri] = append(metricIdx[g.ri], map[string]int{})
			}
			m, err := mr.desc(i)
			if err != nil {
				return err
			}
			sm := out[g.ri].ScopeMetrics[g.si]
			key := metricKey(m)
			mi, ok := metricIdx[g.ri][g.si][key]
			if !ok {
				mi = len(sm.Metrics)
				metricIdx[g.ri][g.si][key] = mi
				sm.Metrics = append(sm.Metrics, m)
			}
			return mr.appendPointTo(sm.Metrics[mi], i)
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
