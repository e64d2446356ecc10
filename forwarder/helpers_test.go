package forward

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// testConfig is an enabled configuration with short test timings.
func testConfig(protocol, endpoint string) Config {
	cfg := DefaultConfig()
	cfg.Enabled = true
	cfg.Protocol = protocol
	cfg.Endpoint = endpoint
	cfg.Timeout = 5 * time.Second
	cfg.Retry = Retry{InitialInterval: 5 * time.Millisecond, MaxInterval: 50 * time.Millisecond, Multiplier: 2, JitterFactor: 0.2}
	cfg.Breaker = Breaker{FailureThreshold: 3, Delay: 200 * time.Millisecond, SuccessThreshold: 2}
	cfg.ShutdownTimeout = 2 * time.Second
	return cfg
}

// runBus starts an embedded JetStream with the forwarder's durable.
func runBus(t *testing.T) jetstream.JetStream {
	t.Helper()
	_, _, js := bustest.RunJetStream(t, bustest.WithDurables(bus.DurableForwarder),
		// Tests need no crash safety; syncing every write makes publishing slow.
		bustest.WithServerConfig(func(c *bus.ServerConfig) { c.SyncInterval = time.Minute }))
	return js
}

// lockedBuffer is a log sink safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLog() (*slog.Logger, *lockedBuffer) {
	buf := &lockedBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// started is a running Forwarder.
type started struct {
	f    *Forwarder
	stop func() // cancels Run and waits for it
}

// startForwarder runs a Forwarder until the test ends or stop is called.
func startForwarder(t *testing.T, cfg Config, js jetstream.JetStream, log *slog.Logger) started {
	t.Helper()
	f, err := New(cfg, js, log, prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	waitFor(t, "forwarder ready", func() bool { return f.Ready() == nil })
	return started{f: f, stop: stop}
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// --- test data ---

func str(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func resource(service string) *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
		{Key: "service.name", Value: str(service)},
		{Key: "host.name", Value: str("h1")},
	}}
}

func id(n uint64, size int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint64(b[size-8:], n)
	return b
}

// traces returns one resource with n spans whose span ids are first..first+n-1.
func traces(service string, first uint64, n int) []*tracepb.ResourceSpans {
	var spans []*tracepb.Span
	for i := range uint64(n) {
		k := first + i
		spans = append(spans, &tracepb.Span{
			TraceId:           id(k+1000, 16),
			SpanId:            id(k, 8),
			Name:              fmt.Sprintf("span-%d", k),
			Kind:              tracepb.Span_SPAN_KIND_SERVER,
			StartTimeUnixNano: 1_700_000_000_000_000_000 + k,
			EndTimeUnixNano:   1_700_000_000_000_000_100 + k,
			Attributes:        []*commonpb.KeyValue{{Key: "http.route", Value: str("/r")}},
			Status:            &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK},
		})
	}
	return []*tracepb.ResourceSpans{{
		Resource:   resource(service),
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "test", Version: "1"}, Spans: spans}},
	}}
}

func metricsData(service string, first uint64, n int) []*metricspb.ResourceMetrics {
	var pts []*metricspb.NumberDataPoint
	for i := range uint64(n) {
		pts = append(pts, &metricspb.NumberDataPoint{
			TimeUnixNano: 1_700_000_000_000_000_000 + first + i,
			Value:        &metricspb.NumberDataPoint_AsInt{AsInt: int64(first + i)},
			Attributes:   []*commonpb.KeyValue{{Key: "k", Value: str("v")}},
		})
	}
	return []*metricspb.ResourceMetrics{{
		Resource: resource(service),
		ScopeMetrics: []*metricspb.ScopeMetrics{{Scope: &commonpb.InstrumentationScope{Name: "test"}, Metrics: []*metricspb.Metric{{
			Name: "requests", Unit: "1",
			Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{
				AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE,
				IsMonotonic:            true, DataPoints: pts,
			}},
		}}}},
	}}
}

func logsData(service string, first uint64, n int) []*logspb.ResourceLogs {
	var recs []*logspb.LogRecord
	for i := range uint64(n) {
		recs = append(recs, &logspb.LogRecord{
			TimeUnixNano:   1_700_000_000_000_000_000 + first + i,
			SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_INFO,
			SeverityText:   "INFO",
			Body:           str(fmt.Sprintf("log %d", first+i)),
			TraceId:        id(first+i, 16),
			SpanId:         id(first+i, 8),
		})
	}
	return []*logspb.ResourceLogs{{
		Resource:  resource(service),
		ScopeLogs: []*logspb.ScopeLogs{{Scope: &commonpb.InstrumentationScope{Name: "test"}, LogRecords: recs}},
	}}
}

// publish converts data (a []*tracepb.ResourceSpans, ...) of one service to
// a bus message and publishes it.
func publish(t *testing.T, js jetstream.JetStream, service string, data any) {
	t.Helper()
	if err := tryPublish(js, service, data); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// tryPublish publishes data as one message on the subject of service, or
// on the subject of messages of several services when data holds several
// (as ingest publishes).
func tryPublish(js jetstream.JetStream, service string, data any) error {
	var (
		rec arrow.RecordBatch
		sig schema.Signal
		err error
	)
	mem := memory.DefaultAllocator
	services := []string{service}
	switch d := data.(type) {
	case []*tracepb.ResourceSpans:
		sig = schema.Traces
		rec, err = schema.TracesToArrow(mem, d)
		if len(d) > 1 {
			services = nil
			for _, rs := range d {
				if s := schema.ServiceName(rs.GetResource()); !slices.Contains(services, s) {
					services = append(services, s)
				}
			}
		}
	case []*metricspb.ResourceMetrics:
		sig = schema.Metrics
		rec, err = schema.MetricsToArrow(mem, d)
	case []*logspb.ResourceLogs:
		sig = schema.Logs
		rec, err = schema.LogsToArrow(mem, d)
	default:
		return fmt.Errorf("unknown data %T", data)
	}
	if err != nil {
		return err
	}
	defer rec.Release()
	pls, err := payload.Encode([]arrow.RecordBatch{rec}, 0)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = bus.Publish(ctx, js, bus.Message{Signal: sig, Services: services, Source: "test", Rows: int(rec.NumRows()), Payload: pls[0]})
	return err
}

// --- a recording OTLP target ---

// recorder keeps what a test target received and decides its answers.
type recorder struct {
	mu      sync.Mutex
	traces  []*tracepb.ResourceSpans
	metrics []*metricspb.ResourceMetrics
	logs    []*logspb.ResourceLogs
	headers []http.Header // request headers (gRPC metadata as headers)
	calls   int
	// answer, when set, decides a request's failure: a gRPC status error
	// for gRPC, an *httpAnswer for HTTP; nil accepts. It gets the signal
	// and the request's first service name.
	answer func(sig schema.Signal, service string) error
	// rejected makes every accepted answer a partial success.
	rejected int64
}

type httpAnswer struct {
	status     int
	retryAfter string
	body       string
}

func (a *httpAnswer) Error() string { return fmt.Sprintf("http %d", a.status) }

func (r *recorder) decide(sig schema.Signal, service string, hdr http.Header) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.headers = append(r.headers, hdr)
	if r.answer != nil {
		return r.answer(sig, service)
	}
	return nil
}

func (r *recorder) record(req proto.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch m := req.(type) {
	case *coltracepb.ExportTraceServiceRequest:
		r.traces = append(r.traces, m.ResourceSpans...)
	case *colmetricspb.ExportMetricsServiceRequest:
		r.metrics = append(r.metrics, m.ResourceMetrics...)
	case *collogspb.ExportLogsServiceRequest:
		r.logs = append(r.logs, m.ResourceLogs...)
	}
}

func (r *recorder) setAnswer(f func(schema.Signal, string) error) {
	r.mu.Lock()
	r.answer = f
	r.mu.Unlock()
}

// spanIDs counts the received spans by span id.
func (r *recorder) spanIDs() map[uint64]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[uint64]int{}
	for _, rs := range r.traces {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				// Span id 0 is stored as no id (pdata cannot tell them apart).
				var k uint64
				if len(s.SpanId) == 8 {
					k = binary.BigEndian.Uint64(s.SpanId)
				}
				out[k]++
			}
		}
	}
	return out
}

func (r *recorder) spanCount() int {
	n := 0
	for _, c := range r.spanIDs() {
		n += c
	}
	return n
}

func (r *recorder) lastHeaders() http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.headers) == 0 {
		return nil
	}
	return r.headers[len(r.headers)-1]
}

func firstService(res *resourcepb.Resource) string { return schema.ServiceName(res) }

func mdHeaders(ctx context.Context) http.Header {
	md, _ := metadata.FromIncomingContext(ctx)
	h := http.Header{}
	for k, vs := range md {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	return h
}

// --- OTLP/gRPC target ---

type traceSrv struct {
	coltracepb.UnimplementedTraceServiceServer
	r *recorder
}

func (s traceSrv) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	if err := s.r.decide(schema.Traces, firstService(req.ResourceSpans[0].GetResource()), mdHeaders(ctx)); err != nil {
		return nil, err
	}
	s.r.record(req)
	resp := &coltracepb.ExportTraceServiceResponse{}
	if n := s.r.rejected; n > 0 {
		resp.PartialSuccess = &coltracepb.ExportTracePartialSuccess{RejectedSpans: n, ErrorMessage: "too old"}
	}
	return resp, nil
}

type metricsSrv struct {
	colmetricspb.UnimplementedMetricsServiceServer
	r *recorder
}

func (s metricsSrv) Export(ctx context.Context, req *colmetricspb.ExportMetricsServiceRequest) (*colmetricspb.ExportMetricsServiceResponse, error) {
	if err := s.r.decide(schema.Metrics, firstService(req.ResourceMetrics[0].GetResource()), mdHeaders(ctx)); err != nil {
		return nil, err
	}
	s.r.record(req)
	return &colmetricspb.ExportMetricsServiceResponse{}, nil
}

type logsSrv struct {
	collogspb.UnimplementedLogsServiceServer
	r *recorder
}

func (s logsSrv) Export(ctx context.Context, req *collogspb.ExportLogsServiceRequest) (*collogspb.ExportLogsServiceResponse, error) {
	if err := s.r.decide(schema.Logs, firstService(req.ResourceLogs[0].GetResource()), mdHeaders(ctx)); err != nil {
		return nil, err
	}
	s.r.record(req)
	return &collogspb.ExportLogsServiceResponse{}, nil
}

// grpcTargetServer is an OTLP/gRPC receiver on 127.0.0.1 that can be
// stopped and started again on the same address.
type grpcTargetServer struct {
	t    *testing.T
	r    *recorder
	addr string
	mu   sync.Mutex
	srv  *grpc.Server
	done chan struct{}
}

func startGRPCTarget(t *testing.T, r *recorder) *grpcTargetServer {
	t.Helper()
	g := &grpcTargetServer{t: t, r: r, addr: "127.0.0.1:0"}
	g.start()
	t.Cleanup(g.stop)
	return g
}

func (g *grpcTargetServer) start() {
	g.t.Helper()
	var lis net.Listener
	var err error
	for range 50 { // the old socket may linger a moment
		if lis, err = net.Listen("tcp", g.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		g.t.Fatalf("listen: %v", err)
	}
	g.addr = lis.Addr().String()
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, traceSrv{r: g.r})
	colmetricspb.RegisterMetricsServiceServer(srv, metricsSrv{r: g.r})
	collogspb.RegisterLogsServiceServer(srv, logsSrv{r: g.r})
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	g.mu.Lock()
	g.srv, g.done = srv, done
	g.mu.Unlock()
}

// stop stops the server gracefully: requests in flight are answered, later
// connections are refused.
func (g *grpcTargetServer) stop() {
	g.mu.Lock()
	srv, done := g.srv, g.done
	g.srv = nil
	g.mu.Unlock()
	if srv != nil {
		srv.GracefulStop()
		<-done
	}
}

// --- OTLP/HTTP target ---

type httpTargetServer struct {
	t    *testing.T
	r    *recorder
	addr string
	mu   sync.Mutex
	srv  *http.Server
	done chan struct{}
}

func startHTTPTarget(t *testing.T, r *recorder) *httpTargetServer {
	t.Helper()
	h := &httpTargetServer{t: t, r: r, addr: "127.0.0.1:0"}
	h.start()
	t.Cleanup(h.stop)
	return h
}

func (h *httpTargetServer) url() string { return "http://" + h.addr }

func (h *httpTargetServer) start() {
	h.t.Helper()
	var lis net.Listener
	var err error
	for range 50 { // the old socket may linger a moment
		if lis, err = net.Listen("tcp", h.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		h.t.Fatalf("listen: %v", err)
	}
	h.addr = lis.Addr().String()
	srv := &http.Server{Handler: otlpHTTPHandler(h.r), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	h.mu.Lock()
	h.srv, h.done = srv, done
	h.mu.Unlock()
}

func (h *httpTargetServer) stop() {
	h.mu.Lock()
	srv, done := h.srv, h.done
	h.srv = nil
	h.mu.Unlock()
	if srv != nil {
		_ = srv.Shutdown(context.Background())
		<-done
	}
}

// otlpHTTPHandler serves /v1/{traces,metrics,logs} with protobuf bodies,
// gzip or not.
func otlpHTTPHandler(r *recorder) http.Handler {
	mux := http.NewServeMux()
	for _, sig := range schema.Signals {
		mux.HandleFunc("POST /v1/"+string(sig), func(w http.ResponseWriter, req *http.Request) {
			var body io.Reader = req.Body
			if req.Header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(req.Body)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				body = zr
			}
			b, err := io.ReadAll(body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			var msg proto.Message
			var service string
			switch sig {
			case schema.Traces:
				m := &coltracepb.ExportTraceServiceRequest{}
				err = proto.Unmarshal(b, m)
				service, msg = firstService(m.GetResourceSpans()[0].GetResource()), m
			case schema.Metrics:
				m := &colmetricspb.ExportMetricsServiceRequest{}
				err = proto.Unmarshal(b, m)
				service, msg = firstService(m.GetResourceMetrics()[0].GetResource()), m
			case schema.Logs:
				m := &collogspb.ExportLogsServiceRequest{}
				err = proto.Unmarshal(b, m)
				service, msg = firstService(m.GetResourceLogs()[0].GetResource()), m
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			if err := r.decide(sig, service, req.Header.Clone()); err != nil {
				var a *httpAnswer
				if errors.As(err, &a) {
					if a.retryAfter != "" {
						w.Header().Set("Retry-After", a.retryAfter)
					}
					http.Error(w, a.body, a.status)
					return
				}
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			r.record(msg)
			resp, _ := proto.Marshal(newResponse(sig))
			w.Header().Set("Content-Type", "application/x-protobuf")
			_, _ = w.Write(resp)
		})
	}
	return mux
}

// --- Arrow Flight target ---

type flightRecv struct {
	path []string
	recs []arrow.RecordBatch
	hdr  http.Header
}

type flightSrv struct {
	flight.BaseFlightServer
	mu   sync.Mutex
	puts []flightRecv
}

func (s *flightSrv) DoPut(stream flight.FlightService_DoPutServer) error {
	rdr, err := flight.NewRecordReader(stream)
	if err != nil {
		return err
	}
	defer rdr.Release()
	var got flightRecv
	got.hdr = mdHeaders(stream.Context())
	if d := rdr.LatestFlightDescriptor(); d != nil {
		got.path = d.GetPath()
	}
	for rdr.Next() {
		rec := rdr.RecordBatch()
		rec.Retain()
		got.recs = append(got.recs, rec)
		if err := stream.Send(&flight.PutResult{AppMetadata: []byte(fmt.Sprintf(`{"rows":%d}`, rec.NumRows()))}); err != nil {
			return err
		}
	}
	if err := rdr.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.puts = append(s.puts, got)
	s.mu.Unlock()
	return nil
}

func (s *flightSrv) received() []flightRecv {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]flightRecv(nil), s.puts...)
}

func startFlightTarget(t *testing.T) (*flightSrv, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &flightSrv{}
	srv := grpc.NewServer()
	flight.RegisterFlightServiceServer(srv, s)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		<-done
		for _, p := range s.received() {
			for _, r := range p.recs {
				r.Release()
			}
		}
	})
	return s, "grpc://" + lis.Addr().String()
}

// --- metrics ---

func counter(c *prometheus.CounterVec, labels ...string) float64 {
	return testutil.ToFloat64(c.WithLabelValues(labels...))
}

func gauge(g *prometheus.GaugeVec, labels ...string) float64 {
	return testutil.ToFloat64(g.WithLabelValues(labels...))
}

// --- comparison ---

func equalMessages[M proto.Message](t *testing.T, what string, got, want []M) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d resources, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("%s: resource %d differs:\ngot  %s\nwant %s", what, i, clip(got[i]), clip(want[i]))
		}
	}
}

func clip(m proto.Message) string {
	s := fmt.Sprint(m)
	if len(s) > 2000 {
		s = s[:2000] + "..."
	}
	return strings.TrimSpace(s)
}
