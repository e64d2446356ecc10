package ingest

import (
	"context"
	"github.com/otlp-arrow/otlp-arrow/proto/otlpstatus"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// The fuzz targets run requests through the whole ingest path (decoding,
// limits, conversion to Arrow, payload encoding, bus messages) into a sink
// that reads every message back as a consumer would. The sink stands in for
// JetStream only to keep the fuzzer fast; the other tests use a real one.

// sinkPublisher acknowledges every message after checking that it decodes
// back to OTLP with the row count its header announces.
type sinkPublisher struct {
	jetstream.Publisher // nil: only the methods below are called
	t                   testing.TB
	mu                  sync.Mutex
	seq                 uint64
}

func (p *sinkPublisher) check(msg *nats.Msg) *jetstream.PubAck {
	m, err := bus.ParseMessage(msg.Subject, msg.Header, msg.Data)
	if err != nil {
		p.t.Fatalf("published message does not parse: %v", err)
	}
	_, recs, err := payload.Decode(msg.Data, nil)
	if err != nil {
		p.t.Fatalf("published payload does not decode: %v", err)
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	rows := 0
	switch m.Signal {
	case schema.Traces:
		rss, err := schema.TracesFromArrow(recs)
		if err != nil {
			p.t.Fatalf("traces from arrow: %v", err)
		}
		for _, rs := range rss {
			for _, ss := range rs.GetScopeSpans() {
				rows += len(ss.GetSpans())
			}
		}
	case schema.Metrics:
		rms, err := schema.MetricsFromArrow(recs)
		if err != nil {
			p.t.Fatalf("metrics from arrow: %v", err)
		}
		for _, rm := range rms {
			rows += int(schema.CountDataPoints(rm))
		}
	case schema.Logs:
		rls, err := schema.LogsFromArrow(recs)
		if err != nil {
			p.t.Fatalf("logs from arrow: %v", err)
		}
		for _, rl := range rls {
			for _, sl := range rl.GetScopeLogs() {
				rows += len(sl.GetLogRecords())
			}
		}
	}
	if rows != m.Rows {
		p.t.Fatalf("payload holds %d rows, header says %d", rows, m.Rows)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	return &jetstream.PubAck{Stream: bus.StreamName(m.Signal), Sequence: p.seq}
}

func (p *sinkPublisher) PublishMsg(_ context.Context, msg *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	return p.check(msg), nil
}

func (p *sinkPublisher) PublishMsgAsync(msg *nats.Msg, _ ...jetstream.PublishOpt) (jetstream.PubAckFuture, error) {
	ok := make(chan *jetstream.PubAck, 1)
	ok <- p.check(msg)
	return ackedFuture{ok: ok, msg: msg}, nil
}

// ackedFuture is an already acknowledged publish.
type ackedFuture struct {
	ok  chan *jetstream.PubAck
	msg *nats.Msg
}

func (f ackedFuture) Ok() <-chan *jetstream.PubAck { return f.ok }
func (f ackedFuture) Err() <-chan error            { return nil }
func (f ackedFuture) Msg() *nats.Msg               { return f.msg }

// fuzzReceiver is an HTTP receiver on a sink, with small limits so that
// truncation, dropping and payload splitting are reached by small inputs.
func fuzzReceiver(f *testing.F) (*httpReceiver, *sinkPublisher) {
	sink := &sinkPublisher{t: f}
	cfg := DefaultConfig()
	cfg.MaxAttributes = 4
	cfg.MaxAttributeValueLength = 16
	cfg.MaxPayloadBytes = 4 << 10
	pub, err := NewPublisher(sink, cfg, nil)
	if err != nil {
		f.Fatal(err)
	}
	return &httpReceiver{pub: pub}, sink
}

// fuzzSeeds are valid requests of each signal, in protobuf: index i is
// signal i%3 (traces, metrics, logs).
func fuzzSeeds(f *testing.F) [][]byte {
	rich := resourceSpans("seed", 2, nil, 40)
	sp := rich.ScopeSpans[0].Spans[0]
	sp.Attributes = append(sp.Attributes,
		&commonpb.KeyValue{Key: "arr", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{
			Values: []*commonpb.AnyValue{strValue("a"), {Value: &commonpb.AnyValue_IntValue{IntValue: 7}}}}}}},
		&commonpb.KeyValue{Key: "kv", Value: nestedValue(4)},
		&commonpb.KeyValue{Key: "b", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte("0123456789abcdefXYZ")}}},
		&commonpb.KeyValue{Key: "d", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 1.5}}},
	)
	sp.Events = []*tracepb.Span_Event{{Name: "ev", TimeUnixNano: 5, Attributes: sp.Attributes[:2]}}
	sp.Links = []*tracepb.Span_Link{{TraceId: sp.TraceId, SpanId: sp.SpanId, TraceState: "a=b"}}
	sp.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "boom"}

	hist := metricRequest("seed-h")
	hist.ResourceMetrics[0].ScopeMetrics[0].Metrics = append(hist.ResourceMetrics[0].ScopeMetrics[0].Metrics,
		&metricspb.Metric{Name: "h", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
			AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA,
			DataPoints: []*metricspb.HistogramDataPoint{{Count: 3, BucketCounts: []uint64{1, 2}, ExplicitBounds: []float64{1},
				Exemplars: []*metricspb.Exemplar{{TimeUnixNano: 1, Value: &metricspb.Exemplar_AsInt{AsInt: 3}}}}}}}},
		&metricspb.Metric{Name: "e", Data: &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: &metricspb.ExponentialHistogram{
			DataPoints: []*metricspb.ExponentialHistogramDataPoint{{Count: 2, Scale: 1, Positive: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: -1, BucketCounts: []uint64{1, 1}}}}}}},
		&metricspb.Metric{Name: "s", Data: &metricspb.Metric_Summary{Summary: &metricspb.Summary{
			DataPoints: []*metricspb.SummaryDataPoint{{Count: 1, Sum: 2, QuantileValues: []*metricspb.SummaryDataPoint_ValueAtQuantile{{Quantile: 0.5, Value: 2}}}}}}},
		&metricspb.Metric{Name: "c", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{IsMonotonic: true,
			DataPoints: []*metricspb.NumberDataPoint{{Value: &metricspb.NumberDataPoint_AsInt{AsInt: 9}}}}}},
	)
	logs := logRequest("seed-l")
	logs.ResourceLogs[0].ScopeLogs[0].LogRecords[0].Body = nestedValue(3)
	return [][]byte{
		mustMarshal(f, traceRequest(rich)), mustMarshal(f, hist), mustMarshal(f, logs),
		mustMarshal(f, traceRequest(resourceSpans("a", 1, nil, 0), resourceSpans("b", 1, nil, 0))), mustMarshal(f, metricRequest("m")), mustMarshal(f, logRequest("l")),
	}
}

// toJSON converts protobuf seeds to OTLP JSON with the Collector's codec.
func toJSON(f *testing.F, sig int, b []byte) []byte {
	var out []byte
	var err error
	switch sig {
	case 0:
		r := ptraceotlp.NewExportRequest()
		if err = r.UnmarshalProto(b); err == nil {
			out, err = r.MarshalJSON()
		}
	case 1:
		r := pmetricotlp.NewExportRequest()
		if err = r.UnmarshalProto(b); err == nil {
			out, err = r.MarshalJSON()
		}
	default:
		r := plogotlp.NewExportRequest()
		if err = r.UnmarshalProto(b); err == nil {
			out, err = r.MarshalJSON()
		}
	}
	if err != nil {
		f.Fatal(err)
	}
	return out
}

func fuzzExport(f *testing.F, isJSON bool) {
	h, sink := fuzzReceiver(f)
	for i, seed := range fuzzSeeds(f) {
		if isJSON {
			seed = toJSON(f, i%3, seed)
		}
		f.Add(uint8(i%3), seed)
	}
	// Hostile seeds: nesting beyond the limit, a bad id, too many attributes.
	badID := spanWith()
	badID.ResourceSpans[0].ScopeSpans[0].Spans[0].SpanId = []byte{1}
	many := spanWith()
	for i := range 6 {
		many.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes = append(many.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes,
			&commonpb.KeyValue{Key: string(rune('a' + i)), Value: strValue("a value longer than sixteen bytes")})
	}
	for _, req := range []*coltracepb.ExportTraceServiceRequest{spanWith(&commonpb.KeyValue{Key: "deep", Value: nestedValue(40)}), badID, many} {
		b := mustMarshal(f, req)
		if isJSON {
			if req == badID {
				continue // pdata cannot write it; the short id below stands in
			}
			b = toJSON(f, 0, b)
		}
		f.Add(uint8(0), b)
	}
	if isJSON {
		f.Add(uint8(0), []byte(jsonTraces))
		f.Add(uint8(0), []byte(strings.Replace(jsonTraces, `"spanId":"eee19b7ec3c1b174"`, `"spanId":"ee"`, 1)))
	}
	exports := []exportFunc{h.exportTraces, h.exportMetrics, h.exportLogs}
	f.Fuzz(func(t *testing.T, sig uint8, body []byte) {
		sink.t = t
		_, err := exports[int(sig)%len(exports)](context.Background(), body, isJSON)
		if err != nil && classify(err) != otlpstatus.Invalid {
			t.Fatalf("answer %v for %v, want success or INVALID_ARGUMENT", classify(err).GRPCCode(), err)
		}
	})
}

// FuzzExportProto fuzzes OTLP protobuf requests (gRPC and HTTP decode them
// alike) through conversion and back.
func FuzzExportProto(f *testing.F) { fuzzExport(f, false) }

// FuzzExportJSON fuzzes OTLP/HTTP JSON requests through conversion and back.
func FuzzExportJSON(f *testing.F) { fuzzExport(f, true) }
