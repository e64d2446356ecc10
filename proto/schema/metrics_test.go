package schema

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.opentelemetry.io/collector/pdata/pmetric"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"
)

// metricsRoundTrip converts in to Arrow, through IPC and back, and checks
// the result against NormalizeMetrics(in). check, when set, sees the batch
// before IPC.
func metricsRoundTrip(t *testing.T, in []*metricspb.ResourceMetrics, check func(t *testing.T, rec arrow.RecordBatch)) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	rec, err := MetricsToArrow(mem, in)
	if err != nil {
		t.Fatalf("to arrow: %v", err)
	}
	if !rec.Schema().Equal(metricsSchema) {
		t.Fatalf("schema differs")
	}
	if check != nil {
		check(t, rec)
	}
	back := ipcRoundTrip(t, rec)
	rec.Release()
	got, err := MetricsFromArrow([]arrow.RecordBatch{back})
	back.Release()
	if err != nil {
		t.Fatalf("from arrow: %v", err)
	}
	want := NormalizeMetrics(in)
	if len(want) != len(got) {
		t.Fatalf("%d resources, want %d", len(got), len(want))
	}
	for i := range want {
		if !proto.Equal(want[i], got[i]) {
			t.Fatalf("resource %d differs\n%s", i, diffMsg(want[i], got[i]))
		}
	}
}

func TestMetricsRoundTripProperty(t *testing.T) {
	for seed := range uint64(propertySeeds) {
		in := newGen(seed).metrics()
		t.Run(fmt.Sprint(seed), func(t *testing.T) { metricsRoundTrip(t, in, nil) })
		if t.Failed() {
			return
		}
	}
}

func mStr(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func mInt(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}

func f64p(v float64) *float64 { return &v }

// mOneScope wraps metrics in one resource (with a service name) and scope.
func mOneScope(ms ...*metricspb.Metric) []*metricspb.ResourceMetrics {
	return []*metricspb.ResourceMetrics{{
		Resource:     &resourcepb.Resource{Attributes: []*commonpb.KeyValue{mStr(ServiceNameKey, "checkout")}},
		ScopeMetrics: []*metricspb.ScopeMetrics{{Scope: &commonpb.InstrumentationScope{Name: "lib"}, Metrics: ms}},
	}}
}

func mGauge(name string, ps ...*metricspb.NumberDataPoint) *metricspb.Metric {
	return &metricspb.Metric{Name: name, Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: ps}}}
}

func mSum(name string, temp metricspb.AggregationTemporality, mono bool, ps ...*metricspb.NumberDataPoint) *metricspb.Metric {
	return &metricspb.Metric{Name: name, Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{DataPoints: ps, AggregationTemporality: temp, IsMonotonic: mono}}}
}

func mIntPoint(v int64) *metricspb.NumberDataPoint {
	return &metricspb.NumberDataPoint{TimeUnixNano: 1_700_000_000_000_000_000, Value: &metricspb.NumberDataPoint_AsInt{AsInt: v}}
}

// mCol returns the named column of rec.
func mCol(t *testing.T, rec arrow.RecordBatch, name string) arrow.Array {
	t.Helper()
	idx := rec.Schema().FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("column %s: found %d", name, len(idx))
	}
	return rec.Column(idx[0])
}

// wantNulls checks whether row i of each named column is null.
func wantNulls(t *testing.T, rec arrow.RecordBatch, i int, null bool, names ...string) {
	t.Helper()
	for _, n := range names {
		if got := mCol(t, rec, n).IsNull(i); got != null {
			t.Errorf("column %s row %d: null = %v, want %v", n, i, got, null)
		}
	}
}

func wantRows(t *testing.T, rec arrow.RecordBatch, want int64) {
	t.Helper()
	if got := rec.NumRows(); got != want {
		t.Fatalf("rows = %d, want %d", got, want)
	}
}

// wantListLen checks the length of row i of a list column.
func wantListLen(t *testing.T, rec arrow.RecordBatch, name string, i, want int) {
	t.Helper()
	l := mCol(t, rec, name).(*array.List)
	s, e := l.ValueOffsets(i)
	if got := int(e - s); got != want {
		t.Errorf("column %s row %d: %d items, want %d", name, i, got, want)
	}
}

func dictStr(t *testing.T, rec arrow.RecordBatch, name string, i int) string {
	t.Helper()
	s, err := newStrCol(recordCols(rec), name)
	if err != nil {
		t.Fatal(err)
	}
	return s.str(i)
}

// Columns that only one kind of point fills; null in the rows of others.
var (
	numberCols  = []string{"value_double", "value_int"}
	histCols    = []string{"bucket_counts", "explicit_bounds"}
	expHistCols = []string{"scale", "zero_count", "zero_threshold", "positive_offset", "positive_bucket_counts", "negative_offset", "negative_bucket_counts"}
)

func TestMetricsEdgeCases(t *testing.T) {
	tests := []struct {
		name  string
		in    []*metricspb.ResourceMetrics
		check func(t *testing.T, rec arrow.RecordBatch)
	}{
		{
			name: "histogram without buckets",
			in: mOneScope(&metricspb.Metric{Name: "h", Unit: "ms", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
				AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE,
				DataPoints:             []*metricspb.HistogramDataPoint{{Count: 0}, {Count: 3, Sum: f64p(0), Min: f64p(0), Max: f64p(2)}},
			}}}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantRows(t, rec, 2)
				if got, want := dictStr(t, rec, "metric_type", 0), "histogram"; got != want {
					t.Errorf("metric_type = %q, want %q", got, want)
				}
				wantNulls(t, rec, 0, true, "sum", "min", "max", "is_monotonic", "quantile_values")
				wantNulls(t, rec, 0, true, numberCols...)
				wantNulls(t, rec, 0, true, expHistCols...)
				wantNulls(t, rec, 0, false, "count", "bucket_counts", "explicit_bounds", "exemplars", "aggregation_temporality")
				wantNulls(t, rec, 1, false, "sum", "min", "max")
				wantListLen(t, rec, "bucket_counts", 0, 0)
				wantListLen(t, rec, "explicit_bounds", 0, 0)
			},
		},
		{
			name: "summary without quantiles, sum -0",
			in: mOneScope(&metricspb.Metric{Name: "s", Data: &metricspb.Metric_Summary{Summary: &metricspb.Summary{
				DataPoints: []*metricspb.SummaryDataPoint{{Count: 1, Sum: math.Copysign(0, -1)}, {Count: 2, Sum: 5, QuantileValues: []*metricspb.SummaryDataPoint_ValueAtQuantile{{Quantile: 0.5, Value: 2}, {Quantile: 1}}}},
			}}}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantRows(t, rec, 2)
				if got := mCol(t, rec, "sum").(*array.Float64).Value(0); !math.Signbit(got) {
					t.Errorf("sum = %v, want -0", got)
				}
				wantNulls(t, rec, 0, false, "count", "sum", "quantile_values")
				wantNulls(t, rec, 0, true, "exemplars", "aggregation_temporality", "is_monotonic", "min", "max")
				wantNulls(t, rec, 0, true, histCols...)
				wantListLen(t, rec, "quantile_values", 0, 0)
				wantListLen(t, rec, "quantile_values", 1, 2)
			},
		},
		{
			name: "gauge with int, double and unset values",
			in: mOneScope(mGauge("g", mIntPoint(-7),
				&metricspb.NumberDataPoint{Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: 0}},
				&metricspb.NumberDataPoint{Attributes: []*commonpb.KeyValue{mInt("n", 1), mStr("k", "v")}},
			)),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantRows(t, rec, 3)
				wantNulls(t, rec, 0, false, "value_int")
				wantNulls(t, rec, 0, true, "value_double", "aggregation_temporality", "is_monotonic", "count", "sum")
				wantNulls(t, rec, 1, false, "value_double")
				wantNulls(t, rec, 1, true, "value_int")
				wantNulls(t, rec, 2, true, "value_int", "value_double")
				if got, want := mCol(t, rec, "value_int").(*array.Int64).Value(0), int64(-7); got != want {
					t.Errorf("value_int = %d, want %d", got, want)
				}
			},
		},
		{
			// pdata cannot tell absent buckets from empty ones: both are
			// stored as an offset of 0 and an empty list.
			name: "exponential histogram with nil negative and empty positive buckets",
			in: mOneScope(&metricspb.Metric{Name: "e", Data: &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: &metricspb.ExponentialHistogram{
				AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA,
				DataPoints: []*metricspb.ExponentialHistogramDataPoint{
					{Count: 1, Scale: -3, Positive: &metricspb.ExponentialHistogramDataPoint_Buckets{}},
					{Count: 4, Scale: 20, ZeroCount: 1, ZeroThreshold: 1e-9, Sum: f64p(-1),
						Positive: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: -5, BucketCounts: []uint64{1, 0, 2}},
						Negative: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: 3, BucketCounts: []uint64{1}}},
				},
			}}}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantRows(t, rec, 2)
				wantNulls(t, rec, 0, true, "sum", "min", "max")
				wantNulls(t, rec, 0, false, "positive_offset", "positive_bucket_counts", "negative_offset", "negative_bucket_counts",
					"scale", "zero_count", "zero_threshold")
				wantListLen(t, rec, "negative_bucket_counts", 0, 0)
				wantNulls(t, rec, 0, true, histCols...)
				wantListLen(t, rec, "positive_bucket_counts", 0, 0)
				wantListLen(t, rec, "positive_bucket_counts", 1, 3)
				if got, want := mCol(t, rec, "positive_offset").(*array.Int32).Value(1), int32(-5); got != want {
					t.Errorf("positive_offset = %d, want %d", got, want)
				}
			},
		},
		{
			name: "exemplars without ids or value",
			in: mOneScope(mSum("c", metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, true, &metricspb.NumberDataPoint{
				Value: &metricspb.NumberDataPoint_AsInt{AsInt: 3},
				Exemplars: []*metricspb.Exemplar{
					{Value: &metricspb.Exemplar_AsInt{AsInt: 3}, FilteredAttributes: []*commonpb.KeyValue{mStr("user", "u1")}},
					{},
					{TimeUnixNano: 5, SpanId: []byte("01234567"), TraceId: []byte("0123456789abcdef"), Value: &metricspb.Exemplar_AsDouble{AsDouble: 2.5}},
				},
			})),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantRows(t, rec, 1)
				wantListLen(t, rec, "exemplars", 0, 3)
				st := mCol(t, rec, "exemplars").(*array.List).ListValues().(*array.Struct)
				ex := structCols(st)
				for _, c := range []string{"span_id", "trace_id", "time", "value_double"} {
					if !ex.get(c).IsNull(0) {
						t.Errorf("exemplar 0 %s not null", c)
					}
				}
				for _, c := range []string{"span_id", "trace_id", "time", "value_double", "value_int"} {
					if !ex.get(c).IsNull(1) {
						t.Errorf("exemplar 1 %s not null", c)
					}
				}
				if got, want := mCol(t, rec, "is_monotonic").(*array.Boolean).Value(0), true; got != want {
					t.Errorf("is_monotonic = %v, want %v", got, want)
				}
			},
		},
		{
			name: "zero timestamps",
			in:   mOneScope(mGauge("z", &metricspb.NumberDataPoint{Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: 1}, Exemplars: []*metricspb.Exemplar{{}}})),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantNulls(t, rec, 0, true, "start_time", "time")
			},
		},
		{
			name: "equal descriptions merge, others do not",
			in: mOneScope(
				mSum("c", metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA, true, mIntPoint(1)),
				mGauge("c", mIntPoint(2)),
				mSum("c", metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, true, mIntPoint(3)),
				mSum("c", metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA, false, mIntPoint(4)),
				mSum("c", metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA, true, mIntPoint(5)),
				&metricspb.Metric{Name: "c", Metadata: []*commonpb.KeyValue{mStr("m", "1")}, Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: []*metricspb.NumberDataPoint{mIntPoint(6)}}}},
				&metricspb.Metric{Name: "c", Metadata: []*commonpb.KeyValue{mStr("m", "1")}, Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: []*metricspb.NumberDataPoint{mIntPoint(7)}}}},
			),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantRows(t, rec, 7)
				m := mCol(t, rec, "metric_metadata_str")
				wantNulls(t, rec, 0, true, "metric_metadata_str")
				if !m.IsValid(5) {
					t.Errorf("metric_metadata_str row 5 is null")
				}
			},
		},
		{
			name: "metrics without points add no rows",
			in: append(mOneScope(
				&metricspb.Metric{Name: "nodata"},
				mGauge("nopoints"),
				&metricspb.Metric{Name: "nilmsg", Data: &metricspb.Metric_Summary{}},
			), &metricspb.ResourceMetrics{ScopeMetrics: []*metricspb.ScopeMetrics{{Metrics: []*metricspb.Metric{mGauge("x", mIntPoint(1))}}}}),
			check: func(t *testing.T, rec arrow.RecordBatch) {
				wantRows(t, rec, 1)
				if got := mCol(t, rec, "service_name").IsNull(0); !got {
					t.Errorf("service_name not null for a resource without one")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { metricsRoundTrip(t, tt.in, tt.check) })
	}
}

func TestNormalizeMetricsMerge(t *testing.T) {
	delta := metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA
	meta := []*commonpb.KeyValue{mInt("i", 1), mStr("s", "x")}
	in := mOneScope(
		mSum("c", delta, true, mIntPoint(1)),
		mGauge("c", mIntPoint(2)),
		&metricspb.Metric{Name: "c", Metadata: meta, Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: []*metricspb.NumberDataPoint{mIntPoint(3)}}}},
		mSum("c", delta, false, mIntPoint(4)),
		mGauge("empty"),
		mSum("c", delta, true, mIntPoint(5)),
		mGauge("c", mIntPoint(6)),
	)
	want := mOneScope(
		mSum("c", delta, true, mIntPoint(1), mIntPoint(5)),
		mGauge("c", mIntPoint(2), mIntPoint(6)),
		&metricspb.Metric{Name: "c", Metadata: []*commonpb.KeyValue{mStr("s", "x"), mInt("i", 1)}, Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: []*metricspb.NumberDataPoint{mIntPoint(3)}}}},
		mSum("c", delta, false, mIntPoint(4)),
	)
	got := NormalizeMetrics(in)
	if len(got) != 1 || !proto.Equal(got[0], want[0]) {
		t.Fatalf("normalized\n%s", diffMsg(want[0], got[0]))
	}
	if n := len(in[0].ScopeMetrics[0].Metrics); n != 7 {
		t.Fatalf("input modified: %d metrics", n)
	}
	metricsRoundTrip(t, in, nil)
}

func TestMetricsInvalidIDs(t *testing.T) {
	tests := []struct {
		name string
		ex   *metricspb.Exemplar
	}{
		{"short span id", &metricspb.Exemplar{SpanId: []byte{1, 2, 3}}},
		{"long trace id", &metricspb.Exemplar{TraceId: make([]byte, 17)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			in := mOneScope(mGauge("ok", mIntPoint(1)), mGauge("bad", &metricspb.NumberDataPoint{Exemplars: []*metricspb.Exemplar{tt.ex}}))
			rec, err := MetricsToArrow(mem, in)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if rec != nil {
				rec.Release()
				t.Fatalf("got a batch")
			}
		})
	}
}

// TestResourceMetricsInvalidUTF8 checks that every string the metrics
// conversion appends is checked to be UTF-8, which pdata's decoder does not
// check: the request is refused naming the field, and the pooled builder
// releases what it had appended.
func TestResourceMetricsInvalidUTF8(t *testing.T) {
	const bad = "caf\xe9"
	tests := []struct {
		name string
		set  func(m pmetric.Metric)
		want string
	}{
		{"name", func(m pmetric.Metric) { m.SetName(bad) }, "metric name contains invalid UTF-8"},
		{"description", func(m pmetric.Metric) { m.SetDescription(bad) }, "metric description contains invalid UTF-8"},
		{"unit", func(m pmetric.Metric) { m.SetUnit(bad) }, "metric unit contains invalid UTF-8"},
		{"metadata key", func(m pmetric.Metric) { m.Metadata().PutStr(bad, "v") }, "attribute key contains invalid UTF-8"},
		{"point attribute", func(m pmetric.Metric) { m.Sum().DataPoints().At(0).Attributes().PutStr("k", bad) }, `attribute "k" contains invalid UTF-8`},
		{"exemplar attribute", func(m pmetric.Metric) {
			m.Sum().DataPoints().At(0).Exemplars().AppendEmpty().FilteredAttributes().PutStr("e", bad)
		}, `exemplar: schema: invalid data: attribute "e" contains invalid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			rm := pmetric.NewResourceMetrics()
			ms := rm.ScopeMetrics().AppendEmpty().Metrics()
			ok := ms.AppendEmpty()
			ok.SetName("ok")
			ok.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(1)
			m := ms.AppendEmpty()
			m.SetName("m")
			m.SetEmptySum().DataPoints().AppendEmpty().SetDoubleValue(2)
			tt.set(m)
			rec, err := ResourceMetricsToArrow(mem, []pmetric.ResourceMetrics{rm})
			if rec != nil {
				rec.Release()
				t.Fatalf("got a batch")
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalid saying %q", err, tt.want)
			}
		})
	}
}

// TestMetricsFromSubset reads a batch holding only a few columns, as a
// producer other than MetricsToArrow might write it.
func TestMetricsFromSubset(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "metric_name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "metric_type", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "value_int", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(mem, sc)
	defer rb.Release()
	rb.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "a", "b"}, nil)
	rb.Field(1).(*array.StringBuilder).AppendValues([]string{"gauge", "gauge", "summary"}, nil)
	rb.Field(2).(*array.Int64Builder).AppendValues([]int64{1, 2, 0}, []bool{true, true, false})
	rec := rb.NewRecordBatch()
	defer rec.Release()
	got, err := MetricsFromArrow([]arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	asInt := func(v int64) *metricspb.NumberDataPoint {
		return &metricspb.NumberDataPoint{Value: &metricspb.NumberDataPoint_AsInt{AsInt: v}}
	}
	want := &metricspb.ResourceMetrics{Resource: &resourcepb.Resource{}, ScopeMetrics: []*metricspb.ScopeMetrics{{
		Scope: &commonpb.InstrumentationScope{},
		Metrics: []*metricspb.Metric{
			mGauge("a", asInt(1), asInt(2)),
			{Name: "b", Data: &metricspb.Metric_Summary{Summary: &metricspb.Summary{DataPoints: []*metricspb.SummaryDataPoint{{}}}}},
		},
	}}}
	if len(got) != 1 || !proto.Equal(got[0], want) {
		t.Fatalf("got %d resources\n%s", len(got), diffMsg(want, got[0]))
	}
}

func TestMetricsBadType(t *testing.T) {
	for _, typ := range []string{"bogus", ""} {
		t.Run(typ, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			sc := arrow.NewSchema([]arrow.Field{{Name: "metric_type", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
			rb := array.NewRecordBuilder(mem, sc)
			defer rb.Release()
			rb.Field(0).(*array.StringBuilder).Append(typ)
			rec := rb.NewRecordBatch()
			defer rec.Release()
			if _, err := MetricsFromArrow([]arrow.RecordBatch{rec}); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
	sc := arrow.NewSchema([]arrow.Field{{Name: "metric_type", Type: arrow.PrimitiveTypes.Int32, Nullable: true}}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer rb.Release()
	rb.Field(0).(*array.Int32Builder).Append(1)
	rec := rb.NewRecordBatch()
	defer rec.Release()
	if _, err := MetricsFromArrow([]arrow.RecordBatch{rec}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("int metric_type: err = %v, want ErrInvalid", err)
	}
}

// benchMetrics is a realistic export request: three resources with two
// scopes each, every metric type, 5 to 10 attributes per point.
func benchMetrics() []*metricspb.ResourceMetrics {
	routes := []string{"/api/cart", "/api/checkout", "/api/items/{id}", "/healthz"}
	methods := []string{"GET", "POST", "PUT"}
	t0 := uint64(1_700_000_000_000_000_000)
	pointAttrs := func(i int) []*commonpb.KeyValue {
		kvs := []*commonpb.KeyValue{
			mStr("http.request.method", methods[i%len(methods)]),
			mStr("http.route", routes[i%len(routes)]),
			mInt("http.response.status_code", int64(200+100*(i%4))),
			mStr("server.address", "checkout.svc.cluster.local"),
			mStr("network.protocol.version", "1.1"),
		}
		if i%2 == 0 {
			kvs = append(kvs, mStr("url.scheme", "https"), mInt("server.port", 8443), mStr("client.region", "eu-west-1"),
				&commonpb.KeyValue{Key: "sampled", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}})
		}
		return kvs
	}
	exemplar := func(i int) []*metricspb.Exemplar {
		return []*metricspb.Exemplar{{
			TimeUnixNano: t0 + uint64(i), Value: &metricspb.Exemplar_AsDouble{AsDouble: float64(i) * 1.5},
			SpanId: []byte{1, 2, 3, 4, 5, 6, 7, byte(i)}, TraceId: []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, byte(i)},
		}}
	}
	var rms []*metricspb.ResourceMetrics
	for r := range 3 {
		res := &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			mStr(ServiceNameKey, fmt.Sprintf("svc-%d", r)), mStr("service.version", "1.4.2"),
			mStr("host.name", fmt.Sprintf("node-%d", r)), mStr("k8s.namespace.name", "shop"),
			mStr("k8s.pod.name", fmt.Sprintf("svc-%d-7f9c-abcde", r)), mStr("telemetry.sdk.language", "go"),
		}}
		rm := &metricspb.ResourceMetrics{Resource: res, SchemaUrl: "https://opentelemetry.io/schemas/1.26.0"}
		for s := range 2 {
			sm := &metricspb.ScopeMetrics{Scope: &commonpb.InstrumentationScope{Name: fmt.Sprintf("go.opentelemetry.io/contrib/%d", s), Version: "0.60.0"}}
			for m := range 4 {
				var gps, sps []*metricspb.NumberDataPoint
				for i := range 20 {
					gps = append(gps, &metricspb.NumberDataPoint{Attributes: pointAttrs(i), TimeUnixNano: t0 + uint64(i), Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: float64(i) / 3}})
					sps = append(sps, &metricspb.NumberDataPoint{Attributes: pointAttrs(i), StartTimeUnixNano: t0, TimeUnixNano: t0 + uint64(i), Value: &metricspb.NumberDataPoint_AsInt{AsInt: int64(i * 100)}, Exemplars: exemplar(i)})
				}
				sm.Metrics = append(sm.Metrics,
					&metricspb.Metric{Name: fmt.Sprintf("process.memory.usage.%d", m), Unit: "By", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: gps}}},
					&metricspb.Metric{Name: fmt.Sprintf("http.server.requests.%d", m), Unit: "{request}", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{DataPoints: sps, IsMonotonic: true, AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE}}},
				)
			}
			bounds := []float64{0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000}
			for m := range 2 {
				var hps []*metricspb.HistogramDataPoint
				for i := range 20 {
					counts := make([]uint64, len(bounds)+1)
					for j := range counts {
						counts[j] = uint64(i * j)
					}
					hps = append(hps, &metricspb.HistogramDataPoint{Attributes: pointAttrs(i), StartTimeUnixNano: t0, TimeUnixNano: t0 + uint64(i), Count: uint64(i * 120), Sum: f64p(float64(i) * 812.5), Min: f64p(0.2), Max: f64p(9000), BucketCounts: counts, ExplicitBounds: bounds, Exemplars: exemplar(i)})
				}
				sm.Metrics = append(sm.Metrics, &metricspb.Metric{Name: fmt.Sprintf("http.server.request.duration.%d", m), Unit: "ms", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{DataPoints: hps, AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE}}})
			}
			var eps []*metricspb.ExponentialHistogramDataPoint
			var qps []*metricspb.SummaryDataPoint
			for i := range 10 {
				pos := make([]uint64, 20)
				for j := range pos {
					pos[j] = uint64(i + j)
				}
				eps = append(eps, &metricspb.ExponentialHistogramDataPoint{Attributes: pointAttrs(i), StartTimeUnixNano: t0, TimeUnixNano: t0 + uint64(i), Count: 400, Sum: f64p(1234.5), Scale: 3, ZeroCount: 1,
					Positive: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: 10, BucketCounts: pos}, Negative: &metricspb.ExponentialHistogramDataPoint_Buckets{}})
				qps = append(qps, &metricspb.SummaryDataPoint{Attributes: pointAttrs(i), StartTimeUnixNano: t0, TimeUnixNano: t0 + uint64(i), Count: 50, Sum: 420,
					QuantileValues: []*metricspb.SummaryDataPoint_ValueAtQuantile{{Quantile: 0, Value: 1}, {Quantile: 0.5, Value: 8}, {Quantile: 0.99, Value: 40}, {Quantile: 1, Value: 52}}})
			}
			sm.Metrics = append(sm.Metrics,
				&metricspb.Metric{Name: "rpc.duration", Unit: "s", Data: &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: &metricspb.ExponentialHistogram{DataPoints: eps, AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA}}},
				&metricspb.Metric{Name: "gc.pause", Unit: "ms", Data: &metricspb.Metric_Summary{Summary: &metricspb.Summary{DataPoints: qps}}},
			)
			rm.ScopeMetrics = append(rm.ScopeMetrics, sm)
		}
		rms = append(rms, rm)
	}
	return rms
}

// zstdBytesPerRow is the size of rec as a zstd IPC stream divided by its rows.
func zstdBytesPerRow(b *testing.B, rec arrow.RecordBatch) float64 {
	b.Helper()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()), ipc.WithZstd())
	if err := w.Write(rec); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return float64(buf.Len()) / float64(rec.NumRows())
}

func BenchmarkMetricsToArrow(b *testing.B) {
	in := benchMetrics()
	rec, err := MetricsToArrow(memory.DefaultAllocator, in)
	if err != nil {
		b.Fatal(err)
	}
	rows := rec.NumRows()
	perRow := zstdBytesPerRow(b, rec)
	rec.Release()
	b.ResetTimer()
	for b.Loop() {
		rec, err := MetricsToArrow(memory.DefaultAllocator, in)
		if err != nil {
			b.Fatal(err)
		}
		rec.Release()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(perRow, "bytes/row")
}

func BenchmarkMetricsFromArrow(b *testing.B) {
	rec, err := MetricsToArrow(memory.DefaultAllocator, benchMetrics())
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Release()
	rows := rec.NumRows()
	perRow := zstdBytesPerRow(b, rec)
	recs := []arrow.RecordBatch{rec}
	b.ResetTimer()
	for b.Loop() {
		if _, err := MetricsFromArrow(recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(perRow, "bytes/row")
}
