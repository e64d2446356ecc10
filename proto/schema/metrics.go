package schema

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"
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
	m           pmetric.Metric
	typ         string
	temporality int32
	hasTemp     bool
	monotonic   bool
	hasMono     bool
}

// describe returns the description of m, and false when m has no data.
func describe(m pmetric.Metric) (metricDesc, bool) {
	d := metricDesc{m: m}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		d.typ = metricTypeGauge
	case pmetric.MetricTypeSum:
		d.typ = metricTypeSum
		d.temporality, d.hasTemp = int32(m.Sum().AggregationTemporality()), true
		d.monotonic, d.hasMono = m.Sum().IsMonotonic(), true
	case pmetric.MetricTypeHistogram:
		d.typ = metricTypeHistogram
		d.temporality, d.hasTemp = int32(m.Histogram().AggregationTemporality()), true
	case pmetric.MetricTypeExponentialHistogram:
		d.typ = metricTypeExpHistogram
		d.temporality, d.hasTemp = int32(m.ExponentialHistogram().AggregationTemporality()), true
	case pmetric.MetricTypeSummary:
		d.typ = metricTypeSummary
	default:
		return d, false
	}
	return d, true
}

// appendHead adds the metric description columns of the n rows of one
// metric, which are consecutive: each column takes n copies at once.
func (b *metricBuilder) appendHead(d *metricDesc, n int) error {
	for _, s := range [...]struct {
		field string
		b     *array.BinaryDictionaryBuilder
		v     string
	}{{"metric name", b.name, d.m.Name()}, {"metric description", b.description, d.m.Description()}, {"metric unit", b.unit, d.m.Unit()}} {
		if err := checkUTF8(s.field, s.v); err != nil {
			return err
		}
		if err := appendDictN(s.b, s.v, n, &b.env.idx); err != nil {
			return err
		}
	}
	if err := b.meta.resetMap(d.m.Metadata()); err != nil {
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

// appendPoint adds the columns every point type has. (Its arguments are
// not an interface of the point types: a point converted to one escapes,
// an allocation per row.)
func (b *metricBuilder) appendPoint(attrs pcommon.Map, start, time pcommon.Timestamp, flags pmetric.DataPointFlags) error {
	if err := b.attrs.appendMap(attrs); err != nil {
		return err
	}
	appendTime(b.start, uint64(start))
	appendTime(b.time, uint64(time))
	b.flags.Append(uint32(flags))
	return nil
}

// appendNulls appends n nulls to each of bs: the columns a point type does
// not have, for all the points of a metric at once.
func appendNulls(n int, bs ...interface{ AppendNulls(n int) }) {
	for _, b := range bs {
		b.AppendNulls(n)
	}
}

// appendOptF64 appends v, or a null when has is false.
func appendOptF64(b *array.Float64Builder, v float64, has bool) {
	if !has {
		b.AppendNull()
		return
	}
	b.Append(v)
}

// appendU64List appends one list row holding vals.
func appendU64List(l *listCol, v *array.Uint64Builder, vals pcommon.UInt64Slice) {
	l.Append(true)
	n := vals.Len()
	v.Reserve(n)
	for i := range n {
		v.UnsafeAppend(vals.At(i))
	}
}

// appendF64List appends one list row holding vals.
func appendF64List(l *listCol, v *array.Float64Builder, vals pcommon.Float64Slice) {
	l.Append(true)
	n := vals.Len()
	v.Reserve(n)
	for i := range n {
		v.UnsafeAppend(vals.At(i))
	}
}

func (b *metricBuilder) appendNumbers(d *metricDesc, ps pmetric.NumberDataPointSlice) error {
	n := ps.Len()
	if err := b.appendHead(d, n); err != nil {
		return err
	}
	appendNulls(n, b.count, b.sum, b.min, b.max, b.bucketCounts, b.explicitBounds,
		b.scale, b.zeroCount, b.zeroThreshold, b.posOffset, b.posCounts, b.negOffset, b.negCounts,
		b.quantiles)
	for i := range n {
		p := ps.At(i)
		if err := b.appendPoint(p.Attributes(), p.StartTimestamp(), p.Timestamp(), p.Flags()); err != nil {
			return err
		}
		switch p.ValueType() {
		case pmetric.NumberDataPointValueTypeDouble:
			b.valueDouble.Append(p.DoubleValue())
			b.valueInt.AppendNull()
		case pmetric.NumberDataPointValueTypeInt:
			b.valueDouble.AppendNull()
			b.valueInt.Append(p.IntValue())
		default:
			b.valueDouble.AppendNull()
			b.valueInt.AppendNull()
		}
		if err := b.appendExemplars(p.Exemplars()); err != nil {
			return err
		}
	}
	return nil
}

func (b *metricBuilder) appendHistograms(d *metricDesc, ps pmetric.HistogramDataPointSlice) error {
	n := ps.Len()
	if err := b.appendHead(d, n); err != nil {
		return err
	}
	appendNulls(n, b.valueDouble, b.valueInt,
		b.scale, b.zeroCount, b.zeroThreshold, b.posOffset, b.posCounts, b.negOffset, b.negCounts,
		b.quantiles)
	for i := range n {
		p := ps.At(i)
		if err := b.appendPoint(p.Attributes(), p.StartTimestamp(), p.Timestamp(), p.Flags()); err != nil {
			return err
		}
		b.count.Append(p.Count())
		appendOptF64(b.sum, p.Sum(), p.HasSum())
		appendOptF64(b.min, p.Min(), p.HasMin())
		appendOptF64(b.max, p.Max(), p.HasMax())
		appendU64List(b.bucketCounts, b.bucketCountsV, p.BucketCounts())
		appendF64List(b.explicitBounds, b.explicitBndsV, p.ExplicitBounds())
		if err := b.appendExemplars(p.Exemplars()); err != nil {
			return err
		}
	}
	return nil
}

// appendBuckets stores exponential buckets. pdata cannot tell absent
// buckets from empty ones: both are an offset of 0 and an empty list.
func appendBuckets(off *array.Int32Builder, l *listCol, v *array.Uint64Builder, bk pmetric.ExponentialHistogramDataPointBuckets) {
	off.Append(bk.Offset())
	appendU64List(l, v, bk.BucketCounts())
}

func (b *metricBuilder) appendExpHistograms(d *metricDesc, ps pmetric.ExponentialHistogramDataPointSlice) error {
	n := ps.Len()
	if err := b.appendHead(d, n); err != nil {
		return err
	}
	appendNulls(n, b.valueDouble, b.valueInt, b.bucketCounts, b.explicitBounds, b.quantiles)
	for i := range n {
		p := ps.At(i)
		if err := b.appendPoint(p.Attributes(), p.StartTimestamp(), p.Timestamp(), p.Flags()); err != nil {
			return err
		}
		b.count.Append(p.Count())
		appendOptF64(b.sum, p.Sum(), p.HasSum())
		appendOptF64(b.min, p.Min(), p.HasMin())
		appendOptF64(b.max, p.Max(), p.HasMax())
		b.scale.Append(p.Scale())
		b.zeroCount.Append(p.ZeroCount())
		b.zeroThreshold.Append(p.ZeroThreshold())
		appendBuckets(b.posOffset, b.posCounts, b.posCountsV, p.Positive())
		appendBuckets(b.negOffset, b.negCounts, b.negCountsV, p.Negative())
		if err := b.appendExemplars(p.Exemplars()); err != nil {
			return err
		}
	}
	return nil
}

func (b *metricBuilder) appendSummaries(d *metricDesc, ps pmetric.SummaryDataPointSlice) error {
	n := ps.Len()
	if err := b.appendHead(d, n); err != nil {
		return err
	}
	// Summary points have no exemplars.
	appendNulls(n, b.valueDouble, b.valueInt, b.min, b.max, b.bucketCounts, b.explicitBounds,
		b.scale, b.zeroCount, b.zeroThreshold, b.posOffset, b.posCounts, b.negOffset, b.negCounts,
		b.exemplars)
	for i := range n {
		p := ps.At(i)
		if err := b.appendPoint(p.Attributes(), p.StartTimestamp(), p.Timestamp(), p.Flags()); err != nil {
			return err
		}
		b.count.Append(p.Count())
		b.sum.Append(p.Sum())
		b.quantiles.Append(true)
		qs := p.QuantileValues()
		for j := range qs.Len() {
			q := qs.At(j)
			b.qStruct.Append(true)
			b.qQuantile.Append(q.Quantile())
			b.qValue.Append(q.Value())
		}
	}
	return nil
}

func (b *metricBuilder) appendExemplars(exs pmetric.ExemplarSlice) error {
	b.exemplars.Append(true)
	for i := range exs.Len() {
		e := exs.At(i)
		b.exStruct.Append(true)
		if err := b.exAttrs.appendMap(e.FilteredAttributes()); err != nil {
			return fmt.Errorf("exemplar: %w", err)
		}
		appendTime(b.exTime, uint64(e.Timestamp()))
		switch e.ValueType() {
		case pmetric.ExemplarValueTypeDouble:
			b.exDouble.Append(e.DoubleValue())
			b.exInt.AppendNull()
		case pmetric.ExemplarValueTypeInt:
			b.exDouble.AppendNull()
			b.exInt.Append(e.IntValue())
		default:
			b.exDouble.AppendNull()
			b.exInt.AppendNull()
		}
		sid, tid := e.SpanID(), e.TraceID()
		appendPdataID(b.exSpanID, sid.IsEmpty(), sid[:])
		appendPdataID(b.exTraceID, tid.IsEmpty(), tid[:])
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

// countExemplars counts the exemplars of a point.
func (c *metricCount) countExemplars(exs pmetric.ExemplarSlice) {
	for i := range exs.Len() {
		c.exAttrs.addMap(exs.At(i).FilteredAttributes(), 1)
	}
}

// add counts the rows of m; it returns how many there are.
func (c *metricCount) add(m pmetric.Metric) int {
	n := 0
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		ps := m.Gauge().DataPoints()
		for i := range ps.Len() {
			p := ps.At(i)
			c.attrs.addMap(p.Attributes(), 1)
			c.countExemplars(p.Exemplars())
		}
		n = ps.Len()
	case pmetric.MetricTypeSum:
		ps := m.Sum().DataPoints()
		for i := range ps.Len() {
			p := ps.At(i)
			c.attrs.addMap(p.Attributes(), 1)
			c.countExemplars(p.Exemplars())
		}
		n = ps.Len()
	case pmetric.MetricTypeHistogram:
		ps := m.Histogram().DataPoints()
		for i := range ps.Len() {
			p := ps.At(i)
			c.attrs.addMap(p.Attributes(), 1)
			c.countExemplars(p.Exemplars())
			c.buckets += p.BucketCounts().Len()
			c.bounds += p.ExplicitBounds().Len()
		}
		n = ps.Len()
	case pmetric.MetricTypeExponentialHistogram:
		ps := m.ExponentialHistogram().DataPoints()
		for i := range ps.Len() {
			p := ps.At(i)
			c.attrs.addMap(p.Attributes(), 1)
			c.countExemplars(p.Exemplars())
			c.expBuckets += p.Positive().BucketCounts().Len() + p.Negative().BucketCounts().Len()
		}
		n = ps.Len()
	case pmetric.MetricTypeSummary:
		ps := m.Summary().DataPoints()
		for i := range ps.Len() {
			p := ps.At(i)
			c.attrs.addMap(p.Attributes(), 1)
			c.quantileEntries += p.QuantileValues().Len()
		}
		n = ps.Len()
	}
	c.rows += n
	c.metadata.addMap(m.Metadata(), n)
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

// pointCount returns how many data points m holds: the rows it adds.
func pointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

// appendMetric adds one row per data point of m; a metric without data or
// points adds nothing.
func (b *metricBuilder) appendMetric(m pmetric.Metric) error {
	if pointCount(m) == 0 {
		return nil
	}
	d, ok := describe(m)
	if !ok {
		return nil
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return b.appendNumbers(&d, m.Gauge().DataPoints())
	case pmetric.MetricTypeSum:
		return b.appendNumbers(&d, m.Sum().DataPoints())
	case pmetric.MetricTypeHistogram:
		return b.appendHistograms(&d, m.Histogram().DataPoints())
	case pmetric.MetricTypeExponentialHistogram:
		return b.appendExpHistograms(&d, m.ExponentialHistogram().DataPoints())
	case pmetric.MetricTypeSummary:
		return b.appendSummaries(&d, m.Summary().DataPoints())
	}
	return nil
}

// ResourceMetricsToArrow converts metrics to one record batch in the
// metrics schema, one row per data point; metrics without data or points
// add no row. It fails, wrapping ErrInvalid, when a string is not valid
// UTF-8 (which pdata's decoding does not check) or an attribute value
// cannot be encoded; nothing is converted then. The caller releases the
// batch.
func ResourceMetricsToArrow(mem memory.Allocator, rms []pmetric.ResourceMetrics) (arrow.RecordBatch, error) {
	var c metricCount
	for _, rm := range rms {
		sms := rm.ScopeMetrics()
		for i := range sms.Len() {
			sm := sms.At(i)
			ms := sm.Metrics()
			rows := 0
			for j := range ms.Len() {
				rows += c.add(ms.At(j))
			}
			c.env.addPdata(rm.Resource(), sm.Scope(), rows)
		}
	}
	b := metricBuilders.get(mem)
	b.reserve(&c)
	if err := b.appendResources(rms); err != nil {
		metricBuilders.discard(b)
		return nil, err
	}
	return metricBuilders.finish(b), nil
}

// appendResources adds the rows of rms, counted and reserved.
func (b *metricBuilder) appendResources(rms []pmetric.ResourceMetrics) error {
	env := &b.env.cur
	for _, rm := range rms {
		sms := rm.ScopeMetrics()
		for si := range sms.Len() {
			sm := sms.At(si)
			if si == 0 {
				if err := env.setResourcePdata(rm.Resource(), rm.SchemaUrl()); err != nil {
					return err
				}
			}
			if err := env.setScopePdata(sm.Scope(), sm.SchemaUrl()); err != nil {
				return err
			}
			ms := sm.Metrics()
			rows, first := 0, -1 // first: the first metric with rows
			for j := range ms.Len() {
				n := pointCount(ms.At(j))
				if n > 0 && first < 0 {
					first = j
				}
				rows += n
			}
			if rows == 0 {
				continue
			}
			if err := b.env.appendN(env, rows); err != nil {
				return fmt.Errorf("metric %q: %w", ms.At(first).Name(), err)
			}
			for j := range ms.Len() {
				m := ms.At(j)
				if err := b.appendMetric(m); err != nil {
					return fmt.Errorf("metric %q: %w", m.Name(), err)
				}
			}
		}
	}
	return nil
}

// MetricsToArrow is ResourceMetricsToArrow for the generated structs of
// go.opentelemetry.io/proto/otlp (the SDK exporters' and the tests'): it
// encodes them as an export request and decodes that with pdata, so that
// both share one conversion. A request that does not encode (invalid UTF-8)
// or that pdata refuses (an exemplar id of the wrong length) fails wrapping
// ErrInvalid.
func MetricsToArrow(mem memory.Allocator, rms []*metricspb.ResourceMetrics) (arrow.RecordBatch, error) {
	b, err := proto.Marshal(&colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: rms})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return ResourceMetricsToArrow(mem, ResourceMetricsOf(req.Metrics()))
}

// CountResourceMetrics returns the data points of rm, of every metric
// type: the rows ResourceMetricsToArrow makes of it.
func CountResourceMetrics(rm pmetric.ResourceMetrics) int64 {
	var n int64
	sms := rm.ScopeMetrics()
	for i := range sms.Len() {
		ms := sms.At(i).Metrics()
		for j := range ms.Len() {
			n += int64(pointCount(ms.At(j)))
		}
	}
	return n
}

// ResourceMetricsOf returns the resources of md, in order.
func ResourceMetricsOf(md pmetric.Metrics) []pmetric.ResourceMetrics {
	rms := md.ResourceMetrics()
	out := make([]pmetric.ResourceMetrics, rms.Len())
	for i := range out {
		out[i] = rms.At(i)
	}
	return out
}
