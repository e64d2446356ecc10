package writer

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func anyAttr(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

// mixedAttrs holds a value of every kind, including the ones stored as JSON.
func mixedAttrs(i int) []*commonpb.KeyValue {
	return []*commonpb.KeyValue{
		strAttr("s", "v"+strings.Repeat("x", i)),
		anyAttr("i", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: math.MinInt64 + int64(i)}}),
		anyAttr("d", &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: math.Inf(-1)}}),
		anyAttr("b", &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: i%2 == 0}}),
		anyAttr("y", &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{0, byte(i), 255}}}),
		anyAttr("a", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{
			{Value: &commonpb.AnyValue_StringValue{StringValue: "é"}}, {}}}}}),
		{Key: "nil"},
	}
}

func resourceOf(service string) *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{strAttr("service.name", service), strAttr("host.name", "h1")}, DroppedAttributesCount: 2}
}

func richSpans(service string, n int, seed byte) []*tracepb.ResourceSpans {
	rss := spans(service, n, seed)
	rss[0].Resource = resourceOf(service)
	rss[0].SchemaUrl = "https://opentelemetry.io/schemas/1.30.0"
	for i, s := range rss[0].ScopeSpans[0].Spans {
		s.Attributes = mixedAttrs(i)
		s.TraceState = "k=v"
		s.DroppedEventsCount = uint32(i)
		s.Events = []*tracepb.Span_Event{{TimeUnixNano: 5, Name: "exception", Attributes: mixedAttrs(i + 1)}, {Name: "empty"}}
		s.Links = []*tracepb.Span_Link{{TraceId: s.TraceId, SpanId: s.SpanId, Attributes: mixedAttrs(0), Flags: 0x301}}
		if i%2 == 1 {
			s.ParentSpanId = []byte{1, 2, 3, 4, 5, 6, 7, byte(i)}
			s.Status = nil
		}
	}
	return rss
}

func richMetrics(service string) []*metricspb.ResourceMetrics {
	dp := func(v float64) *metricspb.NumberDataPoint {
		return &metricspb.NumberDataPoint{Attributes: mixedAttrs(1), StartTimeUnixNano: 1, TimeUnixNano: 2,
			Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: v},
			Exemplars: []*metricspb.Exemplar{{TimeUnixNano: 3, Value: &metricspb.Exemplar_AsInt{AsInt: 7},
				SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, TraceId: []byte("0123456789abcdef"), FilteredAttributes: mixedAttrs(2)}}}
	}
	sum, min, max := 10.5, -1.0, 9.0
	return []*metricspb.ResourceMetrics{{
		Resource: resourceOf(service),
		ScopeMetrics: []*metricspb.ScopeMetrics{{
			Scope: &commonpb.InstrumentationScope{Name: "m", Version: "2", Attributes: mixedAttrs(3)},
			Metrics: []*metricspb.Metric{
				{Name: "g", Unit: "1", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: []*metricspb.NumberDataPoint{dp(1.5), dp(math.Inf(1))}}}},
				{Name: "s", Description: "d", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{IsMonotonic: true,
					AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE,
					DataPoints:             []*metricspb.NumberDataPoint{{TimeUnixNano: 4, Value: &metricspb.NumberDataPoint_AsInt{AsInt: -3}}}}}},
				{Name: "h", Metadata: mixedAttrs(4), Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
					AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA,
					DataPoints: []*metricspb.HistogramDataPoint{{TimeUnixNano: 5, Count: 3, Sum: &sum, Min: &min, Max: &max,
						BucketCounts: []uint64{1, 0, 2}, ExplicitBounds: []float64{0, 5}}, {TimeUnixNano: 6}}}}},
				{Name: "e", Data: &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: &metricspb.ExponentialHistogram{
					DataPoints: []*metricspb.ExponentialHistogramDataPoint{{TimeUnixNano: 7, Count: 4, Scale: -2, ZeroCount: 1, ZeroThreshold: 1e-9,
						Positive: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: -1, BucketCounts: []uint64{1, 2}}}}}}},
				{Name: "q", Data: &metricspb.Metric_Summary{Summary: &metricspb.Summary{DataPoints: []*metricspb.SummaryDataPoint{{
					TimeUnixNano: 8, Count: 2, Sum: 3, QuantileValues: []*metricspb.SummaryDataPoint_ValueAtQuantile{{Quantile: 0.5, Value: 1}, {Quantile: 1, Value: 2}}}}}}},
			},
		}},
	}}
}

func richLogs(service string, n int) []*logspb.ResourceLogs {
	rl := &logspb.ResourceLogs{Resource: resourceOf(service), ScopeLogs: []*logspb.ScopeLogs{{Scope: &commonpb.InstrumentationScope{Name: "l"}}}}
	for i := range n {
		lr := &logspb.LogRecord{TimeUnixNano: uint64(100 + i), ObservedTimeUnixNano: 200, SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_ERROR,
			SeverityText: "ERROR", Attributes: mixedAttrs(i), Flags: 1, EventName: "ev"}
		switch i % 3 {
		case 0:
			lr.Body = &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "line " + strings.Repeat("é", i)}}
			lr.TraceId, lr.SpanId = []byte("0123456789abcdef"), []byte("01234567")
		case 1:
			lr.Body = &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: mixedAttrs(i)}}}
		}
		rl.ScopeLogs[0].LogRecords = append(rl.ScopeLogs[0].LogRecords, lr)
	}
	return []*logspb.ResourceLogs{rl}
}

func publishRecord(t *testing.T, js jetstream.Publisher, sig schema.Signal, svc string, rows int, rec arrow.RecordBatch, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	payloads, err := payload.Encode([]arrow.RecordBatch{rec}, 1<<20)
	rec.Release()
	if err != nil || len(payloads) != 1 {
		t.Fatalf("encode: %d payloads, %v", len(payloads), err)
	}
	if _, err := bus.Publish(context.Background(), js, bus.Message{Signal: sig, Services: []string{svc}, Source: "test", Rows: rows, Payload: payloads[0]}); err != nil {
		t.Fatal(err)
	}
}

// readParquet reads every finished Parquet file of sig, in name order, with
// the Arrow reader of another code path than the writer's, and checks the
// files carry the signal's schema.
func readParquet(t *testing.T, cfg Config, sig schema.Signal) []arrow.RecordBatch {
	t.Helper()
	var recs []arrow.RecordBatch
	names := finished(t, cfg, sig)
	if len(names) == 0 {
		t.Fatalf("no %s files", sig)
	}
	for _, name := range names {
		if filepath.Ext(name) != ".parquet" {
			t.Fatalf("file %s: want .parquet", name)
		}
		recs = append(recs, parquetRecords(t, filepath.Join(cfg.OutputDir, "otlp", string(sig), name))...)
		got := recs[len(recs)-1].Schema()
		want := schema.Schema(sig)
		if got.NumFields() != want.NumFields() {
			t.Fatalf("%s: %d columns, want %d", name, got.NumFields(), want.NumFields())
		}
		for i := range got.NumFields() {
			if got.Field(i).Name != want.Field(i).Name || !arrow.TypeEqual(got.Field(i).Type, want.Field(i).Type) {
				t.Fatalf("%s: column %d is %s %s, want %s %s", name, i, got.Field(i).Name, got.Field(i).Type, want.Field(i).Name, want.Field(i).Type)
			}
		}
	}
	return recs
}

// parquetRecords reads one Parquet file with the Arrow reader, a code path
// apart from the writer's, and releases the records at the test's end.
func parquetRecords(t *testing.T, path string) []arrow.RecordBatch {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 1<<16)
	defer tr.Release()
	var recs []arrow.RecordBatch
	for tr.Next() {
		rec := tr.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	t.Cleanup(func() {
		for _, r := range recs {
			r.Release()
		}
	})
	return recs
}

// TestParquetRealSchemas writes every signal in Parquet and reads the files
// back into OTLP, field by field.
func TestParquetRealSchemas(t *testing.T) {
	js := runBus(t)
	cfg := testConfig(t, "w1")
	cfg.Format = "parquet"
	mem := memory.DefaultAllocator
	var wantT []*tracepb.ResourceSpans
	var wantM []*metricspb.ResourceMetrics
	var wantL []*logspb.ResourceLogs
	for i, svc := range []string{"checkout", "cart", "ads"} {
		rss := richSpans(svc, 3+i, byte(i+1))
		wantT = append(wantT, proto.Clone(rss[0]).(*tracepb.ResourceSpans))
		rec, err := schema.TracesToArrow(mem, rss)
		publishRecord(t, js, schema.Traces, svc, 3+i, rec, err)

		rms := richMetrics(svc)
		wantM = append(wantM, proto.Clone(rms[0]).(*metricspb.ResourceMetrics))
		rec, err = schema.MetricsToArrow(mem, rms)
		publishRecord(t, js, schema.Metrics, svc, int(rec.NumRows()), rec, err)

		rls := richLogs(svc, 4+i)
		wantL = append(wantL, proto.Clone(rls[0]).(*logspb.ResourceLogs))
		rec, err = schema.LogsToArrow(mem, rls)
		publishRecord(t, js, schema.Logs, svc, 4+i, rec, err)
	}
	r := start(t, cfg, js, nil)
	drain(t, js, cfg.Signals, r.w)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}

	gotT, err := schema.TracesFromArrow(readParquet(t, cfg, schema.Traces))
	if err != nil {
		t.Fatal(err)
	}
	equalProtos(t, "traces", gotT, schema.NormalizeTraces(wantT))
	gotM, err := schema.MetricsFromArrow(readParquet(t, cfg, schema.Metrics))
	if err != nil {
		t.Fatal(err)
	}
	equalProtos(t, "metrics", gotM, schema.NormalizeMetrics(wantM))
	gotL, err := schema.LogsFromArrow(readParquet(t, cfg, schema.Logs))
	if err != nil {
		t.Fatal(err)
	}
	equalProtos(t, "logs", gotL, schema.NormalizeLogs(wantL))
}

func equalProtos[M proto.Message](t *testing.T, what string, got, want []M) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d resources, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("%s: resource %d:\n got %v\nwant %v", what, i, got[i], want[i])
		}
	}
}

// readParquetTestRows reads the rows of one Parquet file of testSchema.
func readParquetTestRows(t *testing.T, path string) []row {
	t.Helper()
	var out []row
	for _, rec := range parquetRecords(t, path) {
		out = appendRows(out, rec)
	}
	return out
}

// TestParquetRecoveryAfterCrash kills the writer between the journal commit
// of a Parquet file and its rename: the restarted writer finishes the
// .partial files (cutting a torn tail), acknowledges the redelivered
// messages without writing them again, and loses no row.
func TestParquetRecoveryAfterCrash(t *testing.T) {
	js := runBus(t)
	cfg := testConfig(t, "w1")
	cfg.Format = "parquet"
	cfg.Signals = []schema.Signal{schema.Traces}
	want, unacked := crashAfterJournal(t, cfg, js)
	dir := filepath.Join(cfg.OutputDir, "otlp", "traces")
	partials := files(t, cfg, schema.Traces)
	for _, n := range partials {
		if !strings.HasSuffix(n, ".parquet.partial") {
			t.Fatalf("files after crash = %v, want only .parquet.partial", partials)
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, partials[0]), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("torn")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	unacked.nakAll(t)

	restarted := start(t, cfg, js, nil)
	drain(t, js, cfg.Signals, restarted.w)
	if err := restarted.stop(t); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(restarted.w.metrics.RowsWritten.WithLabelValues("traces")); got != 0 {
		t.Fatalf("rows written by the restarted writer = %v, want 0 (all were journaled)", got)
	}
	var got []row
	names := finished(t, cfg, schema.Traces)
	if len(names) != len(partials) {
		t.Fatalf("files = %v, want the %d recovered", names, len(partials))
	}
	for _, n := range names {
		got = append(got, readParquetTestRows(t, filepath.Join(dir, n))...)
	}
	equalRows(t, got, want)
}
