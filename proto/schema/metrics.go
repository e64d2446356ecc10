package schema

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
)

// The values of the metric_type column, one per Metric.data oneof case.
const (
	metricTypeGauge        = "gauge"
	metricTypeSum          = "sum"
	metricTypeHistogram    = "histogram"
	metricTypeExpHistogram = "exponential_histogram"
	metricTypeSummary      = "summary"
)

// metricsSchema has one row per metric data point. Columns that do not apply
// to a row's metric type are null, so that each type reads naturally.
var metricsSchema = func() *arrow.Schema {
	f := func(name string, t arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: t, Nullable: true}
	}
	i32, i64 := arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64
	u32, u64 := arrow.PrimitiveTypes.Uint32, arrow.PrimitiveTypes.Uint64
	f64 := arrow.PrimitiveTypes.Float64
	fs := envelopeFields()
	fs = append(fs, f("metric_name", DictString), f("metric_description", DictString), f("metric_unit", DictString))
	fs = append(fs, attrFields("metric_metadata")...)
	fs = append(fs, f("metric_type", DictString), f("aggregation_temporality", i32), f("is_monotonic", arrow.FixedWidthTypes.Boolean))
	fs = append(fs, attrFields("attributes")...)
	exemplarFields := attrFields("filtered_attributes")
	exemplarFields = append(exemplarFields,
		f("time", Timestamp), f("value_double", f64), f("value_int", i64), f("span_id", SpanID), f("trace_id", TraceID))
	fs = append(fs,
		f("start_time", Timestamp),
		f("time", Timestamp),
		f("flags", u32),
		f("value_double", f64),
		f("value_int", i64),
		f("count", u64),
		f("sum", f64),
		f("min", f64),
		f("max", f64),
		f("bucket_counts", arrow.ListOf(u64)),
		f("explicit_bounds", arrow.ListOf(f64)),
		f("scale", i32),
		f("zero_count", u64),
		f("zero_threshold", f64),
		f("positive_offset", i32),
		f("positive_bucket_counts", arrow.ListOf(u64)),
		f("negative_offset", i32),
		f("negative_bucket_counts", arrow.ListOf(u64)),
		f("quantile_values", arrow.ListOf(arrow.StructOf(f("quantile", f64), f("value", f64)))),
		f("exemplars", arrow.ListOf(arrow.StructOf(exemplarFields...))),
	)
	return arrow.NewSchema(fs, nil)
}()

// metricBuilder appends data points, one row each, in metricsSchema.
type metricBuilder struct {
	rb  *batchBuilder
	mem memory.Allocator
	env envelopeBuilder

	name, description, unit *array.BinaryDictionaryBuilder
	metadata                *attrBuilder
	meta                    attrSet // the metadata of the metric being appended
	typ                     *array.BinaryDictionaryBuilder
	temporality             *array.Int32Builder
	monotonic               *array.BooleanBuilder

	attrs       *attrBuilder
	start, time *array.TimestampBuilder
	flags       *array.Uint32Builder

	valueDouble *array.Float64Builder
	valueInt    *array.Int64Builder

	count          *array.Uint64Builder
	sum, min, max  *array.Float64Builder
	bucketCounts   *listCol
	bucketCountsV  *array.Uint64Builder
	explicitBounds *listCol
	explicitBndsV  *array.Float64Builder

	scale         *array.Int32Builder
	zeroCount     *array.Uint64Builder
	zeroThreshold *array.Float64Builder
	posOffset     *array.Int32Builder
	posCounts     *listCol
	posCountsV    *array.Uint64Builder
	negOffset     *array.Int32Builder
	negCounts     *listCol
	negCountsV    *array.Uint64Builder

	quantiles *listCol
	qStruct   *structCol
	qQuantile *array.Float64Builder
	qValue    *array.Float64Builder

	exemplars *listCol
	exStruct  *structCol
	exAttrs   *attrBuilder
	exTime    *array.TimestampBuilder
	exDouble  *array.Float64Builder
	exInt     *array.Int64Builder
	exSpanID  *array.FixedSizeBinaryBuilder
	exTraceID *array.FixedSizeBinaryBuilder
}

func newMetricBuilder(mem memory.Allocator) *metricBuilder {
	rb := newBatchBuilder(mem, metricsSchema)
	bs := rb.Fields()
	i := numEnvelopeFields
	next := func() any { b := bs[i]; i++; return b }
	b := &metricBuilder{rb: rb, mem: mem, env: newEnvelopeBuilder(rb)}
	b.name = next().(*array.BinaryDictionaryBuilder)
	b.description = next().(*array.BinaryDictionaryBuilder)
	b.unit = next().(*array.BinaryDictionaryBuilder)
	b.metadata = newAttrBuilder(bs, i)
	i += numAttrKinds
	b.typ = next().(*array.BinaryDictionaryBuilder)
	b.temporality = next().(*array.Int32Builder)
	b.monotonic = next().(*array.BooleanBuilder)
	b.attrs = newAttrBuilder(bs, i)
	i += numAttrKinds
	b.start = next().(*array.TimestampBuilder)
	b.time = next().(*array.TimestampBuilder)
	b.flags = next().(*array.Uint32Builder)
	b.valueDouble = next().(*array.Float64Builder)
	b.valueInt = next().(*array.Int64Builder)
	b.count = next().(*array.Uint64Builder)
	b.sum = next().(*array.Float64Builder)
	b.min = next().(*array.Float64Builder)
	b.max = next().(*array.Float64Builder)
	b.bucketCounts = next().(*listCol)
	b.bucketCountsV = b.bucketCounts.ValueBuilder().(*array.Uint64Builder)
	b.explicitBounds = next().(*listCol)
	b.explicitBndsV = b.explicitBounds.ValueBuilder().(*array.Float64Builder)
	b.scale = next().(*array.Int32Builder)
	b.zeroCount = next().(*array.Uint64Builder)
	b.zeroThreshold = next().(*array.Float64Builder)
	b.posOffset = next().(*array.Int32Builder)
	b.posCounts = next().(*listCol)
	b.posCountsV = b.posCounts.ValueBuilder().(*array.Uint64Builder)
	b.negOffset = next().(*array.Int32Builder)
	b.negCounts = next().(*listCol)
	b.negCountsV = b.negCounts.ValueBuilder().(*array.Uint64Builder)
	b.quantiles = next().(*listCol)
	b.qStruct = b.quantiles.ValueBuilder().(*structCol)
	qb := b.qStruct.Fields()
	b.qQuantile = qb[0].(*array.Float64Builder)
	b.qValue = qb[1].(*array.Float64Builder)
	b.exemplars = next().(*listCol)
	b.exStruct = b.exemplars.ValueBuilder().(*structCol)
	eb := b.exStruct.Fields()
	b.exAttrs = newAttrBuilder(eb, 0)
	b.exTime = eb[numAttrKinds].(*array.TimestampBuilder)
	b.exDouble = eb[numAttrKinds+1].(*array.Float64Builder)
	b.exInt = eb[numAttrKinds+2].(*array.Int64Builder)
	b.exSpanID = eb[numAttrKinds+3].(*array.FixedSizeBinaryBuilder)
	b.exTraceID = eb[numAttrKinds+4].(*array.FixedSizeBinaryBuilder)
	return b
}

// metricDesc is what every row of one metric repeats.
type metricDesc struct {
	m           *metricspb.Metric
	typ         string
	temporality int32
	hasTemp     bool
	monotonic   bool
	hasMono     bool
}

// describe returns the description of m, and false when m has no data.
func describe(m *metricspb.Metric) (metricDesc, bool) {
	d := metricDesc{m: m}
	switch data := m.GetData().(type) {
	case *metricspb.Metric_Gauge:
		d.typ = metricTypeGauge
	case *metricspb.Metric_Sum:
		d.typ = metricTypeSum
		d.temporality, d.hasTemp = int32(data.Sum.GetAggregationTemporality()), true
		d.monotonic, d.hasMono = data.Sum.GetIsMonotonic(), true
	case *metricspb.Metric_Histogram:
		d.typ = metricTypeHistogram
		d.temporality, d.hasTemp = int32(data.Histogram.GetAggregationTemporality()), true
	case *metricspb.Metric_ExponentialHistogram:
		d.typ = metricTypeExpHistogram
		d.temporality, d.hasTemp = int32(data.ExponentialHistogram.GetAggregationTemporality()), true
	case *metricspb.Metric_Summary:
		d.typ = metricTypeSummary
	default:
		return d, false
	}
	return d, true
}

// appendHead adds the metric description columns of the n rows of one
// metric, which are consecutive: each column takes n copies at once.
func (b *metricBuilder) appendHead(d *metricDesc, n int) error {
	if err := appendDictN(b.name, d.m.Name, n, &b.env.idx); err != nil {
		return err
	}
	if err := appendDictN(b.description, d.m.Description, n, &b.env.idx); err != nil {
		return err
	}
	if err := appendDictN(b.unit, d.m.Unit, n, &b.env.idx); err != nil {
		return err
	}
	if err := b.meta.reset(d.m.Metadata); err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	b.metadata.appendSet(&b.meta, n)
	if err := appendDictN(b.typ, d.typ, n, &b.env.idx); err != nil {
		return err
	}
	if d.hasTemp {
		b.temporality.Reserve(n)
		for range n {
			b.temporality.UnsafeAppend(d.temporality)
		}
	} else {
		b.temporality.AppendNulls(n)
	}
	if d.hasMono {
		b.monotonic.Reserve(n)
		for range n {
			b.monotonic.UnsafeAppend(d.monotonic)
		}
	} else {
		b.monotonic.AppendNulls(n)
	}
	return nil
}

// appendPoint adds the columns every point type has.
func (b *metricBuilder) appendPoint(attrs []*commonpb.KeyValue, start, time uint64, flags uint32) error {
	if err := b.attrs.append(attrs); err != nil {
		return err
	}
	appendTime(b.start, start)
	appendTime(b.time, time)
	b.flags.Append(flags)
	return nil
}

// appendNulls appends n nulls to each of bs: the columns a point type does
// not have, for all the points of a metric at once.
func appendNulls(n int, bs ...interface{ AppendNulls(n int) }) {
	for _, b := range bs {
		b.AppendNulls(n)
	}
}

func appendOptF64(b *array.Float64Builder, v *float64) {
	if v == nil {
		b.AppendNull()
		return
	}
	b.Append(*v)
}

func appendU64List(l *listCol, v *array.Uint64Builder, vals []uint64) {
	l.Append(true)
	v.AppendValues(vals, nil)
}

func (b *metricBuilder) appendNumbers(d *metricDesc, ps []*metricspb.NumberDataPoint) error {
	if err := b.appendHead(d, len(ps)); err != nil {
		return err
	}
	appendNulls(len(ps), b.count, b.sum, b.min, b.max, b.bucketCounts, b.explicitBounds,
		b.scale, b.zeroCount, b.zeroThreshold, b.posOffset, b.posCounts, b.negOffset, b.negCounts,
		b.quantiles)
	for _, p := range ps {
		if err := b.appendPoint(p.Attributes, p.StartTimeUnixNano, p.TimeUnixNano, p.Flags); err != nil {
			return err
		}
		switch v := p.Value.(type) {
		case *metricspb.NumberDataPoint_AsDouble:
			b.valueDouble.Append(v.AsDouble)
			b.valueInt.AppendNull()
		case *metricspb.NumberDataPoint_AsInt:
			b.valueDouble.AppendNull()
			b.valueInt.Append(v.AsInt)
		default:
			b.valueDouble.AppendNull()
			b.valueInt.AppendNull()
		}
		if err := b.appendExemplars(p.Exemplars); err != nil {
			return err
		}
	}
	return nil
}

func (b *metricBuilder) appendHistograms(d *metricDesc, ps []*metricspb.HistogramDataPoint) error {
	if err := b.appendHead(d, len(ps)); err != nil {
		return err
	}
	appendNulls(len(ps), b.valueDouble, b.valueInt,
		b.scale, b.zeroCount, b.zeroThreshold, b.posOffset, b.posCounts, b.negOffset, b.negCounts,
		b.quantiles)
	for _, p := range ps {
		if err := b.appendPoint(p.Attributes, p.StartTimeUnixNano, p.TimeUnixNano, p.Flags); err != nil {
			return err
		}
		b.count.Append(p.Count)
		appendOptF64(b.sum, p.Sum)
		appendOptF64(b.min, p.Min)
		appendOptF64(b.max, p.Max)
		appendU64List(b.bucketCounts, b.bucketCountsV, p.BucketCounts)
		b.explicitBounds.Append(true)
		b.explicitBndsV.AppendValues(p.ExplicitBounds, nil)
		if err := b.appendExemplars(p.Exemplars); err != nil {
			return err
		}
	}
	return nil
}

// appendBuckets stores exponential buckets; a nil message is a null offset
// and a null list, so that nil and empty stay apart.
func appendBuckets(off *array.Int32Builder, l *listCol, v *array.Uint64Builder, bk *metricspb.ExponentialHistogramDataPoint_Buckets) {
	if bk == nil {
		off.AppendNull()
		l.AppendNull()
		return
	}
	off.Append(bk.Offset)
	appendU64List(l, v, bk.BucketCounts)
}

func (b *metricBuilder) appendExpHistograms(d *metricDesc, ps []*metricspb.ExponentialHistogramDataPoint) error {
	if err := b.appendHead(d, len(ps)); err != nil {
		return err
	}
	appendNulls(len(ps), b.valueDouble, b.valueInt, b.bucketCounts, b.explicitBounds, b.quantiles)
	for _, p := range ps {
		if err := b.appendPoint(p.Attributes, p.StartTimeUnixNano, p.TimeUnixNano, p.Flags); err != nil {
			return err
		}
		b.count.Append(p.Count)
		appendOptF64(b.sum, p.Sum)
		appendOptF64(b.min, p.Min)
		appendOptF64(b.max, p.Max)
		b.scale.Append(p.Scale)
		b.zeroCount.Append(p.ZeroCount)
		b.zeroThreshold.Append(p.ZeroThreshold)
		appendBuckets(b.posOffset, b.posCounts, b.posCountsV, p.Positive)
		appendBuckets(b.negOffset, b.negCounts, b.negCountsV, p.Negative)
		if err := b.appendExemplars(p.Exemplars); err != nil {
			return err
		}
	}
	return nil
}

func (b *metricBuilder) appendSummaries(d *metricDesc, ps []*metricspb.SummaryDataPoint) error {
	if err := b.appendHead(d, len(ps)); err != nil {
		return err
	}
	// Summary points have no exemplars.
	appendNulls(len(ps), b.valueDouble, b.valueInt, b.min, b.max, b.bucketCounts, b.explicitBounds,
		b.scale, b.zeroCount, b.zeroThreshold, b.posOffset, b.posCounts, b.negOffset, b.negCounts,
		b.exemplars)
	for _, p := range ps {
		if err := b.appendPoint(p.Attributes, p.StartTimeUnixNano, p.TimeUnixNano, p.Flags); err != nil {
			return err
		}
		b.count.Append(p.Count)
		b.sum.Append(p.Sum)
		b.quantiles.Append(true)
		for _, q := range p.QuantileValues {
			b.qStruct.Append(true)
			b.qQuantile.Append(q.GetQuantile())
			b.qValue.Append(q.GetValue())
		}
	}
	return nil
}

func (b *metricBuilder) appendExemplars(exs []*metricspb.Exemplar) error {
	b.exemplars.Append(true)
	for _, e := range exs {
		b.exStruct.Append(true)
		if err := b.exAttrs.append(e.FilteredAttributes); err != nil {
			return fmt.Errorf("exemplar: %w", err)
		}
		appendTime(b.exTime, e.TimeUnixNano)
		switch v := e.Value.(type) {
		case *metricspb.Exemplar_AsDouble:
			b.exDouble.Append(v.AsDouble)
			b.exInt.AppendNull()
		case *metricspb.Exemplar_AsInt:
			b.exDouble.AppendNull()
			b.exInt.Append(v.AsInt)
		default:
			b.exDouble.AppendNull()
			b.exInt.AppendNull()
		}
		appendID(b.exSpanID, e.SpanId)
		appendID(b.exTraceID, e.TraceId)
	}
	return nil
}

func (b *metricBuilder) record() *batchBuilder       { return b.rb }
func (b *metricBuilder) allocator() memory.Allocator { return b.mem }

func (b *metricBuilder) flush() {
	b.env.flush()
	b.metadata.flush()
	b.attrs.flush()
	b.exAttrs.flush()
	b.meta.clear()
}

var metricBuilders = builderPool[*metricBuilder]{newFunc: newMetricBuilder}

// metricCount is what a request needs in the builders.
type metricCount struct {
	rows            int
	env             envCount
	metadata, attrs attrCount
	exAttrs         attrCount // one set per exemplar
	buckets, bounds int       // bucket_counts and explicit_bounds values
	expBuckets      int       // positive and negative bucket counts
	quantileEntries int
}

// countPoint counts the columns every point type has.
func (c *metricCount) countPoint(attrs []*commonpb.KeyValue, exs []*metricspb.Exemplar) {
	c.attrs.add(attrs, 1)
	for _, e := range exs {
		c.exAttrs.add(e.FilteredAttributes, 1)
	}
}

// add counts the rows of m; it returns how many there are.
func (c *metricCount) add(m *metricspb.Metric) int {
	n := 0
	switch data := m.GetData().(type) {
	case *metricspb.Metric_Gauge:
		for _, p := range data.Gauge.GetDataPoints() {
			c.countPoint(p.Attributes, p.Exemplars)
			n++
		}
	case *metricspb.Metric_Sum:
		for _, p := range data.Sum.GetDataPoints() {
			c.countPoint(p.Attributes, p.Exemplars)
			n++
		}
	case *metricspb.Metric_Histogram:
		for _, p := range data.Histogram.GetDataPoints() {
			c.countPoint(p.Attributes, p.Exemplars)
			c.buckets += len(p.BucketCounts)
			c.bounds += len(p.ExplicitBounds)
			n++
		}
	case *metricspb.Metric_ExponentialHistogram:
		for _, p := range data.ExponentialHistogram.GetDataPoints() {
			c.countPoint(p.Attributes, p.Exemplars)
			c.expBuckets += len(p.Positive.GetBucketCounts()) + len(p.Negative.GetBucketCounts())
			n++
		}
	case *metricspb.Metric_Summary:
		for _, p := range data.Summary.GetDataPoints() {
			c.countPoint(p.Attributes, nil)
			c.quantileEntries += len(p.QuantileValues)
			n++
		}
	}
	c.rows += n
	c.metadata.add(m.Metadata, n)
	return n
}

// reserve makes room for the request counted in c.
func (b *metricBuilder) reserve(c *metricCount) {
	b.rb.Reserve(c.rows)
	b.env.reserve(&c.env)
	b.metadata.reserve(&c.metadata)
	b.attrs.reserve(&c.attrs)
	b.bucketCountsV.Reserve(c.buckets)
	b.explicitBndsV.Reserve(c.bounds)
	b.posCountsV.Reserve(c.expBuckets)
	b.negCountsV.Reserve(c.expBuckets)
	b.qStruct.Reserve(c.quantileEntries)
	b.exStruct.Reserve(c.exAttrs.rows)
	b.exAttrs.reserve(&c.exAttrs)
}

// checkExemplars validates the ids of exemplars.
func checkExemplars(exs []*metricspb.Exemplar) error {
	for _, e := range exs {
		if err := checkID(e.GetSpanId(), 8, "exemplar span_id"); err != nil {
			return err
		}
		if err := checkID(e.GetTraceId(), 16, "exemplar trace_id"); err != nil {
			return err
		}
	}
	return nil
}

// pointWithExemplars is a data point type that carries exemplars.
type pointWithExemplars interface {
	GetExemplars() []*metricspb.Exemplar
}

func checkPoints[P pointWithExemplars](ps []P) error {
	for _, p := range ps {
		if err := checkExemplars(p.GetExemplars()); err != nil {
			return err
		}
	}
	return nil
}

// checkMetric validates every id in m before anything is appended.
func checkMetric(m *metricspb.Metric) error {
	switch data := m.GetData().(type) {
	case *metricspb.Metric_Gauge:
		return checkPoints(data.Gauge.GetDataPoints())
	case *metricspb.Metric_Sum:
		return checkPoints(data.Sum.GetDataPoints())
	case *metricspb.Metric_Histogram:
		return checkPoints(data.Histogram.GetDataPoints())
	case *metricspb.Metric_ExponentialHistogram:
		return checkPoints(data.ExponentialHistogram.GetDataPoints())
	}
	return nil
}

// appendMetric adds one row per data point of m; a metric without data or
// points adds nothing.
func (b *metricBuilder) appendMetric(m *metricspb.Metric) error {
	if numPoints(m) == 0 {
		return nil
	}
	d, ok := describe(m)
	if !ok {
		return nil
	}
	switch data := m.Data.(type) {
	case *metricspb.Metric_Gauge:
		return b.appendNumbers(&d, data.Gauge.GetDataPoints())
	case *metricspb.Metric_Sum:
		return b.appendNumbers(&d, data.Sum.GetDataPoints())
	case *metricspb.Metric_Histogram:
		return b.appendHistograms(&d, data.Histogram.GetDataPoints())
	case *metricspb.Metric_ExponentialHistogram:
		return b.appendExpHistograms(&d, data.ExponentialHistogram.GetDataPoints())
	case *metricspb.Metric_Summary:
		return b.appendSummaries(&d, data.Summary.GetDataPoints())
	}
	return nil
}

// MetricsToArrow converts metrics to one record batch in the metrics schema,
// one row per data point; metrics without data or points add no row. It
// fails, wrapping ErrInvalid, when an exemplar id has the wrong length;
// nothing is converted then. The caller releases the batch.
func MetricsToArrow(mem memory.Allocator, rms []*metricspb.ResourceMetrics) (arrow.RecordBatch, error) {
	var c metricCount
	for _, rm := range rms {
		for _, sm := range rm.ScopeMetrics {
			rows := 0
			for _, m := range sm.Metrics {
				if err := checkMetric(m); err != nil {
					return nil, fmt.Errorf("metric %q: %w", m.GetName(), err)
				}
				rows += c.add(m)
			}
			c.env.add(rm.Resource, sm.Scope, rows)
		}
	}
	b := metricBuilders.get(mem)
	b.reserve(&c)
	env := &b.env.cur
	for _, rm := range rms {
		for si, sm := range rm.ScopeMetrics {
			if si == 0 {
				if err := env.setResource(rm.Resource, rm.SchemaUrl); err != nil {
					metricBuilders.discard(b)
					return nil, err
				}
			}
			env.setScope(sm.Scope, sm.SchemaUrl)
			rows := 0
			var first *metricspb.Metric // the first metric with rows
			for _, m := range sm.Metrics {
				n := numPoints(m)
				if n > 0 && first == nil {
					first = m
				}
				rows += n
			}
			if rows == 0 {
				continue
			}
			if err := b.env.appendN(env, rows); err != nil {
				metricBuilders.discard(b)
				return nil, fmt.Errorf("metric %q: %w", first.GetName(), err)
			}
			for _, m := range sm.Metrics {
				if err := b.appendMetric(m); err != nil {
					metricBuilders.discard(b)
					return nil, fmt.Errorf("metric %q: %w", m.GetName(), err)
				}
			}
		}
	}
	return metricBuilders.finish(b), nil
}
