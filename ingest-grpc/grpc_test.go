package ingest

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// bytesCodec sends *[]byte as the message bytes, unencoded.
type bytesCodec struct{}

func (bytesCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*(v.(*[]byte)))}, nil
}

func (bytesCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*(v.(*[]byte)) = data.Materialize()
	return nil
}

func (bytesCodec) Name() string { return "proto" }

func TestGRPCMalformed(t *testing.T) {
	b := runBus(t)
	s := startService(t, b.js, nil)
	conn := grpcConn(t, s)
	for _, method := range []string{
		"/opentelemetry.proto.collector.trace.v1.TraceService/Export",
		"/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
		"/opentelemetry.proto.collector.logs.v1.LogsService/Export",
	} {
		in, out := []byte("\xff\xff\xff\xff"), []byte(nil)
		err := conn.Invoke(context.Background(), method, &in, &out, grpc.ForceCodecV2(bytesCodec{}))
		if got, want := status.Code(err), codes.InvalidArgument; got != want {
			t.Errorf("%s: code = %v (%v), want %v", method, got, err, want)
		}
		if retryInfo(err) != nil {
			t.Errorf("%s: RetryInfo on a permanent error", method)
		}
	}
	mustSucceed(t, s)
}

func TestGRPCOversize(t *testing.T) {
	b := runBus(t)
	s := startService(t, b.js, func(c *Config) { c.MaxRequestBytes = 64 << 10 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := coltracepb.NewTraceServiceClient(grpcConn(t, s))
	_, err := client.Export(ctx, traceRequest(resourceSpans("big", 1, nil, 100<<10)))
	if got, want := status.Code(err), codes.ResourceExhausted; got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
	if retryInfo(err) != nil {
		t.Errorf("RetryInfo on an oversize request")
	}
	// Compressed small, too large once inflated.
	_, err = client.Export(ctx, traceRequest(resourceSpans("big", 1, bytes.Repeat([]byte{1}, 16), 0),
		resourceSpans(strings.Repeat("x", 100<<10), 1, nil, 0)), grpc.UseCompressor("gzip"))
	if got, want := status.Code(err), codes.ResourceExhausted; got != want {
		t.Fatalf("gzip: code = %v (%v), want %v", got, err, want)
	}
	mustSucceed(t, s)
}

func TestGRPCEveryService(t *testing.T) {
	b := runBus(t)
	s := startService(t, b.js, nil)
	if _, err := exportTraces(t, s, traceRequest()); err != nil {
		t.Fatalf("empty request: %v", err)
	}
	if got := bustest.ReadMessages(t, b.js, schema.Traces); len(got) != 0 {
		t.Fatalf("empty request published %d messages", len(got))
	}
	mustSucceed(t, s)
}

func TestPartialSuccess(t *testing.T) {
	b := runBus(t)
	s := startService(t, b.js, nil)
	badID := []byte{1, 2, 3}

	t.Run("grpc two services", func(t *testing.T) {
		resp, err := exportTraces(t, s, traceRequest(resourceSpans("good", 2, nil, 0), resourceSpans("bad", 3, badID, 0)))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := resp.GetPartialSuccess().GetRejectedSpans(), int64(3); got != want {
			t.Errorf("rejected spans = %d, want %d", got, want)
		}
		if msg := resp.GetPartialSuccess().GetErrorMessage(); !strings.Contains(msg, "bad") {
			t.Errorf("error message %q does not name the service", msg)
		}
	})
	t.Run("grpc one service", func(t *testing.T) {
		// Both resources share a service: the valid one still goes through.
		resp, err := exportTraces(t, s, traceRequest(resourceSpans("good", 2, nil, 0), resourceSpans("good", 4, badID, 0)))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := resp.GetPartialSuccess().GetRejectedSpans(), int64(4); got != want {
			t.Errorf("rejected spans = %d, want %d", got, want)
		}
	})
	t.Run("http", func(t *testing.T) {
		body := mustMarshal(t, traceRequest(resourceSpans("good", 2, nil, 0), resourceSpans("bad", 5, badID, 0)))
		resp, rb := post(t, s, PathTraces, contentTypeProto, "", bytes.NewReader(body))
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		var r coltracepb.ExportTraceServiceResponse
		if err := proto.Unmarshal(rb, &r); err != nil {
			t.Fatal(err)
		}
		if got, want := r.GetPartialSuccess().GetRejectedSpans(), int64(5); got != want {
			t.Errorf("rejected spans = %d, want %d", got, want)
		}
	})
	t.Run("all invalid", func(t *testing.T) {
		_, err := exportTraces(t, s, traceRequest(resourceSpans("bad", 2, badID, 0)))
		if got, want := status.Code(err), codes.InvalidArgument; got != want {
			t.Fatalf("code = %v (%v), want %v", got, err, want)
		}
	})
	msgs := bustest.ReadMessages(t, b.js, schema.Traces)
	if got, want := len(msgs), 3; got != want {
		t.Fatalf("messages = %d, want %d", got, want)
	}
	for _, m := range msgs {
		if got, want := m.Subject, "otlp.traces.good"; got != want {
			t.Errorf("subject = %q, want %q", got, want)
		}
		if got, want := m.Header.Get(bus.HeaderRows), "2"; got != want {
			t.Errorf("rows = %q, want %q", got, want)
		}
	}
}

// fillStream publishes requests until the bus refuses one and returns that
// error.
func fillStream(t *testing.T, s *Service) error {
	t.Helper()
	for i := range 100 {
		_, err := exportTraces(t, s, traceRequest(resourceSpans("filler", 4, nil, 1000)))
		if err != nil {
			if i == 0 {
				t.Fatalf("first request failed: %v", err)
			}
			return err
		}
	}
	t.Fatal("stream never filled")
	return nil
}

func TestBusFull(t *testing.T) {
	b := runBus(t, bustest.WithStreamsConfig(func(c *bus.StreamsConfig) {
		c.MaxBytes = 256 << 10
		c.MaxMsgSize = 64 << 10
	}))
	s := startService(t, b.js, func(c *Config) { c.MaxPayloadBytes = 48 << 10; c.RetryAfter = 2 * time.Second })

	err := fillStream(t, s)
	if got, want := status.Code(err), codes.Unavailable; got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
	ri := retryInfo(err)
	if ri == nil {
		t.Fatalf("no RetryInfo in %v", err)
	}
	if got, want := ri.GetRetryDelay().AsDuration(), 2*time.Second; got != want {
		t.Errorf("retry delay = %v, want %v", got, want)
	}
	// Twice the size of the refused request, so it cannot fit either.
	big := traceRequest(resourceSpans("filler", 8, nil, 1000))
	resp, body := post(t, s, PathTraces, contentTypeProto, "", bytes.NewReader(mustMarshal(t, big)))
	if got, want := resp.StatusCode, http.StatusTooManyRequests; got != want {
		t.Fatalf("HTTP status = %d, want %d (%s)", got, want, body)
	}
	if got, want := resp.Header.Get("Retry-After"), "2"; got != want {
		t.Errorf("Retry-After = %q, want %q", got, want)
	}
	checkStatusBody(t, resp, body, false, codes.Unavailable)
	jr := ptraceotlp.NewExportRequest()
	if err := jr.UnmarshalProto(mustMarshal(t, big)); err != nil {
		t.Fatal(err)
	}
	js, err := jr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	resp, body = post(t, s, PathTraces, contentTypeJSON, "", bytes.NewReader(js))
	if got, want := resp.StatusCode, http.StatusTooManyRequests; got != want {
		t.Fatalf("HTTP JSON status = %d, want %d (%s)", got, want, body)
	}
	checkStatusBody(t, resp, body, true, codes.Unavailable)

	// Once the stream has room again, clients succeed.
	st, err := b.js.Stream(context.Background(), bus.StreamName(schema.Traces))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Purge(context.Background()); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, s)
}

func TestBusDown(t *testing.T) {
	b := runBus(t)
	good := startService(t, b.js, nil)

	nc, err := nats.Connect("", nats.InProcessServer(b.srv.NATS()))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	down := startService(t, js, nil)
	nc.Close()

	_, err = exportTraces(t, down, traceRequest(resourceSpans("svc", 1, nil, 0)))
	if got, want := status.Code(err), codes.Unavailable; got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
	if retryInfo(err) == nil {
		t.Errorf("no RetryInfo in %v", err)
	}
	resp, body := post(t, down, PathTraces, contentTypeProto, "", bytes.NewReader(mustMarshal(t, traceRequest(resourceSpans("svc", 1, nil, 0)))))
	if got, want := resp.StatusCode, http.StatusServiceUnavailable; got != want {
		t.Fatalf("HTTP status = %d, want %d (%s)", got, want, body)
	}
	if got, want := resp.Header.Get("Retry-After"), "1"; got != want {
		t.Errorf("Retry-After = %q, want %q", got, want)
	}
	checkStatusBody(t, resp, body, false, codes.Unavailable)
	mustSucceed(t, good)
}

func TestAdmissionBusy(t *testing.T) {
	b := runBus(t)
	s := startService(t, b.js, func(c *Config) {
		c.MaxRequestBytes = 1 << 20
		c.MaxInflightBytes = 1 << 20
		c.AdmitWait = 10 * time.Millisecond
	})
	// Hold every byte, as concurrent large requests would.
	ticket, err := s.limiter.Acquire(context.Background(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	_, err = exportTraces(t, s, traceRequest(resourceSpans("svc", 1, nil, 0)))
	if got, want := status.Code(err), codes.Unavailable; got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
	if retryInfo(err) == nil {
		t.Errorf("no RetryInfo in %v", err)
	}
	resp, body := post(t, s, PathLogs, contentTypeProto, "", bytes.NewReader(mustMarshal(t, logRequest("svc"))))
	if got, want := resp.StatusCode, http.StatusTooManyRequests; got != want {
		t.Fatalf("HTTP status = %d, want %d (%s)", got, want, body)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Errorf("no Retry-After")
	}
	ticket.Release()
	mustSucceed(t, s)
	if got, want := s.limiter.InFlight(), int64(0); got != want {
		t.Errorf("bytes in flight = %d, want %d", got, want)
	}
}

func TestRunStops(t *testing.T) {
	b := runBus(t)
	cfg := DefaultConfig()
	cfg.GRPC.Addr, cfg.HTTP.Addr = "127.0.0.1:0", "127.0.0.1:0"
	s, err := New(cfg, b.js, testLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(); !errors.Is(err, ErrNotServing) {
		t.Fatalf("Ready before Run = %v, want ErrNotServing", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for s.Ready() != nil {
		time.Sleep(5 * time.Millisecond)
	}
	mustSucceed(t, s)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if err := s.Ready(); !errors.Is(err, ErrNotServing) {
		t.Fatalf("Ready after Run = %v, want ErrNotServing", err)
	}
	if err := s.Run(context.Background()); err == nil {
		t.Fatalf("second Run = nil, want an error")
	}
}
