package forward

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func concat[T any](parts ...[]T) []T { return slices.Concat(parts...) }

func TestGRPCForwardsEverySignal(t *testing.T) {
	js := runBus(t)
	r := &recorder{}
	srv := startGRPCTarget(t, r)
	cfg := testConfig(ProtocolGRPC, "http://"+srv.addr)
	cfg.Auth.APIKey = "key-123"
	cfg.Auth.BearerToken = "tok-456"
	cfg.Headers = map[string]Secret{"X-Tenant": "t1"}
	fw := startForwarder(t, cfg, js, nil)

	tr := concat(traces("svc-a", 0, 3), traces("svc.b", 3, 2))
	ms := metricsData("svc-a", 0, 4)
	ls := logsData("svc-a", 0, 3)
	publish(t, js, "svc-a", tr[:1])
	publish(t, js, "svc.b", tr[1:])
	publish(t, js, "svc-a", ms)
	publish(t, js, "svc-a", ls)

	waitFor(t, "every signal", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.traces) == 2 && len(r.metrics) == 1 && len(r.logs) == 1
	})
	r.mu.Lock()
	equalMessages(t, "traces", schema.NormalizeTraces(r.traces), schema.NormalizeTraces(tr))
	equalMessages(t, "metrics", schema.NormalizeMetrics(r.metrics), schema.NormalizeMetrics(ms))
	equalMessages(t, "logs", schema.NormalizeLogs(r.logs), schema.NormalizeLogs(ls))
	r.mu.Unlock()

	h := r.lastHeaders()
	for k, want := range map[string]string{"x-api-key": "key-123", "authorization": "Bearer tok-456", "x-tenant": "t1"} {
		if got := h.Get(k); got != want {
			t.Errorf("header %s: got %q, want %q", k, got, want)
		}
	}
	m := fw.f.metrics
	// The counters move just after the target answered.
	for sig, want := range map[string]float64{"traces": 5, "metrics": 4, "logs": 3} {
		waitFor(t, "rows_forwarded_total{"+sig+"}", func() bool { return counter(m.rows, sig) == want })
	}
	if got := counter(m.attempts, "traces", outcomeSuccess); got != 2 {
		t.Errorf("attempts_total{traces,success}: got %v, want 2", got)
	}
}

func TestHTTPForwardsWithBasicAuth(t *testing.T) {
	js := runBus(t)
	r := &recorder{}
	srv := startHTTPTarget(t, r)
	cfg := testConfig(ProtocolProtobuf, srv.url()+"/")
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("s3cret-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Auth.BasicUser = "alice"
	cfg.Auth.BasicPasswordFile = pw
	startForwarder(t, cfg, js, nil)

	tr := traces("checkout", 0, 4)
	ls := logsData("checkout", 0, 2)
	ms := metricsData("checkout", 0, 2)
	publish(t, js, "checkout", tr)
	publish(t, js, "checkout", ls)
	publish(t, js, "checkout", ms)
	waitFor(t, "traces, metrics and logs", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.traces) == 1 && len(r.logs) == 1 && len(r.metrics) == 1
	})
	r.mu.Lock()
	equalMessages(t, "traces", schema.NormalizeTraces(r.traces), schema.NormalizeTraces(tr))
	equalMessages(t, "logs", schema.NormalizeLogs(r.logs), schema.NormalizeLogs(ls))
	equalMessages(t, "metrics", schema.NormalizeMetrics(r.metrics), schema.NormalizeMetrics(ms))
	r.mu.Unlock()
	h := r.lastHeaders()
	if got, want := h.Get("Authorization"), "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:s3cret-pw")); got != want {
		t.Errorf("Authorization: got %q, want %q", got, want)
	}
	if got := h.Get("Content-Encoding"); got != "gzip" {
		t.Errorf("Content-Encoding: got %q, want gzip", got)
	}
	if got := h.Get("Content-Type"); got != "application/x-protobuf" {
		t.Errorf("Content-Type: got %q", got)
	}
}

func TestHTTPSWithCAFile(t *testing.T) {
	js := runBus(t)
	r := &recorder{}
	// The endpoint's path prefix must be kept: the target serves
	// /otlp/v1/<signal>.
	ts := httptest.NewUnstartedServer(http.StripPrefix("/otlp", otlpHTTPHandler(r)))
	ts.StartTLS()
	t.Cleanup(ts.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(ProtocolHTTP, ts.URL+"/otlp")
	cfg.TLS.CAFile = ca
	cfg.Compression = "none"
	cfg.Auth.APIKey = "k1"
	cfg.Auth.APIKeyHeader = "X-Honeycomb-Team"
	startForwarder(t, cfg, js, nil)

	tr := traces("svc", 0, 2)
	publish(t, js, "svc", tr)
	waitFor(t, "traces over TLS", func() bool { return r.spanCount() == 2 })
	h := r.lastHeaders()
	if got := h.Get("X-Honeycomb-Team"); got != "k1" {
		t.Errorf("api key header: got %q, want k1", got)
	}
	if got := h.Get("Content-Encoding"); got != "" {
		t.Errorf("Content-Encoding: got %q, want none", got)
	}
}

func TestFlightPassesArrowThrough(t *testing.T) {
	js := runBus(t)
	fs, endpoint := startFlightTarget(t)
	cfg := testConfig(ProtocolArrowFlight, endpoint)
	cfg.Auth.APIKey = "flight-key"
	fw := startForwarder(t, cfg, js, nil)

	tr := traces("svc", 0, 3)
	ls := logsData("svc", 0, 2)
	publish(t, js, "svc", tr)
	publish(t, js, "svc", ls)
	waitFor(t, "two puts", func() bool { return len(fs.received()) == 2 })

	bySig := map[string]flightRecv{}
	for _, p := range fs.received() {
		if len(p.path) != 1 {
			t.Fatalf("descriptor path: got %v, want one element", p.path)
		}
		bySig[p.path[0]] = p
		if got := p.hdr.Get("x-api-key"); got != "flight-key" {
			t.Errorf("x-api-key: got %q", got)
		}
	}
	gotTr, err := schema.TracesFromArrow(bySig["traces"].recs)
	if err != nil {
		t.Fatalf("traces from arrow: %v", err)
	}
	equalMessages(t, "traces", schema.NormalizeTraces(gotTr), schema.NormalizeTraces(tr))
	gotLs, err := schema.LogsFromArrow(bySig["logs"].recs)
	if err != nil {
		t.Fatalf("logs from arrow: %v", err)
	}
	equalMessages(t, "logs", schema.NormalizeLogs(gotLs), schema.NormalizeLogs(ls))
	if !bySig["traces"].recs[0].Schema().Equal(schema.Schema(schema.Traces)) {
		t.Errorf("traces schema changed on the way:\n%s", bySig["traces"].recs[0].Schema())
	}
	waitFor(t, "rows counted", func() bool { return counter(fw.f.metrics.rows, "traces") == 3 })
}

func TestPermanentRejectionIsDeadLettered(t *testing.T) {
	for _, protocol := range []string{ProtocolHTTP, ProtocolGRPC} {
		t.Run(protocol, func(t *testing.T) {
			ctx := testCtx(t)
			js := runBus(t)
			r := &recorder{}
			r.answer = func(_ schema.Signal, service string) error {
				if service != "bad" {
					return nil
				}
				if protocol == ProtocolHTTP {
					return &httpAnswer{status: 400, body: "span name\nmissing"}
				}
				return status.Error(codes.InvalidArgument, "span name missing")
			}
			var endpoint string
			if protocol == ProtocolHTTP {
				endpoint = startHTTPTarget(t, r).url()
			} else {
				endpoint = "http://" + startGRPCTarget(t, r).addr
			}
			log, buf := newLog()
			t.Cleanup(func() {
				if t.Failed() {
					t.Log(buf)
				}
			})
			fw := startForwarder(t, testConfig(protocol, endpoint), js, log)

			publish(t, js, "good", traces("good", 0, 2))
			bad := traces("bad", 2, 2)
			publish(t, js, "bad", bad)
			publish(t, js, "good", traces("good", 4, 2))
			waitFor(t, "good spans", func() bool { return r.spanCount() == 4 })
			waitFor(t, "dead letter counted", func() bool { return counter(fw.f.metrics.dead, "traces") == 1 })

			s, err := js.Stream(ctx, bus.DeadStream)
			if err != nil {
				t.Fatal(err)
			}
			dm, err := s.GetLastMsgForSubject(ctx, bus.DeadSubject(schema.Traces))
			if err != nil {
				t.Fatalf("dead letter: %v", err)
			}
			if got := dm.Header.Get(HeaderDeadSubject); got != "otlp.traces.bad" {
				t.Errorf("%s: got %q", HeaderDeadSubject, got)
			}
			reason := dm.Header.Get(HeaderDeadReason)
			wantReason := map[string]string{ProtocolHTTP: "http 400: span name missing", ProtocolGRPC: "grpc InvalidArgument: span name missing"}[protocol]
			if reason != wantReason {
				t.Errorf("%s: got %q, want %q", HeaderDeadReason, reason, wantReason)
			}
			if got := dm.Header.Get(bus.HeaderSignal); got != "traces" {
				t.Errorf("original header %s: got %q", bus.HeaderSignal, got)
			}
			if got := dm.Header.Get(bus.HeaderRows); got != "2" {
				t.Errorf("original header %s: got %q", bus.HeaderRows, got)
			}
			if got := counter(fw.f.metrics.attempts, "traces", outcomePermanent); got != 1 {
				t.Errorf("attempts_total{permanent}: got %v, want 1 (no retry)", got)
			}
			if st := fw.f.BreakerState(schema.Traces); st != BreakerClosed {
				t.Errorf("breaker: got %v, want closed", st)
			}
		})
	}
}

func TestPartialSuccessIsCounted(t *testing.T) {
	js := runBus(t)
	r := &recorder{rejected: 1}
	srv := startGRPCTarget(t, r)
	log, buf := newLog()
	fw := startForwarder(t, testConfig(ProtocolGRPC, "http://"+srv.addr), js, log)
	publish(t, js, "svc", traces("svc", 0, 3))
	waitFor(t, "partial success counted", func() bool { return counter(fw.f.metrics.partial, "traces") == 1 })
	waitFor(t, "rows_forwarded_total", func() bool { return counter(fw.f.metrics.rows, "traces") == 2 })
	if n := strings.Count(buf.String(), "target rejected part of a message"); n != 1 {
		t.Errorf("partial success log lines: got %d, want 1\n%s", n, buf)
	}
}

func TestSubjectFilter(t *testing.T) {
	ctx := testCtx(t)
	js := runBus(t)
	r := &recorder{}
	srv := startGRPCTarget(t, r)
	cfg := testConfig(ProtocolGRPC, "http://"+srv.addr)
	cfg.SubjectFilter = "otlp.*.checkout"
	cfg.Signals = []schema.Signal{schema.Traces, schema.Metrics}
	fw := startForwarder(t, cfg, js, nil)

	for _, sig := range []schema.Signal{schema.Traces, schema.Metrics} {
		c, err := js.Consumer(ctx, bus.StreamName(sig), bus.DurableForwarder)
		if err != nil {
			t.Fatal(err)
		}
		// Messages of several services are on otlp.<signal>._mixed.
		cc := c.CachedInfo().Config
		if got, want := append([]string{cc.FilterSubject}, cc.FilterSubjects...), []string{"", "otlp." + string(sig) + ".checkout", "otlp." + string(sig) + "._mixed"}; !slices.Equal(got, want) {
			t.Errorf("%s consumer filters: got %q, want %q", sig, got, want)
		}
	}
	publish(t, js, "cart", traces("cart", 0, 1))
	publish(t, js, "checkout", traces("checkout", 1, 2))
	publish(t, js, "checkout", logsData("checkout", 0, 1)) // logs are not enabled
	publish(t, js, "checkout", metricsData("checkout", 0, 1))
	// Of a message of several services, only checkout's rows go; a message
	// without checkout is skipped.
	publish(t, js, "", slices.Concat(traces("cart", 10, 1), traces("checkout", 11, 2), traces("ads", 13, 1), traces("checkout", 14, 1)))
	publish(t, js, "", slices.Concat(traces("cart", 20, 1), traces("ads", 21, 1)))
	waitFor(t, "checkout traces and metrics", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.traces) > 0 && len(r.metrics) == 1
	})
	waitFor(t, "checkout spans", func() bool { return r.spanCount() == 5 })
	waitFor(t, "logs skipped", func() bool { return counter(fw.f.metrics.skipped, "logs") == 1 })
	waitFor(t, "cart and ads skipped", func() bool { return counter(fw.f.metrics.skipped, "traces") == 1 })
	want := map[uint64]int{1: 1, 2: 1, 11: 1, 12: 1, 14: 1}
	if ids := r.spanIDs(); !maps.Equal(ids, want) {
		t.Errorf("span ids: got %v, want %v", ids, want)
	}
	// Neither the cart message nor the log stays in the streams (purged).
	for _, sig := range []schema.Signal{schema.Traces, schema.Logs} {
		waitFor(t, string(sig)+" stream empty", func() bool {
			s, err := js.Stream(ctx, bus.StreamName(sig))
			return err == nil && s.CachedInfo().State.Msgs == 0
		})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.logs) != 0 {
		t.Errorf("logs forwarded: %d", len(r.logs))
	}
}

// TestOutageOpensBreakerAndDrains: the target goes away under continuous
// publishing; the breaker opens, publishing goes on, and after recovery
// every row arrives once, in order per subject.
func TestOutageOpensBreakerAndDrains(t *testing.T) {
	js := runBus(t)
	r := &recorder{}
	srv := startGRPCTarget(t, r)
	log, buf := newLog()
	cfg := testConfig(ProtocolGRPC, "http://"+srv.addr)
	cfg.Signals = []schema.Signal{schema.Traces}
	fw := startForwarder(t, cfg, js, log)
	m := fw.f.metrics

	const total = 60
	var published atomic.Int64
	pubErr := make(chan error, 1)
	go func() {
		defer close(pubErr)
		for i := range total {
			svc := fmt.Sprintf("svc-%d", i%3)
			if err := tryPublish(js, svc, traces(svc, uint64(2*i), 2)); err != nil {
				pubErr <- err
				return
			}
			published.Add(1)
			time.Sleep(3 * time.Millisecond)
		}
	}()

	start := time.Now()
	waitFor(t, "first spans", func() bool { return r.spanCount() >= 20 })
	t.Logf("%v: first spans; stopping the target", time.Since(start))
	srv.stop()
	waitFor(t, "breaker open", func() bool { return fw.f.BreakerState(schema.Traces) == BreakerOpen })
	if got := gauge(m.breaker, "traces"); got != 2 {
		t.Errorf("circuit_breaker_state while open: got %v, want 2", got)
	}
	// Stay down until a half-open trial has failed too.
	waitFor(t, "a failed half-open trial", func() bool { return counter(m.attempts, "traces", outcomeBreakerOpen) >= 2 })
	if !strings.Contains(buf.String(), "circuit breaker open") {
		t.Errorf("no breaker open log line:\n%s", buf)
	}
	t.Logf("%v: %d published; starting the target", time.Since(start), published.Load())
	srv.start()
	if err := <-pubErr; err != nil {
		t.Fatalf("publish during the outage: %v", err)
	}
	t.Logf("%v: all published", time.Since(start))
	waitFor(t, "every span", func() bool { return len(r.spanIDs()) == 2*total })
	t.Logf("%v: all received", time.Since(start))
	for id, n := range r.spanIDs() {
		if n != 1 {
			t.Errorf("span %d received %d times", id, n)
		}
	}
	waitFor(t, "breaker closed", func() bool { return fw.f.BreakerState(schema.Traces) == BreakerClosed })
	if got := gauge(m.breaker, "traces"); got != 0 {
		t.Errorf("circuit_breaker_state after recovery: got %v, want 0", got)
	}
	if !strings.Contains(buf.String(), "circuit breaker closed") {
		t.Errorf("no breaker closed log line:\n%s", buf)
	}
	waitFor(t, "rows_forwarded_total", func() bool { return counter(m.rows, "traces") == 2*total })
	// In order per subject.
	r.mu.Lock()
	defer r.mu.Unlock()
	last := map[string]int64{}
	for _, rs := range r.traces {
		svc := schema.ServiceName(rs.Resource)
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				id := int64(spanID(s))
				if prev, ok := last[svc]; ok && id <= prev {
					t.Errorf("%s: span %d after %d", svc, id, prev)
				}
				last[svc] = id
			}
		}
	}
}

func spanID(s *tracepb.Span) uint64 {
	var v uint64
	for _, b := range s.SpanId {
		v = v<<8 | uint64(b)
	}
	return v
}

// TestRestartDuringOutage: a forwarder stopped during an outage and a new
// one started on the same durable lose nothing.
func TestRestartDuringOutage(t *testing.T) {
	js := runBus(t)
	r := &recorder{}
	srv := startHTTPTarget(t, r)
	cfg := testConfig(ProtocolHTTP, srv.url())
	cfg.Signals = []schema.Signal{schema.Traces}

	pub := func(from, n int) {
		for i := from; i < from+n; i++ {
			svc := fmt.Sprintf("svc-%d", i%2)
			publish(t, js, svc, traces(svc, uint64(2*i), 2))
		}
	}
	a := startForwarder(t, cfg, js, nil)
	pub(0, 10)
	waitFor(t, "first batch", func() bool { return r.spanCount() == 20 })
	srv.stop()
	pub(10, 10)
	waitFor(t, "breaker open", func() bool { return a.f.BreakerState(schema.Traces) == BreakerOpen })
	a.stop()

	b := startForwarder(t, cfg, js, nil)
	pub(20, 10)
	srv.start()
	waitFor(t, "every span", func() bool { return len(r.spanIDs()) == 60 })
	dups := 0
	for _, n := range r.spanIDs() {
		dups += n - 1
	}
	if dups > 0 {
		t.Logf("%d duplicate spans after the restart (at-least-once)", dups)
	}
	waitFor(t, "second forwarder rows >= 40", func() bool { return counter(b.f.metrics.rows, "traces") >= 40 })
}

// TestSecretsNeverShown: with every kind of secret configured and failures
// of every kind, no secret reaches a log line or an error.
func TestSecretsNeverShown(t *testing.T) {
	js := runBus(t)
	r := &recorder{}
	var calls atomic.Int64
	r.answer = func(_ schema.Signal, service string) error {
		switch {
		case calls.Add(1) <= 4:
			return &httpAnswer{status: 401, body: "unauthorized"}
		case service == "bad":
			return &httpAnswer{status: 400, body: "bad data"}
		}
		return nil
	}
	srv := startHTTPTarget(t, r)
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("SECRET-file-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(ProtocolHTTP, srv.url())
	cfg.Auth.APIKeyFile = keyFile
	cfg.Auth.BearerToken = "SECRET-bearer"
	cfg.Headers = map[string]Secret{"X-Custom-Auth": "SECRET-header"}
	log, buf := newLog()
	fw := startForwarder(t, cfg, js, log)
	publish(t, js, "svc", traces("svc", 0, 1))
	publish(t, js, "bad", traces("bad", 1, 1))
	publish(t, js, "svc", traces("svc", 2, 1))
	waitFor(t, "good spans", func() bool { return r.spanCount() == 2 })
	waitFor(t, "dead letter", func() bool { return counter(fw.f.metrics.dead, "traces") == 1 })
	h := r.lastHeaders()
	if h.Get("X-API-Key") != "SECRET-file-key" || h.Get("Authorization") != "Bearer SECRET-bearer" ||
		h.Get("X-Custom-Auth") != "SECRET-header" {
		t.Errorf("credentials did not arrive: %v", h)
	}
	fw.stop()
	if !strings.Contains(buf.String(), "circuit breaker open") || !strings.Contains(buf.String(), "http 401") {
		t.Errorf("expected breaker and 401 log lines:\n%s", buf)
	}
	if strings.Contains(buf.String(), "SECRET") {
		t.Errorf("a secret reached the log:\n%s", buf)
	}

	// Config dumps and validation errors.
	cfg.Auth.APIKeyFile = ""
	cfg.Auth.APIKey = "SECRET-inline"
	cfg.Auth.BasicPassword = "SECRET-pw\n"
	for _, s := range append(dumps(t, cfg), cfg.Validate().Error()) {
		if strings.Contains(s, "SECRET") {
			t.Errorf("a secret is shown: %s", s)
		}
	}
}

// TestWaitsForStreamsAndCreatesConsumer: Run waits for the streams, and
// creates its consumer when the streams were declared without it.
func TestWaitsForStreamsAndCreatesConsumer(t *testing.T) {
	ctx := testCtx(t)
	_, _, js := bustest.RunJetStream(t, bustest.WithoutStreams())
	r := &recorder{}
	srv := startGRPCTarget(t, r)
	log, buf := newLog()
	f, err := New(testConfig(ProtocolGRPC, "http://"+srv.addr), js, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.Run(runCtx) }()
	waitFor(t, "waiting log", func() bool { return strings.Contains(buf.String(), "waiting for the stream") })
	if err := f.Ready(); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Ready before the streams: got %v, want ErrNotStarted", err)
	}
	if err := bus.EnsureStreams(ctx, js, bus.DefaultStreamsConfig()); err != nil { // the writer's durable only
		t.Fatal(err)
	}
	waitFor(t, "ready", func() bool { return f.Ready() == nil })
	if !strings.Contains(buf.String(), "was not declared with the stream") {
		t.Errorf("no log line about the created consumer:\n%s", buf)
	}
	publish(t, js, "svc", traces("svc", 0, 2))
	waitFor(t, "spans", func() bool { return r.spanCount() == 2 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if err := f.Ready(); !errors.Is(err, ErrStopped) {
		t.Errorf("Ready after Run: got %v, want ErrStopped", err)
	}
}

func TestDisabledRunsIdle(t *testing.T) {
	js := runBus(t)
	f, err := New(DefaultConfig(), js, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	waitFor(t, "ready", func() bool { return f.Ready() == nil })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// Of a message of several services, the Flight target gets only the rows of
// the services the subject filter selects, as slices of the payload's
// batches.
func TestFlightSubjectFilterSelectsRows(t *testing.T) {
	js := runBus(t)
	fs, endpoint := startFlightTarget(t)
	cfg := testConfig(ProtocolArrowFlight, endpoint)
	cfg.SubjectFilter = "otlp.traces.checkout"
	cfg.Signals = []schema.Signal{schema.Traces}
	startForwarder(t, cfg, js, nil)

	checkout := slices.Concat(traces("checkout", 11, 2), traces("checkout", 14, 3))
	publish(t, js, "", slices.Concat(traces("cart", 10, 1), checkout[:1], traces("ads", 13, 1), checkout[1:]))
	waitFor(t, "one put", func() bool { return len(fs.received()) == 1 })
	got, err := schema.TracesFromArrow(fs.received()[0].recs)
	if err != nil {
		t.Fatal(err)
	}
	equalMessages(t, "traces", schema.NormalizeTraces(got), schema.NormalizeTraces(checkout))
}
