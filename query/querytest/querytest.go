// Package querytest writes known telemetry into an output directory through
// the real pipeline parts (an embedded bus, the publisher that ingest uses,
// and the writer), for the tests of the SQL engine and its users.
package querytest

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/publish"
	"github.com/otlp-arrow/otlp-arrow/writer"
)

// Base is the start of the known data: every time lies in the Span
// minutes after it.
var Base = time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)

// Span is how long the known data lasts.
const Span = 5 * time.Minute

// Data is a set of OTLP requests.
type Data struct {
	Traces  []*coltracepb.ExportTraceServiceRequest
	Metrics []*colmetricspb.ExportMetricsServiceRequest
	Logs    []*collogspb.ExportLogsServiceRequest
}

// Services, routes and span names of the known data.
var (
	Services = []string{"frontend", "cart", "checkout"}
	Routes   = []string{"/api/cart", "/api/checkout", "/api/products/{id}", "/healthz"}
)

// HistogramBounds are the explicit bounds of the known histogram.
var HistogramBounds = []float64{5, 10, 25, 50, 100, 250, 500, 1000}

// Generate returns deterministic data of about n spans in requests of 100
// spans: server spans with an http.route (about 10 % errors), an internal
// child span under every second one, two log records per server span
// (with its trace and span id), and per service and minute a delta
// histogram of the request durations and a cumulative request counter.
func Generate(seed uint64, n int) Data { return GenerateAt(seed, n, Base) }

// GenerateAt is Generate with the data starting at base instead of Base.
func GenerateAt(seed uint64, n int, base time.Time) Data {
	rng := rand.New(rand.NewPCG(seed, 1))
	var d Data
	id := uint64(seed) << 32
	next := func() uint64 { id++; return id }
	type hist struct {
		counts []uint64
		sum    float64
		count  uint64
	}
	hists := map[[2]int]*hist{} // service, minute
	total := map[int]int64{}
	for done := 0; done < n; {
		var spans []*tracepb.Span
		var logs []*logspb.LogRecord
		svc := rng.IntN(len(Services))
		for len(spans) < 100 && done < n {
			route := Routes[rng.IntN(len(Routes))]
			start := base.Add(time.Duration(rng.Int64N(int64(Span - time.Second))))
			dur := time.Duration(rng.ExpFloat64()*float64(40*time.Millisecond)) + time.Millisecond
			var tid [16]byte
			binary.BigEndian.PutUint64(tid[:8], next())
			binary.BigEndian.PutUint64(tid[8:], rng.Uint64())
			sid := spanID(next())
			status := &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}
			if rng.IntN(10) == 0 {
				status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "boom"}
			}
			name := "GET " + route
			spans = append(spans, &tracepb.Span{
				TraceId: tid[:], SpanId: sid, Name: name, Kind: tracepb.Span_SPAN_KIND_SERVER,
				StartTimeUnixNano: uint64(start.UnixNano()), EndTimeUnixNano: uint64(start.Add(dur).UnixNano()),
				Attributes: []*commonpb.KeyValue{
					strAttr("http.route", route), strAttr("http.request.method", "GET"),
					{Key: "http.response.status_code", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: statusCode(status)}}},
				},
				Status: status,
			})
			done++
			if done%2 == 0 && done < n {
				child := dur / 2
				spans = append(spans, &tracepb.Span{
					TraceId: tid[:], SpanId: spanID(next()), ParentSpanId: sid, Name: "db.query", Kind: tracepb.Span_SPAN_KIND_INTERNAL,
					StartTimeUnixNano: uint64(start.Add(child / 4).UnixNano()), EndTimeUnixNano: uint64(start.Add(child/4 + child).UnixNano()),
					Attributes: []*commonpb.KeyValue{strAttr("db.system", "postgresql")},
				})
				done++
			}
			for k := range 2 {
				sev, text := logspb.SeverityNumber_SEVERITY_NUMBER_INFO, "INFO"
				if k == 1 && status.Code == tracepb.Status_STATUS_CODE_ERROR {
					sev, text = logspb.SeverityNumber_SEVERITY_NUMBER_ERROR, "ERROR"
				}
				t := start.Add(dur * time.Duration(k) / 2)
				logs = append(logs, &logspb.LogRecord{
					TimeUnixNano: uint64(t.UnixNano()), ObservedTimeUnixNano: uint64(t.UnixNano()),
					SeverityNumber: sev, SeverityText: text,
					Body:    &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: fmt.Sprintf("%s step %d", name, k)}},
					TraceId: tid[:], SpanId: sid,
					Attributes: []*commonpb.KeyValue{strAttr("http.route", route)},
				})
			}
			minute := int(start.Sub(base) / time.Minute)
			h := hists[[2]int{svc, minute}]
			if h == nil {
				h = &hist{counts: make([]uint64, len(HistogramBounds)+1)}
				hists[[2]int{svc, minute}] = h
			}
			ms := float64(dur) / 1e6
			b := 0
			for b < len(HistogramBounds) && ms > HistogramBounds[b] {
				b++
			}
			h.counts[b]++
			h.sum += ms
			h.count++
			total[svc]++
		}
		res := resource(Services[svc])
		d.Traces = append(d.Traces, &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
			Resource: res, ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "querytest"}, Spans: spans}},
		}}})
		d.Logs = append(d.Logs, &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
			Resource: res, ScopeLogs: []*logspb.ScopeLogs{{Scope: &commonpb.InstrumentationScope{Name: "querytest"}, LogRecords: logs}},
		}}})
	}
	for svc, name := range Services {
		var hps []*metricspb.HistogramDataPoint
		var sps []*metricspb.NumberDataPoint
		var cum int64
		for minute := range int(Span / time.Minute) {
			h := hists[[2]int{svc, minute}]
			if h == nil {
				continue
			}
			start, end := base.Add(time.Duration(minute)*time.Minute), base.Add(time.Duration(minute+1)*time.Minute)
			sum := h.sum
			hps = append(hps, &metricspb.HistogramDataPoint{
				StartTimeUnixNano: uint64(start.UnixNano()), TimeUnixNano: uint64(end.UnixNano()),
				Count: h.count, Sum: &sum, BucketCounts: h.counts, ExplicitBounds: HistogramBounds,
				Attributes: []*commonpb.KeyValue{strAttr("http.request.method", "GET")},
			})
			cum += int64(h.count)
			sps = append(sps, &metricspb.NumberDataPoint{
				StartTimeUnixNano: uint64(base.UnixNano()), TimeUnixNano: uint64(end.UnixNano()),
				Value: &metricspb.NumberDataPoint_AsInt{AsInt: cum},
			})
		}
		if len(hps) == 0 {
			continue
		}
		d.Metrics = append(d.Metrics, &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: []*metricspb.ResourceMetrics{{
			Resource: resource(name),
			ScopeMetrics: []*metricspb.ScopeMetrics{{Scope: &commonpb.InstrumentationScope{Name: "querytest"}, Metrics: []*metricspb.Metric{
				{Name: "http.server.request.duration", Unit: "ms", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
					AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA, DataPoints: hps}}},
				{Name: "http.server.requests", Unit: "{request}", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{
					AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, IsMonotonic: true, DataPoints: sps}}},
			}}},
		}}})
	}
	return d
}

func statusCode(s *tracepb.Status) int64 {
	if s.Code == tracepb.Status_STATUS_CODE_ERROR {
		return 500
	}
	return 200
}

func spanID(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func strAttr(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func resource(service string) *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{strAttr("service.name", service), strAttr("deployment.environment.name", "test")}}
}

var writers atomic.Int64

// Pipeline is an embedded bus, a publisher and a running writer over an
// output directory.
type Pipeline struct {
	Dir    string
	Writer *writer.Writer
	pub    *publish.Publisher
	cancel context.CancelFunc
	done   chan error
}

// Start runs a bus and a writer writing format ("arrow" or "parquet") into
// dir. The test's cleanup stops them.
func Start(t testing.TB, dir, format string) *Pipeline {
	t.Helper()
	return StartWith(t, dir, func(c *writer.Config) { c.Format = format })
}

// StartWith is Start with the writer's configuration changed by mod (its
// Format, TracesSchema, ...).
func StartWith(t testing.TB, dir string, mod func(*writer.Config)) *Pipeline {
	t.Helper()
	srv, err := bus.StartServer(bus.ServerConfig{StoreDir: t.TempDir(), Port: bus.NoListen}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, js, err := bus.Connect(ctx, bus.ConnConfig{InProcess: srv.NATS(), Name: "querytest"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if err := bus.EnsureStreams(ctx, js, bus.DefaultStreamsConfig()); err != nil {
		t.Fatal(err)
	}
	pub, err := publish.NewPublisher(js, publish.Config{MaxPayloadBytes: 1 << 20}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writer.DefaultConfig()
	cfg.OutputDir = dir
	cfg.WriterID = fmt.Sprintf("qt%d", writers.Add(1))
	cfg.WriteInterval = writer.MaxWriteInterval // flushed by the test
	cfg.MaxFileAge = time.Hour
	mod(&cfg)
	w, err := writer.New(cfg, js, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	p := &Pipeline{Dir: dir, Writer: w, pub: pub, cancel: rcancel, done: make(chan error, 1)}
	go func() { p.done <- w.Run(rctx) }()
	t.Cleanup(func() { p.Stop(t) })
	return p
}

// Publish sends d over the bus and waits until the writer wrote it (the
// files stay open, .partial for Arrow).
func (p *Pipeline) Publish(t testing.TB, d Data) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	// A flush every so many requests keeps the bus from filling up when
	// the data is large (a benchmark's million spans).
	sent := 0
	flush := func(every int) {
		if sent++; sent%every == 0 {
			if err := p.Writer.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, r := range d.Traces {
		if _, msg, err := p.pub.PublishTraces(ctx, r, "querytest"); err != nil || msg != "" {
			t.Fatalf("publish traces: %v %s", err, msg)
		}
		flush(500)
	}
	for _, r := range d.Metrics {
		if _, msg, err := p.pub.PublishMetrics(ctx, r, "querytest"); err != nil || msg != "" {
			t.Fatalf("publish metrics: %v %s", err, msg)
		}
		flush(500)
	}
	for _, r := range d.Logs {
		if _, msg, err := p.pub.PublishLogs(ctx, r, "querytest"); err != nil || msg != "" {
			t.Fatalf("publish logs: %v %s", err, msg)
		}
		flush(500)
	}
	if err := p.Writer.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// Stop stops the writer, which finishes its files. It is safe to call twice.
func (p *Pipeline) Stop(t testing.TB) {
	t.Helper()
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	if err := <-p.done; err != nil {
		t.Errorf("writer: %v", err)
	}
}

// Write writes d into dir as finished files of format and returns when
// they are on disk.
func Write(t testing.TB, dir, format string, d Data) {
	t.Helper()
	WriteWith(t, dir, func(c *writer.Config) { c.Format = format }, d)
}

// WriteWith is Write with the writer's configuration changed by mod.
func WriteWith(t testing.TB, dir string, mod func(*writer.Config), d Data) {
	t.Helper()
	p := StartWith(t, dir, mod)
	p.Publish(t, d)
	p.Stop(t)
}
