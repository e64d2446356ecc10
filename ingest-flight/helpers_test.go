package ingestflight

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// startService runs a Service on loopback port 0 publishing on js; it stops
// when the test ends. mutate, if not nil, adjusts the config first.
func startService(t testing.TB, js jetstream.Publisher, mutate func(*Config)) *Service {
	t.Helper()
	return startServiceReg(t, js, prometheus.NewRegistry(), mutate)
}

// startServiceReg is startService with metrics on reg.
func startServiceReg(t testing.TB, js jetstream.Publisher, reg *prometheus.Registry, mutate func(*Config)) *Service {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg, js, slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for s.Ready() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("service not ready: %v", s.Ready())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s
}

// grpcConn dials the service; closed when the test ends.
func grpcConn(t testing.TB, s *Service) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(s.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// decodeRecords decodes one message's payload, checking its schema is the
// signal's; the batches are released when the test ends.
func decodeRecords(t testing.TB, sig schema.Signal, data []byte) []arrow.RecordBatch {
	t.Helper()
	s, recs, err := payload.Decode(data, nil)
	if err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	t.Cleanup(func() {
		for _, r := range recs {
			r.Release()
		}
	})
	if !s.Equal(schema.Schema(sig)) {
		t.Fatalf("payload schema is not the %s schema:\n%s", sig, s)
	}
	return recs
}

// checkHeaders checks the headers every message of a stage carries and
// returns the total of Otlp-Rows.
func checkHeaders(t testing.TB, msgs []bustest.Msg, sig schema.Signal, source string) int {
	t.Helper()
	rows := 0
	for _, m := range msgs {
		pm, err := bus.ParseMessage(m.Subject, m.Header, m.Data)
		if err != nil {
			t.Fatalf("parse message: %v", err)
		}
		if pm.Signal != sig || pm.Source != source {
			t.Errorf("%s: signal, source = %s, %s; want %s, %s", m.Subject, pm.Signal, pm.Source, sig, source)
		}
		if got := m.Header.Get(bus.HeaderContract); got != bus.ContractVersion {
			t.Errorf("%s: %s = %q, want %s", m.Subject, bus.HeaderContract, got, bus.ContractVersion)
		}
		if want := bus.MessageSubject(sig, pm.Services); m.Subject != want {
			t.Errorf("services %q on %s, want %s", pm.Services, m.Subject, want)
		}
		rows += pm.Rows
	}
	return rows
}

// subjects returns each message's subject and, in brackets, the services
// its Otlp-Services header lists (sorted: OTAP may reorder resources),
// space-separated.
func subjects(t testing.TB, msgs []bustest.Msg) string {
	t.Helper()
	var out []string
	for _, m := range msgs {
		services, err := bus.ParseServices(m.Header.Get(bus.HeaderServices))
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(services)
		out = append(out, m.Subject+"["+strings.Join(services, ",")+"]")
	}
	return strings.Join(out, " ")
}

func busTraces(t testing.TB, js jetstream.JetStream) []*tracepb.ResourceSpans {
	t.Helper()
	var out []*tracepb.ResourceSpans
	for _, m := range bustest.ReadMessages(t, js, schema.Traces) {
		rss, err := schema.TracesFromArrow(decodeRecords(t, schema.Traces, m.Data))
		if err != nil {
			t.Fatalf("traces from arrow: %v", err)
		}
		out = append(out, rss...)
	}
	return out
}

func busMetrics(t testing.TB, js jetstream.JetStream) []*metricspb.ResourceMetrics {
	t.Helper()
	var out []*metricspb.ResourceMetrics
	for _, m := range bustest.ReadMessages(t, js, schema.Metrics) {
		rms, err := schema.MetricsFromArrow(decodeRecords(t, schema.Metrics, m.Data))
		if err != nil {
			t.Fatalf("metrics from arrow: %v", err)
		}
		out = append(out, rms...)
	}
	return out
}

func busLogs(t testing.TB, js jetstream.JetStream) []*logspb.ResourceLogs {
	t.Helper()
	var out []*logspb.ResourceLogs
	for _, m := range bustest.ReadMessages(t, js, schema.Logs) {
		rls, err := schema.LogsFromArrow(decodeRecords(t, schema.Logs, m.Data))
		if err != nil {
			t.Fatalf("logs from arrow: %v", err)
		}
		out = append(out, rls...)
	}
	return out
}

// sameByService compares two lists of resource items after normalization,
// ordered by service name, element by element with proto.Equal.
func sameByService[R proto.Message](t testing.TB, got, want []R, resource func(R) *resourcepb.Resource) {
	t.Helper()
	sortBy := func(rs []R) {
		sort.SliceStable(rs, func(i, j int) bool {
			return schema.ServiceName(resource(rs[i])) < schema.ServiceName(resource(rs[j]))
		})
	}
	sortBy(got)
	sortBy(want)
	if len(got) != len(want) {
		t.Fatalf("got %d resources, want %d", len(got), len(want))
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Errorf("resource %d (%s) differs:\n got %v\nwant %v", i, schema.ServiceName(resource(want[i])), got[i], want[i])
		}
	}
}

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func i64(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}

// resource returns a service's resource. Attributes are sorted by key, as
// OTel-Arrow sorts them, so OTAP round trips compare equal.
func resource(service string) *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("host.name", "h1"), str("service.name", service)}}
}

func id(n int, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(seed + i + 1)
	}
	return b
}

const t0 = uint64(1_700_000_000_000_000_000)

// fixtureTraces returns spansPer spans for each service, one resource each.
func fixtureTraces(services []string, spansPer int) []*tracepb.ResourceSpans {
	var out []*tracepb.ResourceSpans
	for si, svc := range services {
		ss := &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: "lib", Version: "1.0"}}
		for j := range spansPer {
			ss.Spans = append(ss.Spans, &tracepb.Span{
				TraceId:           id(16, si),
				SpanId:            id(8, si*1000+j),
				ParentSpanId:      id(8, si),
				Name:              fmt.Sprintf("%s-op-%d", svc, j),
				Kind:              tracepb.Span_SPAN_KIND_SERVER,
				StartTimeUnixNano: t0 + uint64(j),
				EndTimeUnixNano:   t0 + uint64(j) + 1000,
				Attributes:        []*commonpb.KeyValue{str("http.route", "/x"), i64("http.status_code", 200)},
				Events:            []*tracepb.Span_Event{{TimeUnixNano: t0 + 5, Name: "ev", Attributes: []*commonpb.KeyValue{str("k", "v")}}},
				Links:             []*tracepb.Span_Link{{TraceId: id(16, 9), SpanId: id(8, 9)}},
				Status:            &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "boom"},
			})
		}
		out = append(out, &tracepb.ResourceSpans{Resource: resource(svc), ScopeSpans: []*tracepb.ScopeSpans{ss}})
	}
	return out
}

// fixtureMetrics returns a gauge, a sum and a histogram per service.
func fixtureMetrics(services []string) []*metricspb.ResourceMetrics {
	var out []*metricspb.ResourceMetrics
	for _, svc := range services {
		attrs := []*commonpb.KeyValue{str("route", "/a")}
		ms := []*metricspb.Metric{
			{Name: "g", Unit: "1", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: []*metricspb.NumberDataPoint{
				{TimeUnixNano: t0, Attributes: attrs, Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: 1.5}},
			}}}},
			{Name: "s", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{
				AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, IsMonotonic: true,
				DataPoints: []*metricspb.NumberDataPoint{
					{StartTimeUnixNano: t0 - 10, TimeUnixNano: t0, Attributes: attrs, Value: &metricspb.NumberDataPoint_AsInt{AsInt: 7}},
				}}}},
			{Name: "h", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
				AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA,
				DataPoints: []*metricspb.HistogramDataPoint{{
					StartTimeUnixNano: t0 - 10, TimeUnixNano: t0, Attributes: attrs, Count: 3, Sum: proto.Float64(6),
					BucketCounts: []uint64{1, 2}, ExplicitBounds: []float64{2},
				}}}}},
		}
		out = append(out, &metricspb.ResourceMetrics{Resource: resource(svc), ScopeMetrics: []*metricspb.ScopeMetrics{{
			Scope: &commonpb.InstrumentationScope{Name: "meter"}, Metrics: ms,
		}}})
	}
	return out
}

// fixtureLogs returns n log records per service.
func fixtureLogs(services []string, n int) []*logspb.ResourceLogs {
	var out []*logspb.ResourceLogs
	for si, svc := range services {
		sl := &logspb.ScopeLogs{Scope: &commonpb.InstrumentationScope{Name: "logger"}}
		for j := range n {
			sl.LogRecords = append(sl.LogRecords, &logspb.LogRecord{
				TimeUnixNano: t0 + uint64(j), ObservedTimeUnixNano: t0 + uint64(j) + 1,
				SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_INFO, SeverityText: "INFO",
				Body:       &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: fmt.Sprintf("hello %d", j)}},
				Attributes: []*commonpb.KeyValue{str("k", "v")},
				TraceId:    id(16, si), SpanId: id(8, j),
			})
		}
		out = append(out, &logspb.ResourceLogs{Resource: resource(svc), ScopeLogs: []*logspb.ScopeLogs{sl}})
	}
	return out
}

// runBus starts an embedded JetStream with the production streams.
func runBus(t testing.TB, opts ...bustest.Option) jetstream.JetStream {
	t.Helper()
	_, _, js := bustest.RunJetStream(t, opts...)
	return js
}

// resourceOf returns the resource getter of a list's element type.
func resourceOf[R interface{ GetResource() *resourcepb.Resource }](_ []R) func(R) *resourcepb.Resource {
	return func(r R) *resourcepb.Resource { return r.GetResource() }
}

func toArrowLogs(t testing.TB) arrow.RecordBatch {
	t.Helper()
	return toArrow(t, schema.LogsToArrow, fixtureLogs([]string{"svc"}, 2))
}

// gatheredValue returns the value of the counter or gauge name with the
// given labels on reg, 0 when absent.
func gatheredValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue metrics
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}
