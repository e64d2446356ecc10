package publish

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	rtmetrics "runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// gatedJS publishes on a real JetStream, but every publish blocks until the
// gate opens. Holding the flushers at the gate lets a test know which
// requests queue behind them, so batches form deterministically.
type gatedJS struct {
	jetstream.Publisher
	gate    chan struct{}
	once    sync.Once
	blocked atomic.Int32 // publishes waiting at the gate
}

func newGatedJS(js jetstream.Publisher) *gatedJS {
	return &gatedJS{Publisher: js, gate: make(chan struct{})}
}

func (g *gatedJS) open() { g.once.Do(func() { close(g.gate) }) }

func (g *gatedJS) PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	g.blocked.Add(1)
	select {
	case <-g.gate:
	case <-ctx.Done():
	}
	g.blocked.Add(-1)
	return g.Publisher.PublishMsg(ctx, msg, opts...)
}

func (g *gatedJS) PublishMsgAsync(msg *nats.Msg, opts ...jetstream.PublishOpt) (jetstream.PubAckFuture, error) {
	g.blocked.Add(1)
	<-g.gate
	g.blocked.Add(-1)
	return g.Publisher.PublishMsgAsync(msg, opts...)
}

// waitFor polls cond until it holds; it fails the test after a long while,
// which only a bug (a hang) can take.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// pending returns how many groups wait in b's queue of key k.
func pending[T any](b *batcher[T], k qkey) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if q := b.queues[k]; q != nil {
		return len(q.pending)
	}
	return 0
}

func newPub(t testing.TB, js jetstream.Publisher, cfg Config, reg prometheus.Registerer) *Publisher {
	t.Helper()
	if cfg.MaxPayloadBytes == 0 {
		cfg.MaxPayloadBytes = 1 << 20
	}
	p, err := NewPublisher(js, cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkRows checks that the Otlp-Rows headers of msgs add up to rows.
func checkRows(t *testing.T, msgs []bustest.Msg, rows int) {
	t.Helper()
	sum := 0
	for _, m := range msgs {
		n, err := strconv.Atoi(m.Header.Get(bus.HeaderRows))
		if err != nil {
			t.Fatal(err)
		}
		sum += n
	}
	if sum != rows {
		t.Errorf("sum of %s = %d, want %d", bus.HeaderRows, sum, rows)
	}
}

func strv(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func intv(i int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: i}}
}

func resource(service string, req int) *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
		{Key: schema.ServiceNameKey, Value: strv(service)},
		{Key: "request", Value: intv(int64(req))},
		{Key: "host.name", Value: strv(fmt.Sprintf("host-%d", req%4))},
	}}
}

// resourceSpans returns n spans of service for request req, with every
// kind of field set and values unique to (req, i), so that a decoded span
// names its origin by its span id.
func resourceSpans(service string, req, n int) *tracepb.ResourceSpans {
	ss := &tracepb.ScopeSpans{
		Scope:     &commonpb.InstrumentationScope{Name: fmt.Sprintf("scope-%d", req%3), Version: "1.2", Attributes: []*commonpb.KeyValue{{Key: "lib", Value: strv("x")}}},
		SchemaUrl: "scope-schema/1",
	}
	for i := range n {
		tid := make([]byte, 16)
		binary.BigEndian.PutUint64(tid, uint64(req)+1)
		binary.BigEndian.PutUint64(tid[8:], uint64(i/10)+1)
		sid := make([]byte, 8)
		binary.BigEndian.PutUint64(sid, uint64(req)<<20|uint64(i)+1)
		s := &tracepb.Span{
			TraceId:           tid,
			SpanId:            sid,
			TraceState:        "k=v",
			Name:              fmt.Sprintf("op-%d-%d", req, i%7),
			Kind:              tracepb.Span_SpanKind(i%5 + 1),
			StartTimeUnixNano: 1_700_000_000_000_000_000 + uint64(req)*1_000_000 + uint64(i),
			EndTimeUnixNano:   1_700_000_000_000_000_000 + uint64(req)*1_000_000 + uint64(i) + 5000,
			Attributes: []*commonpb.KeyValue{
				{Key: "http.route", Value: strv(fmt.Sprintf("/r/%d", i%4))},
				{Key: "i", Value: intv(int64(i))},
			},
			Status: &tracepb.Status{Code: tracepb.Status_StatusCode(i % 3), Message: fmt.Sprintf("m%d", i%2)},
		}
		if i%3 == 0 {
			s.ParentSpanId = []byte{1, 2, 3, 4, 5, 6, 7, byte(i)}
			s.Events = []*tracepb.Span_Event{{TimeUnixNano: s.StartTimeUnixNano + 1, Name: "ev", Attributes: []*commonpb.KeyValue{{Key: "e", Value: intv(int64(req))}}}}
		}
		ss.Spans = append(ss.Spans, s)
	}
	return &tracepb.ResourceSpans{Resource: resource(service, req), SchemaUrl: "resource-schema/1", ScopeSpans: []*tracepb.ScopeSpans{ss}}
}

func traceRequest(rss ...*tracepb.ResourceSpans) *coltracepb.ExportTraceServiceRequest {
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: rss}
}

// spanOrigin is a span with the resource and scope it belongs to.
type spanOrigin struct {
	rs   *tracepb.ResourceSpans // resource and schema url only
	ss   *tracepb.ScopeSpans    // scope and schema url only
	span *tracepb.Span
}

// flatSpans indexes the spans of rss, normalized, by span id.
func flatSpans(t *testing.T, rss []*tracepb.ResourceSpans) map[string]spanOrigin {
	t.Helper()
	out := map[string]spanOrigin{}
	for _, rs := range rss {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				id := string(s.GetSpanId())
				if _, dup := out[id]; dup {
					t.Fatalf("span %x appears twice", s.GetSpanId())
				}
				out[id] = spanOrigin{
					rs:   &tracepb.ResourceSpans{Resource: rs.GetResource(), SchemaUrl: rs.GetSchemaUrl()},
					ss:   &tracepb.ScopeSpans{Scope: ss.GetScope(), SchemaUrl: ss.GetSchemaUrl()},
					span: s,
				}
			}
		}
	}
	return out
}

// checkSpans checks that got holds each span of want exactly once, equal
// field by field (span, resource and scope) to its normalized original.
func checkSpans(t *testing.T, got, want []*tracepb.ResourceSpans) {
	t.Helper()
	g := flatSpans(t, got) // fails on a span delivered twice
	w := flatSpans(t, schema.NormalizeTraces(want))
	if len(g) != len(w) {
		t.Errorf("decoded %d spans, want %d", len(g), len(w))
	}
	for id, ws := range w {
		gs, ok := g[id]
		if !ok {
			t.Errorf("span %x (%s) missing", id, ws.span.GetName())
			continue
		}
		if !proto.Equal(gs.span, ws.span) {
			t.Errorf("span %x differs:\ngot  %v\nwant %v", id, gs.span, ws.span)
		}
		if !proto.Equal(gs.rs, ws.rs) {
			t.Errorf("resource of span %x differs:\ngot  %v\nwant %v", id, gs.rs, ws.rs)
		}
		if !proto.Equal(gs.ss, ws.ss) {
			t.Errorf("scope of span %x differs:\ngot  %v\nwant %v", id, gs.ss, ws.ss)
		}
	}
	for id := range g {
		if _, ok := w[id]; !ok {
			t.Errorf("unexpected span %x", id)
		}
	}
}

// outcome is what one call answered.
type outcome struct {
	rejected int64
	msg      string
	err      error
}

// holdFlushers sends two requests of service svc and waits until both
// flushers of its queue are held at the gate with one each.
func holdFlushers(t *testing.T, g *gatedJS, send func(i int)) {
	t.Helper()
	send(0)
	waitFor(t, "the first flusher at the gate", func() bool { return g.blocked.Load() == 1 })
	send(1)
	waitFor(t, "the second flusher at the gate", func() bool { return g.blocked.Load() == 2 })
}

func TestCoalesceTraces(t *testing.T) {
	_, _, js := bustest.RunJetStream(t)
	g := newGatedJS(js)
	reg := prometheus.NewRegistry()
	p := newPub(t, g, Config{}, reg)

	const n, spans = 40, 10
	results := make([]chan outcome, n)
	send := func(i int) {
		results[i] = make(chan outcome, 1)
		go func() {
			rej, msg, err := p.PublishTraces(context.Background(), traceRequest(resourceSpans("svc", i, spans)), "grpc")
			results[i] <- outcome{rej, msg, err}
		}()
	}
	holdFlushers(t, g, send)
	for i := 2; i < n; i++ {
		send(i)
	}
	key := qkey{schema.Traces, "", "grpc"}
	waitFor(t, "every request queued", func() bool { return pending(p.traceQ, key) == n-2 })
	g.open()
	var want []*tracepb.ResourceSpans
	for i := range n {
		if o := <-results[i]; o.err != nil || o.rejected != 0 || o.msg != "" {
			t.Errorf("request %d = %d, %q, %v; want 0, \"\", nil", i, o.rejected, o.msg, o.err)
		}
		want = append(want, resourceSpans("svc", i, spans))
	}
	msgs := bustest.ReadMessages(t, js, schema.Traces)
	// Two requests held at the gate, the 38 others in one flush.
	if len(msgs) != 3 {
		t.Errorf("bus messages = %d for %d requests, want 3", len(msgs), n)
	}
	checkRows(t, msgs, n*spans)
	for _, m := range msgs {
		if got, want := m.Subject, bus.Subject(schema.Traces, "svc"); got != want {
			t.Errorf("subject = %q, want %q", got, want)
		}
		if got := m.Header.Get(bus.HeaderSource); got != "grpc" {
			t.Errorf("source = %q, want grpc", got)
		}
	}
	checkSpans(t, bustest.Traces(t, msgs), want)

	count, sum := histogram(t, reg, "otlp_arrow_publish_batch_requests", "traces")
	if count != 3 || sum != n {
		t.Errorf("batch_requests: %d flushes of %v requests, want 3 of %d", count, sum, n)
	}
	if _, sum := histogram(t, reg, "otlp_arrow_publish_batch_rows", "traces"); sum != n*spans {
		t.Errorf("batch_rows sum = %v, want %d", sum, n*spans)
	}
	waitFor(t, "the flushers to exit", func() bool {
		p.traceQ.mu.Lock()
		defer p.traceQ.mu.Unlock()
		return len(p.traceQ.queues) == 0
	})
}

// histogram returns the sample count and sum of a histogram's series of sig.
func histogram(t *testing.T, reg *prometheus.Registry, name, sig string) (uint64, float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "signal" && l.GetValue() == sig {
					return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
				}
			}
		}
	}
	return 0, 0
}

// counters returns every series of a counter as "labels" -> value.
func counters(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			out[strings.Join(ls, ",")] = m.GetCounter().GetValue()
		}
	}
	return out
}

// mixedRequests are requests of one service with every kind of answer:
// good ones, some invalid in part or in whole, a row too large, and a
// resource the attribute limits refuse. good is a copy of the resources
// that should be published.
func mixedRequests() (reqs []*coltracepb.ExportTraceServiceRequest, good []*tracepb.ResourceSpans) {
	ok := func(rs *tracepb.ResourceSpans) *tracepb.ResourceSpans {
		good = append(good, proto.Clone(rs).(*tracepb.ResourceSpans))
		return rs
	}
	for i := range 8 {
		reqs = append(reqs, traceRequest(ok(resourceSpans("svc", i, 5))))
	}
	badID := func(rs *tracepb.ResourceSpans) *tracepb.ResourceSpans {
		rs.ScopeSpans[0].Spans[1].TraceId = []byte{1, 2, 3} // wrong length: schema.ErrInvalid
		return rs
	}
	huge := func(rs *tracepb.ResourceSpans) *tracepb.ResourceSpans {
		s := rs.ScopeSpans[0].Spans[0]
		for j := range 6 {
			s.Attributes = append(s.Attributes, &commonpb.KeyValue{Key: fmt.Sprintf("big%d", j), Value: strv(strings.Repeat("x", 60<<10))})
		}
		return rs
	}
	deep := func(rs *tracepb.ResourceSpans) *tracepb.ResourceSpans {
		v := strv("leaf")
		for range DefaultMaxDepth + 1 {
			v = &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{v}}}}
		}
		rs.Resource.Attributes = append(rs.Resource.Attributes, &commonpb.KeyValue{Key: "deep", Value: v})
		return rs
	}
	reqs = append(reqs,
		traceRequest(badID(resourceSpans("svc", 100, 4))),                                   // all invalid
		traceRequest(ok(resourceSpans("svc", 101, 3)), badID(resourceSpans("svc", 102, 4))), // partly invalid
		traceRequest(resourceSpans("svc", 103, 2), huge(resourceSpans("svc", 104, 2))),      // a row too large: its whole group
		traceRequest(huge(resourceSpans("svc", 105, 1))),                                    // only a row too large
		traceRequest(deep(resourceSpans("svc", 106, 3)), ok(resourceSpans("svc", 107, 2))),  // limits refuse a resource
		traceRequest(badID(resourceSpans("svc", 108, 2)), ok(resourceSpans("svc", 109, 2))), // invalid first
	)
	return reqs, good
}

func TestCoalesceIsolatesBadRequests(t *testing.T) {
	const maxPayload = 256 << 10 // of uncompressed payloads: both publishers compress none
	// The reference: the same requests without coalescing.
	_, _, refJS := bustest.RunJetStream(t)
	refReg := prometheus.NewRegistry()
	ref := newPub(t, refJS, Config{MaxPayloadBytes: maxPayload, Compression: payload.CompressionNone, Coalesce: CoalesceConfig{Disabled: true}}, refReg)
	if ref.traceQ != nil || ref.recordQ != nil {
		t.Fatal("disabled publisher has queues")
	}
	var want []outcome
	refReqs, good := mixedRequests()
	for _, r := range refReqs {
		rej, msg, err := ref.PublishTraces(context.Background(), r, "grpc")
		want = append(want, outcome{rej, msg, err})
	}

	_, _, js := bustest.RunJetStream(t)
	g := newGatedJS(js)
	reg := prometheus.NewRegistry()
	p := newPub(t, g, Config{MaxPayloadBytes: maxPayload, Compression: payload.CompressionNone}, reg)
	reqs, _ := mixedRequests()
	results := make([]chan outcome, len(reqs))
	send := func(i int) {
		results[i] = make(chan outcome, 1)
		go func() {
			rej, msg, err := p.PublishTraces(context.Background(), reqs[i], "grpc")
			results[i] <- outcome{rej, msg, err}
		}()
	}
	holdFlushers(t, g, send)
	for i := 2; i < len(reqs); i++ {
		send(i)
	}
	key := qkey{schema.Traces, "", "grpc"}
	// The request whose every resource pdata refuses (a trace id of the
	// wrong length) is answered before it reaches the queue.
	waitFor(t, "every request queued", func() bool { return pending(p.traceQ, key) == len(reqs)-3 })
	g.open()
	for i := range reqs {
		got := <-results[i]
		w := want[i]
		if got.rejected != w.rejected || got.msg != w.msg || (got.err == nil) != (w.err == nil) ||
			errors.Is(got.err, ErrInvalidRequest) != errors.Is(w.err, ErrInvalidRequest) {
			t.Errorf("request %d = %d, %q, %v\nwant %d, %q, %v", i, got.rejected, got.msg, got.err, w.rejected, w.msg, w.err)
		}
	}
	for _, name := range []string{"otlp_arrow_ingest_rows_rejected_total", "otlp_arrow_ingest_rows_received_total"} {
		got, want := counters(t, reg, name), counters(t, refReg, name)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v as without coalescing", name, got, want)
		}
	}
	msgs := bustest.ReadMessages(t, js, schema.Traces)
	refMsgs := bustest.ReadMessages(t, refJS, schema.Traces)
	// The batch fell back to converting each request alone: as many
	// messages as without coalescing, in one PublishAll.
	if len(msgs) > len(refMsgs) {
		t.Errorf("bus messages = %d, want at most the %d without coalescing", len(msgs), len(refMsgs))
	}
	checkSpans(t, bustest.Traces(t, msgs), good)
	checkSpans(t, bustest.Traces(t, refMsgs), good)
}

func TestCoalesceBusDown(t *testing.T) {
	srv, _, js := bustest.RunJetStream(t)
	nc, err := nats.Connect("", nats.InProcessServer(srv.NATS()))
	if err != nil {
		t.Fatal(err)
	}
	down, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	g := newGatedJS(down)
	reg := prometheus.NewRegistry()
	p := newPub(t, g, Config{}, reg)
	const n = 12
	results := make([]chan outcome, n)
	send := func(i int) {
		results[i] = make(chan outcome, 1)
		go func() {
			// No deadline: an answer must come from the flusher.
			rej, msg, err := p.PublishTraces(context.Background(), traceRequest(resourceSpans("svc", i, 3)), "http")
			results[i] <- outcome{rej, msg, err}
		}()
	}
	holdFlushers(t, g, send)
	for i := 2; i < n; i++ {
		send(i)
	}
	waitFor(t, "every request queued", func() bool { return pending(p.traceQ, qkey{schema.Traces, "", "http"}) == n-2 })
	nc.Close()
	g.open()
	for i := range n {
		select {
		case o := <-results[i]:
			if !errors.Is(o.err, bus.ErrUnavailable) || o.rejected != 0 {
				t.Errorf("request %d: %d, %v; want 0 and bus.ErrUnavailable", i, o.rejected, o.err)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("request %d: no answer", i)
		}
	}
	if got, want := counters(t, reg, "otlp_arrow_ingest_rows_rejected_total")["protocol=http,reason=bus_unavailable,signal=traces"], float64(n*3); got != want {
		t.Errorf("rows_rejected_total{bus_unavailable} = %v, want %v", got, want)
	}
	if msgs := bustest.ReadMessages(t, js, schema.Traces); len(msgs) != 0 {
		t.Errorf("%d messages stored on a closed connection", len(msgs))
	}
}

func TestCoalesceServerStopped(t *testing.T) {
	srv, _, js := bustest.RunJetStream(t)
	p := newPub(t, js, Config{}, nil)
	srv.Shutdown()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, _, err := p.PublishTraces(ctx, traceRequest(resourceSpans("svc", i, 3)), "grpc")
			// Mostly bus.ErrUnavailable; an in-process connection to a
			// stopped server may also fail with io.ErrClosedPipe, which
			// bus.MapError does not classify.
			if err == nil || !(errors.Is(err, bus.ErrUnavailable) || errors.Is(err, io.ErrClosedPipe)) {
				t.Errorf("request %d: %v, want a bus error", i, err)
			}
		})
	}
	wg.Wait()
}

func TestCoalesceCancel(t *testing.T) {
	_, _, js := bustest.RunJetStream(t)
	g := newGatedJS(js)
	p := newPub(t, g, Config{}, nil)
	ctxs := make([]context.Context, 5)
	cancels := make([]context.CancelFunc, 5)
	for i := range ctxs {
		ctxs[i], cancels[i] = context.WithCancel(context.Background())
		defer cancels[i]()
	}
	results := make([]chan outcome, 5)
	send := func(i int) {
		results[i] = make(chan outcome, 1)
		go func() {
			rej, msg, err := p.PublishTraces(ctxs[i], traceRequest(resourceSpans("svc", i, 4)), "grpc")
			results[i] <- outcome{rej, msg, err}
		}()
	}
	holdFlushers(t, g, send) // 0 and 1 taken, at the gate
	for i := 2; i < 5; i++ {
		send(i)
	}
	key := qkey{schema.Traces, "", "grpc"}
	waitFor(t, "three requests queued", func() bool { return pending(p.traceQ, key) == 3 })

	// A queued request gives up: it answers at once and leaves the queue.
	cancels[2]()
	o := <-results[2]
	if !errors.Is(o.err, context.Canceled) || !strings.HasPrefix(o.err.Error(), "publish traces: ") {
		t.Errorf("canceled queued request: %v, want a wrapped context.Canceled", o.err)
	}
	if got := pending(p.traceQ, key); got != 2 {
		t.Errorf("queued after cancel = %d, want 2", got)
	}
	// A request being published gives up: it answers at once too, and its
	// rows may still be stored (at least once).
	cancels[0]()
	if o := <-results[0]; !errors.Is(o.err, context.Canceled) {
		t.Errorf("canceled taken request: %v, want context.Canceled", o.err)
	}
	g.open()
	var want []*tracepb.ResourceSpans
	for _, i := range []int{0, 1, 3, 4} {
		if i != 0 {
			if o := <-results[i]; o.err != nil {
				t.Errorf("request %d: %v", i, o.err)
			}
		}
		want = append(want, resourceSpans("svc", i, 4))
	}
	// Request 0's flusher publishes after its gate opened; wait for it.
	var msgs []bustest.Msg
	waitFor(t, "request 0's message", func() bool {
		msgs = bustest.ReadMessages(t, js, schema.Traces)
		return len(msgs) == 3
	})
	checkSpans(t, bustest.Traces(t, msgs), want)
}

func TestCoalesceMaxBatchRows(t *testing.T) {
	_, _, js := bustest.RunJetStream(t)
	g := newGatedJS(js)
	p := newPub(t, g, Config{Coalesce: CoalesceConfig{MaxBatchRows: 30}}, nil)
	sizes := []int{10, 10, 10, 10, 50, 10, 10, 10, 10, 20, 10}
	results := make([]chan outcome, len(sizes))
	send := func(i int) {
		results[i] = make(chan outcome, 1)
		go func() {
			rej, msg, err := p.PublishTraces(context.Background(), traceRequest(resourceSpans("svc", i, sizes[i])), "grpc")
			results[i] <- outcome{rej, msg, err}
		}()
	}
	holdFlushers(t, g, send)
	for i := 2; i < len(sizes); i++ {
		send(i)
		// Queue in order, so the batches below are known.
		waitFor(t, "queued", func() bool { return pending(p.traceQ, qkey{schema.Traces, "", "grpc"}) == i-1 })
	}
	g.open()
	total := 0
	for i := range sizes {
		if o := <-results[i]; o.err != nil {
			t.Errorf("request %d: %v", i, o.err)
		}
		total += sizes[i]
	}
	msgs := bustest.ReadMessages(t, js, schema.Traces)
	checkRows(t, msgs, total)
	var rows []int
	for _, m := range msgs {
		n, _ := strconv.Atoi(m.Header.Get(bus.HeaderRows))
		rows = append(rows, n)
		if n > 30 && n != 50 {
			t.Errorf("a message of %d rows: above MaxBatchRows 30 and not the single large request", n)
		}
	}
	// 2 held, then FIFO [10 10] [50] [10 10 10] [10 20] [10].
	if len(msgs) != 7 {
		t.Errorf("messages of %v rows, want 7 messages", rows)
	}
}

func TestCoalesceLinger(t *testing.T) {
	_, _, js := bustest.RunJetStream(t)
	const n, spans = 8, 5
	// A flusher lingers until the queue holds MaxBatchRows rows: all of
	// them go in one message.
	p := newPub(t, js, Config{Coalesce: CoalesceConfig{Linger: time.Hour, MaxBatchRows: n * spans}}, nil)
	var wg sync.WaitGroup
	var want []*tracepb.ResourceSpans
	for i := range n {
		want = append(want, resourceSpans("svc", i, spans))
		wg.Go(func() {
			if _, _, err := p.PublishTraces(context.Background(), traceRequest(resourceSpans("svc", i, spans)), "grpc"); err != nil {
				t.Errorf("request %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	msgs := bustest.ReadMessages(t, js, schema.Traces)
	if len(msgs) != 1 {
		t.Errorf("messages = %d, want 1", len(msgs))
	}
	checkSpans(t, bustest.Traces(t, msgs), want)

	// A short linger that never fills still publishes.
	p = newPub(t, js, Config{Coalesce: CoalesceConfig{Linger: time.Millisecond}}, nil)
	if _, _, err := p.PublishTraces(context.Background(), traceRequest(resourceSpans("svc", 99, 1)), "grpc"); err != nil {
		t.Fatal(err)
	}
}

func TestCoalesceConfig(t *testing.T) {
	_, _, js := bustest.RunJetStream(t)
	for _, c := range []CoalesceConfig{{MaxFlushers: -1}, {MaxBatchRows: -1}, {Linger: -time.Second}} {
		if _, err := NewPublisher(js, Config{MaxPayloadBytes: 1 << 20, Coalesce: c}, nil); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: err = %v, want ErrInvalidConfig", c, err)
		}
	}
	p := newPub(t, js, Config{}, nil)
	if got := p.traceQ.cfg; got.MaxFlushers != DefaultMaxFlushers || got.MaxBatchRows != DefaultMaxBatchRows || got.Linger != 0 {
		t.Errorf("defaults = %+v", got)
	}
}

// Without coalescing every request is its own message, as before.
func TestCoalesceDisabled(t *testing.T) {
	_, _, js := bustest.RunJetStream(t)
	p := newPub(t, js, Config{Coalesce: CoalesceConfig{Disabled: true}}, nil)
	const n = 16
	var wg sync.WaitGroup
	var want []*tracepb.ResourceSpans
	for i := range n {
		want = append(want, resourceSpans("svc", i, 3))
		wg.Go(func() {
			if _, _, err := p.PublishTraces(context.Background(), traceRequest(resourceSpans("svc", i, 3)), "grpc"); err != nil {
				t.Errorf("request %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	msgs := bustest.ReadMessages(t, js, schema.Traces)
	if len(msgs) != n {
		t.Errorf("messages = %d, want %d", len(msgs), n)
	}
	checkSpans(t, bustest.Traces(t, msgs), want)
}

// Requests of several services share messages (on otlp.traces._mixed when
// they hold several, each listing its services); with PerServiceMessages
// they split into per-service queues and messages, a request spanning
// services waiting for each.
func TestCoalesceServices(t *testing.T) {
	for _, perService := range []bool{false, true} {
		t.Run(fmt.Sprint("per_service=", perService), func(t *testing.T) {
			_, _, js := bustest.RunJetStream(t)
			p := newPub(t, js, Config{PerServiceMessages: perService}, nil)
			const n = 24
			var wg sync.WaitGroup
			var want []*tracepb.ResourceSpans
			for i := range n {
				a, b := resourceSpans(fmt.Sprintf("svc-%d", i%3), i, 4), resourceSpans(fmt.Sprintf("svc-%d", (i+1)%3), 1000+i, 2)
				want = append(want, a, b)
				wg.Go(func() {
					req := traceRequest(resourceSpans(fmt.Sprintf("svc-%d", i%3), i, 4), resourceSpans(fmt.Sprintf("svc-%d", (i+1)%3), 1000+i, 2))
					if _, _, err := p.PublishTraces(context.Background(), req, "grpc"); err != nil {
						t.Errorf("request %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			msgs := bustest.ReadMessages(t, js, schema.Traces)
			mixed := 0
			for _, m := range msgs {
				listed, err := bus.ParseServices(m.Header.Get(bus.HeaderServices))
				if err != nil {
					t.Fatal(err)
				}
				if got := bus.MessageSubject(schema.Traces, listed); got != m.Subject {
					t.Errorf("services %q on subject %s, want %s", listed, m.Subject, got)
				}
				if len(listed) > 1 {
					mixed++
				}
				var seen []string
				for _, rs := range bustest.Traces(t, []bustest.Msg{m}) {
					if svc := schema.ServiceName(rs.Resource); !slices.Contains(seen, svc) {
						seen = append(seen, svc)
					}
				}
				if !slices.Equal(seen, listed) {
					t.Errorf("%s lists %q, rows are of %q", bus.HeaderServices, listed, seen)
				}
			}
			if perService && mixed > 0 {
				t.Errorf("%d messages of several services", mixed)
			}
			if !perService && mixed == 0 {
				t.Error("no message of several services")
			}
			checkSpans(t, bustest.Traces(t, msgs), want)
		})
	}
}

func TestCoalesceMetricsLogs(t *testing.T) {
	_, _, js := bustest.RunJetStream(t)
	p := newPub(t, js, Config{}, nil)
	const n, points = 20, 5
	var wantMetrics []*metricspb.ResourceMetrics
	var wantLogs []*logspb.ResourceLogs
	metrics := func(i int) *metricspb.ResourceMetrics {
		m := &metricspb.Metric{Name: fmt.Sprintf("m%d", i%3), Unit: "1", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{}}}
		for j := range points {
			m.GetGauge().DataPoints = append(m.GetGauge().DataPoints, &metricspb.NumberDataPoint{
				TimeUnixNano: uint64(i*100 + j + 1),
				Value:        &metricspb.NumberDataPoint_AsInt{AsInt: int64(i*100 + j)},
				Attributes:   []*commonpb.KeyValue{{Key: "j", Value: intv(int64(j))}},
			})
		}
		return &metricspb.ResourceMetrics{Resource: resource("svc", i), ScopeMetrics: []*metricspb.ScopeMetrics{{Scope: &commonpb.InstrumentationScope{Name: "s"}, Metrics: []*metricspb.Metric{m}}}}
	}
	logs := func(i int) *logspb.ResourceLogs {
		sl := &logspb.ScopeLogs{Scope: &commonpb.InstrumentationScope{Name: "s"}}
		for j := range points {
			sl.LogRecords = append(sl.LogRecords, &logspb.LogRecord{TimeUnixNano: uint64(i*100 + j + 1), Body: strv(fmt.Sprintf("log %d %d", i, j)), SeverityNumber: logspb.SeverityNumber(j + 1)})
		}
		return &logspb.ResourceLogs{Resource: resource("svc", i), ScopeLogs: []*logspb.ScopeLogs{sl}}
	}
	var wg sync.WaitGroup
	for i := range n {
		wantMetrics = append(wantMetrics, metrics(i))
		wantLogs = append(wantLogs, logs(i))
		wg.Go(func() {
			if _, _, err := p.PublishMetrics(context.Background(), &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: []*metricspb.ResourceMetrics{metrics(i)}}, "grpc"); err != nil {
				t.Errorf("metrics %d: %v", i, err)
			}
			if _, _, err := p.PublishLogs(context.Background(), &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{logs(i)}}, "grpc"); err != nil {
				t.Errorf("logs %d: %v", i, err)
			}
		})
	}
	wg.Wait()

	gotMetrics := bustest.Metrics(t, bustest.ReadMessages(t, js, schema.Metrics))
	gotLogs := bustest.Logs(t, bustest.ReadMessages(t, js, schema.Logs))
	// Each resource (one per request) must come back whole and once.
	sameSet(t, "metrics", schema.NormalizeMetrics(gotMetrics), schema.NormalizeMetrics(wantMetrics))
	sameSet(t, "logs", schema.NormalizeLogs(gotLogs), schema.NormalizeLogs(wantLogs))
}

// sameSet checks that got and want hold equal messages, in any order.
func sameSet[M proto.Message](t *testing.T, what string, got, want []M) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d resources, want %d", what, len(got), len(want))
	}
	opts := proto.MarshalOptions{Deterministic: true}
	count := map[string]int{}
	for _, m := range want {
		b, _ := opts.Marshal(m)
		count[string(b)]++
	}
	for _, m := range got {
		b, _ := opts.Marshal(m)
		count[string(b)]--
	}
	for k, c := range count {
		if c != 0 {
			t.Errorf("%s: resource off by %d: %x", what, c, k[:min(len(k), 64)])
		}
	}
}

// traceRecord converts rss with mem; each call builds its own dictionaries.
func traceRecord(t *testing.T, mem memory.Allocator, rss ...*tracepb.ResourceSpans) arrow.RecordBatch {
	t.Helper()
	rec, err := schema.TracesToArrow(mem, rss)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestPublishRecordCoalesce(t *testing.T) {
	for _, perService := range []bool{false, true} {
		t.Run(fmt.Sprint("per_service=", perService), func(t *testing.T) { testPublishRecordCoalesce(t, perService) })
	}
}

func testPublishRecordCoalesce(t *testing.T, perService bool) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	_, _, js := bustest.RunJetStream(t)
	g := newGatedJS(js)
	reg := prometheus.NewRegistry()
	p := newPub(t, g, Config{PerServiceMessages: perService}, reg)

	const n = 12
	var want []*tracepb.ResourceSpans
	recs := make([]arrow.RecordBatch, n)
	for i := range n {
		// Two services per batch, interleaved by resource: both queues get
		// slices of every batch.
		rss := []*tracepb.ResourceSpans{resourceSpans("a", i, 3), resourceSpans("b", 100+i, 2), resourceSpans("a", 200+i, 1)}
		want = append(want, rss...)
		recs[i] = traceRecord(t, mem, rss...)
	}
	results := make([]chan outcome, n)
	send := func(i int) {
		results[i] = make(chan outcome, 1)
		go func() {
			rows, err := p.PublishRecord(context.Background(), schema.Traces, recs[i], "flight")
			recs[i].Release() // as the Flight server does: the queue holds its own references
			results[i] <- outcome{rejected: rows, err: err}
		}()
	}
	// A record queues as a whole (on the queue of its first service with
	// PerServiceMessages).
	holdFlushers(t, g, send)
	for i := 2; i < n; i++ {
		send(i)
	}
	key := qkey{schema.Traces, "", "flight"}
	if perService {
		key.service = "a"
	}
	waitFor(t, "every request queued", func() bool { return pending(p.recordQ, key) == n-2 })
	g.open()
	for i := range n {
		if o := <-results[i]; o.err != nil || o.rejected != 6 {
			t.Errorf("record %d = %d, %v; want 6, nil", i, o.rejected, o.err)
		}
	}
	msgs := bustest.ReadMessages(t, js, schema.Traces)
	// One for each held record, one for the others; per service a and b
	// with PerServiceMessages. The two held records flush concurrently, so
	// only the count per subject is deterministic.
	perSubject := map[string]int{}
	for _, m := range msgs {
		perSubject[m.Subject]++
		listed, err := bus.ParseServices(m.Header.Get(bus.HeaderServices))
		if err != nil || bus.MessageSubject(schema.Traces, listed) != m.Subject {
			t.Errorf("%s %q (%v) on %s", bus.HeaderServices, listed, err, m.Subject)
		}
	}
	want3 := map[string]int{"otlp.traces._mixed": 3}
	if perService {
		want3 = map[string]int{"otlp.traces.a": 3, "otlp.traces.b": 3}
	}
	if !maps.Equal(perSubject, want3) {
		t.Errorf("messages per subject = %v, want %v", perSubject, want3)
	}
	checkRows(t, msgs, n*6)
	differ := false
	for _, m := range msgs {
		batches := bustest.Records(t, m.Data)
		if len(batches) > 1 {
			differ = differ || !dictsEqual(batches[0], batches[len(batches)-1], "name")
		}
	}
	if !differ {
		t.Error("no coalesced payload holds batches with different dictionaries")
	}
	checkSpans(t, bustest.Traces(t, msgs), want)
	if count, sum := histogram(t, reg, "otlp_arrow_publish_batch_requests", "traces"); count != 3 || sum != n {
		t.Errorf("batch_requests: %d flushes of %v requests, want 3 of %d", count, sum, n)
	}
}

// dictsEqual reports whether column name has equal dictionaries in a and b.
func dictsEqual(a, b arrow.RecordBatch, name string) bool {
	i := a.Schema().FieldIndices(name)[0]
	da, db := a.Column(i).(*array.Dictionary).Dictionary(), b.Column(i).(*array.Dictionary).Dictionary()
	return array.Equal(da, db)
}

func TestPublishRecordIsolatesTooLarge(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	_, _, js := bustest.RunJetStream(t)
	g := newGatedJS(js)
	p := newPub(t, g, Config{MaxPayloadBytes: 256 << 10, Compression: payload.CompressionNone}, nil)
	const n = 8
	const bad = 5
	var want []*tracepb.ResourceSpans
	recs := make([]arrow.RecordBatch, n)
	for i := range n {
		rs := resourceSpans("svc", i, 3)
		if i == bad {
			rs.ScopeSpans[0].Spans[0].Attributes = append(rs.ScopeSpans[0].Spans[0].Attributes,
				&commonpb.KeyValue{Key: "big", Value: strv(strings.Repeat("y", 300<<10))})
		} else {
			want = append(want, resourceSpans("svc", i, 3))
		}
		recs[i] = traceRecord(t, mem, rs)
	}
	results := make([]chan outcome, n)
	send := func(i int) {
		results[i] = make(chan outcome, 1)
		go func() {
			rows, err := p.PublishRecord(context.Background(), schema.Traces, recs[i], "flight")
			recs[i].Release()
			results[i] <- outcome{rejected: rows, err: err}
		}()
	}
	holdFlushers(t, g, send)
	for i := 2; i < n; i++ {
		send(i)
	}
	waitFor(t, "every request queued", func() bool { return pending(p.recordQ, qkey{schema.Traces, "", "flight"}) == n-2 })
	g.open()
	for i := range n {
		o := <-results[i]
		switch {
		case i == bad && (!errors.Is(o.err, payload.ErrTooLarge) || o.rejected != 0):
			t.Errorf("record %d = %d, %v; want 0, payload.ErrTooLarge", i, o.rejected, o.err)
		case i != bad && (o.err != nil || o.rejected != 3):
			t.Errorf("record %d = %d, %v; want 3, nil", i, o.rejected, o.err)
		}
	}
	// The batch with the large row fell back to encoding each request
	// alone: 2 held + 5 good.
	msgs := bustest.ReadMessages(t, js, schema.Traces)
	if len(msgs) != 7 {
		t.Errorf("messages = %d, want 7", len(msgs))
	}
	checkSpans(t, bustest.Traces(t, msgs), want)
}

func TestPublishRecordCancel(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	_, _, js := bustest.RunJetStream(t)
	g := newGatedJS(js)
	p := newPub(t, g, Config{}, nil)
	recs := make([]arrow.RecordBatch, 3)
	for i := range recs {
		recs[i] = traceRecord(t, mem, resourceSpans("svc", i, 2))
	}
	ctx, cancel := context.WithCancel(context.Background())
	results := make([]chan outcome, 3)
	send := func(i int) {
		results[i] = make(chan outcome, 1)
		c := context.Background()
		if i == 2 {
			c = ctx
		}
		go func() {
			rows, err := p.PublishRecord(c, schema.Traces, recs[i], "flight")
			recs[i].Release()
			results[i] <- outcome{rejected: rows, err: err}
		}()
	}
	holdFlushers(t, g, send)
	send(2)
	waitFor(t, "queued", func() bool { return pending(p.recordQ, qkey{schema.Traces, "", "flight"}) == 1 })
	cancel()
	if o := <-results[2]; !errors.Is(o.err, context.Canceled) || o.rejected != 0 {
		t.Errorf("canceled record = %d, %v; want 0, context.Canceled", o.rejected, o.err)
	}
	g.open()
	for i := range 2 {
		if o := <-results[i]; o.err != nil {
			t.Errorf("record %d: %v", i, o.err)
		}
	}
	if msgs := bustest.ReadMessages(t, js, schema.Traces); len(msgs) != 2 {
		t.Errorf("messages = %d, want 2 (the canceled record withdrawn)", len(msgs))
	}
	// mem.AssertSize: the withdrawn slices were released.
}

// Several batches with their own dictionaries in one payload decode back
// batch by batch, each with its dictionaries.
func TestPayloadDictionariesPerBatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := traceRecord(t, mem, resourceSpans("a", 1, 4))
	defer a.Release()
	b := traceRecord(t, mem, resourceSpans("b", 2, 3))
	defer b.Release()
	if dictsEqual(a, b, "name") || dictsEqual(a, b, "service_name") {
		t.Fatal("test batches share dictionaries")
	}
	payloads, rows, err := payload.EncodeRows([]arrow.RecordBatch{a, b, a}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(payloads) != 1 || rows[0] != 11 {
		t.Fatalf("payloads %d of rows %v, want 1 of 11", len(payloads), rows)
	}
	_, recs, err := payload.Decode(payloads[0], mem)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(recs)
	if len(recs) != 3 {
		t.Fatalf("decoded %d batches, want 3", len(recs))
	}
	for i, want := range []arrow.RecordBatch{a, b, a} {
		if !array.RecordEqual(recs[i], want) {
			t.Errorf("batch %d differs", i)
		}
	}
}

// BenchmarkPublishConcurrent publishes 100-span requests from 8 goroutines,
// half of service a and half of b, to an embedded JetStream with file
// storage (every write synced), as ingest does: from the request's protobuf
// bytes (PublishTraceProto). It reports ns per request, bus messages per
// request, the process's CPU time per request (decode, publisher and
// embedded server together) and allocs.
//
//	go test -run '^$' -bench BenchmarkPublishConcurrent -benchtime 3000x ./publish/
func BenchmarkPublishConcurrent(b *testing.B) {
	for _, bc := range []struct {
		name     string
		disabled bool
	}{{"coalesce", false}, {"single", true}} {
		b.Run(bc.name, func(b *testing.B) {
			_, nc, js := bustest.RunJetStream(b)
			p := newPub(b, js, Config{MaxPayloadBytes: bus.PayloadLimit(nc, 0), Coalesce: CoalesceConfig{Disabled: bc.disabled}}, nil)
			const workers, spans = 8, 100
			reqs := make([][]byte, workers)
			ends := make([]int, workers) // offset of the first span's end time in reqs[w]
			for w := range reqs {
				req := traceRequest(resourceSpans([]string{"a", "b"}[w%2], w, spans))
				reqs[w], ends[w] = marshalWithEnd(b, req)
			}
			var next atomic.Int64
			b.ReportAllocs()
			cpu0 := cpuSeconds()
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					req, at := reqs[w], ends[w]
					end := binary.LittleEndian.Uint64(req[at:])
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						// Unique payloads: the bus would drop a duplicate.
						binary.LittleEndian.PutUint64(req[at:], end+uint64(i))
						if _, _, err := p.PublishTraceProto(context.Background(), req, "grpc"); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric((cpuSeconds()-cpu0)*1e9/float64(b.N), "cpu-ns/req")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			st, err := js.Stream(ctx, bus.StreamName(schema.Traces))
			if err != nil {
				b.Fatal(err)
			}
			info, err := st.Info(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(info.State.Msgs)/float64(b.N), "msgs/req")
		})
	}
}

// marshalWithEnd encodes req and finds where its first span's end time (a
// fixed64) lies in the bytes, so that a benchmark can change it in place.
func marshalWithEnd(b *testing.B, req *coltracepb.ExportTraceServiceRequest) ([]byte, int) {
	b.Helper()
	first := req.ResourceSpans[0].ScopeSpans[0].Spans[0]
	one, err := proto.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	first.EndTimeUnixNano ^= 0xff
	two, err := proto.Marshal(req)
	first.EndTimeUnixNano ^= 0xff
	if err != nil || len(one) != len(two) {
		b.Fatalf("re-encoding: %v", err)
	}
	for i := range one {
		if one[i] != two[i] {
			return one, i
		}
	}
	b.Fatal("end time not found in the encoding")
	return nil, 0
}

// cpuSeconds is the CPU time the process's goroutines used so far, as the
// runtime accounts it (every class but idle).
func cpuSeconds() float64 {
	samples := []rtmetrics.Sample{{Name: "/cpu/classes/total:cpu-seconds"}, {Name: "/cpu/classes/idle:cpu-seconds"}}
	rtmetrics.Read(samples)
	return samples[0].Value.Float64() - samples[1].Value.Float64()
}

// A request split into several payloads lists in each message only the
// services of its own rows.
func TestSplitListsServices(t *testing.T) {
	_, _, js := bustest.RunJetStream(t)
	p := newPub(t, js, Config{MaxPayloadBytes: 48 << 10, Compression: payload.CompressionNone}, nil)
	var rss []*tracepb.ResourceSpans
	for i := range 12 {
		rss = append(rss, resourceSpans(fmt.Sprintf("svc-%d", i/3), i, 20))
	}
	if _, _, err := p.PublishTraces(context.Background(), traceRequest(rss...), "grpc"); err != nil {
		t.Fatal(err)
	}
	msgs := bustest.ReadMessages(t, js, schema.Traces)
	if len(msgs) < 3 {
		t.Fatalf("messages = %d, want a split into at least 3", len(msgs))
	}
	for _, m := range msgs {
		listed, err := bus.ParseServices(m.Header.Get(bus.HeaderServices))
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, rs := range bustest.Traces(t, []bustest.Msg{m}) {
			if svc := schema.ServiceName(rs.Resource); !slices.Contains(seen, svc) {
				seen = append(seen, svc)
			}
		}
		if !slices.Equal(seen, listed) || bus.MessageSubject(schema.Traces, listed) != m.Subject {
			t.Errorf("%s: %s lists %q, rows are of %q", m.Subject, bus.HeaderServices, listed, seen)
		}
	}
	checkSpans(t, bustest.Traces(t, msgs), rss)
}
