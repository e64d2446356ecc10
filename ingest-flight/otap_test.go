package ingestflight

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	arrowpb "github.com/open-telemetry/otel-arrow/go/api/experimental/arrow/v1"
	"github.com/open-telemetry/otel-arrow/go/pkg/otel/arrow_record"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pdataTraces(t testing.TB, rss []*tracepb.ResourceSpans) ptrace.Traces {
	t.Helper()
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(mustMarshal(t, &coltracepb.ExportTraceServiceRequest{ResourceSpans: rss})); err != nil {
		t.Fatal(err)
	}
	return req.Traces()
}

func pdataMetrics(t testing.TB, rms []*metricspb.ResourceMetrics) pmetric.Metrics {
	t.Helper()
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalProto(mustMarshal(t, &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: rms})); err != nil {
		t.Fatal(err)
	}
	return req.Metrics()
}

func pdataLogs(t testing.TB, rls []*logspb.ResourceLogs) plog.Logs {
	t.Helper()
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(mustMarshal(t, &collogspb.ExportLogsServiceRequest{ResourceLogs: rls})); err != nil {
		t.Fatal(err)
	}
	return req.Logs()
}

// otapStreamClient is the client side of any OTAP stream.
type otapStreamClient interface {
	Send(*arrowpb.BatchArrowRecords) error
	Recv() (*arrowpb.BatchStatus, error)
	CloseSend() error
}

// openOTAP opens the stream of sig on conn; it ends with the test.
func openOTAP(t testing.TB, conn *grpc.ClientConn, sig schema.Signal) otapStreamClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	var st otapStreamClient
	var err error
	switch sig {
	case schema.Traces:
		st, err = arrowpb.NewArrowTracesServiceClient(conn).ArrowTraces(ctx)
	case schema.Metrics:
		st, err = arrowpb.NewArrowMetricsServiceClient(conn).ArrowMetrics(ctx)
	case schema.Logs:
		st, err = arrowpb.NewArrowLogsServiceClient(conn).ArrowLogs(ctx)
	}
	if err != nil {
		t.Fatalf("open %s stream: %v", sig, err)
	}
	return st
}

// roundTrip sends bar and returns its status.
func roundTrip(t testing.TB, st otapStreamClient, bar *arrowpb.BatchArrowRecords) *arrowpb.BatchStatus {
	t.Helper()
	if err := st.Send(bar); err != nil {
		t.Fatalf("send: %v", err)
	}
	res, err := st.Recv()
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	if got, want := res.GetBatchId(), bar.GetBatchId(); got != want {
		t.Errorf("status for batch %d, want %d", got, want)
	}
	return res
}

func closeOTAP(t testing.TB, st otapStreamClient) {
	t.Helper()
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("stream end: %v, want EOF", err)
	}
}

func TestOTAPEverySignal(t *testing.T) {
	js := runBus(t)
	s := startService(t, js, nil)
	conn := grpcConn(t, s)
	first, second := []string{"checkout", "cart"}, []string{"search"}

	traces1, traces2 := fixtureTraces(first, 3), fixtureTraces(second, 2)
	metrics1, metrics2 := fixtureMetrics(first), fixtureMetrics(second)
	logs1, logs2 := fixtureLogs(first, 4), fixtureLogs(second, 1)

	// One producer per stream, as the OTel-Arrow exporter does: a producer's
	// IPC streams (and schema ids) carry over from batch to batch.
	var p *arrow_record.Producer
	type enc func() (*arrowpb.BatchArrowRecords, error)
	for _, tt := range []struct {
		sig     schema.Signal
		batches []enc
	}{
		{schema.Traces, []enc{
			func() (*arrowpb.BatchArrowRecords, error) {
				return p.BatchArrowRecordsFromTraces(pdataTraces(t, traces1))
			},
			func() (*arrowpb.BatchArrowRecords, error) {
				return p.BatchArrowRecordsFromTraces(pdataTraces(t, traces2))
			},
		}},
		{schema.Metrics, []enc{
			func() (*arrowpb.BatchArrowRecords, error) {
				return p.BatchArrowRecordsFromMetrics(pdataMetrics(t, metrics1))
			},
			func() (*arrowpb.BatchArrowRecords, error) {
				return p.BatchArrowRecordsFromMetrics(pdataMetrics(t, metrics2))
			},
		}},
		{schema.Logs, []enc{
			func() (*arrowpb.BatchArrowRecords, error) { return p.BatchArrowRecordsFromLogs(pdataLogs(t, logs1)) },
			func() (*arrowpb.BatchArrowRecords, error) { return p.BatchArrowRecordsFromLogs(pdataLogs(t, logs2)) },
		}},
	} {
		p = arrow_record.NewProducer()
		st := openOTAP(t, conn, tt.sig)
		for i, e := range tt.batches {
			bar, err := e()
			if err != nil {
				t.Fatalf("%s batch %d: produce: %v", tt.sig, i, err)
			}
			res := roundTrip(t, st, bar)
			if res.GetStatusCode() != arrowpb.StatusCode_OK {
				t.Fatalf("%s batch %d: status %v %q", tt.sig, i, res.GetStatusCode(), res.GetStatusMessage())
			}
		}
		closeOTAP(t, st)
		_ = p.Close()
		msgs := bustest.ReadMessages(t, js, tt.sig)
		sig := string(tt.sig)
		if got, want := subjects(t, msgs), "otlp."+sig+"._mixed[cart,checkout] otlp."+sig+".search[search]"; got != want {
			t.Errorf("subjects = %s, want %s", got, want)
		}
		checkHeaders(t, msgs, tt.sig, SourceOTAP)
	}
	sameByService(t, schema.NormalizeTraces(busTraces(t, js)), schema.NormalizeTraces(append(traces1, traces2...)), (*tracepb.ResourceSpans).GetResource)
	gotM, wantM := schema.NormalizeMetrics(busMetrics(t, js)), schema.NormalizeMetrics(append(metrics1, metrics2...))
	sameByService(t, gotM, wantM, resourceOf(gotM))
	gotL, wantL := schema.NormalizeLogs(busLogs(t, js)), schema.NormalizeLogs(append(logs1, logs2...))
	sameByService(t, gotL, wantL, resourceOf(gotL))
}

func TestOTAPBadBatchFailsAlone(t *testing.T) {
	js := runBus(t)
	s := startService(t, js, nil)
	conn := grpcConn(t, s)
	p := arrow_record.NewProducer()
	defer func() { _ = p.Close() }()
	st := openOTAP(t, conn, schema.Traces)

	good := func(svc string) *arrowpb.BatchArrowRecords {
		bar, err := p.BatchArrowRecordsFromTraces(pdataTraces(t, fixtureTraces([]string{svc}, 2)))
		if err != nil {
			t.Fatal(err)
		}
		return bar
	}
	if res := roundTrip(t, st, good("before")); res.GetStatusCode() != arrowpb.StatusCode_OK {
		t.Fatalf("first batch: %v %q", res.GetStatusCode(), res.GetStatusMessage())
	}
	bad := []*arrowpb.BatchArrowRecords{
		{BatchId: 1001, ArrowPayloads: []*arrowpb.ArrowPayload{{SchemaId: "bogus", Type: arrowpb.ArrowPayloadType_SPANS, Record: []byte("not arrow at all")}}},
		{BatchId: 1002, ArrowPayloads: []*arrowpb.ArrowPayload{{SchemaId: "empty", Type: arrowpb.ArrowPayloadType_SPANS}}},
	}
	for _, b := range bad {
		res := roundTrip(t, st, b)
		if got, want := res.GetStatusCode(), arrowpb.StatusCode_INVALID_ARGUMENT; got != want {
			t.Errorf("bad batch %d: status %v %q, want %v", b.GetBatchId(), got, res.GetStatusMessage(), want)
		}
		if !strings.Contains(res.GetStatusMessage(), "not an Arrow IPC stream") {
			t.Errorf("bad batch %d: message %q", b.GetBatchId(), res.GetStatusMessage())
		}
	}
	if res := roundTrip(t, st, good("after")); res.GetStatusCode() != arrowpb.StatusCode_OK {
		t.Fatalf("batch after the bad ones: %v %q", res.GetStatusCode(), res.GetStatusMessage())
	}
	closeOTAP(t, st)
	var subjects []string
	for _, m := range bustest.ReadMessages(t, js, schema.Traces) {
		subjects = append(subjects, m.Subject)
	}
	if got, want := strings.Join(subjects, " "), "otlp.traces.before otlp.traces.after"; got != want {
		t.Errorf("subjects = %s, want %s", got, want)
	}
}

func TestOTAPBusDown(t *testing.T) {
	srv, _, js := bustest.RunJetStream(t)
	good := startService(t, js, nil)
	nc, err := nats.Connect("", nats.InProcessServer(srv.NATS()))
	if err != nil {
		t.Fatal(err)
	}
	downJS, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	down := startService(t, downJS, nil)
	nc.Close()

	p := arrow_record.NewProducer()
	defer func() { _ = p.Close() }()
	bar, err := p.BatchArrowRecordsFromLogs(pdataLogs(t, fixtureLogs([]string{"svc"}, 2)))
	if err != nil {
		t.Fatal(err)
	}
	st := openOTAP(t, grpcConn(t, down), schema.Logs)
	res := roundTrip(t, st, bar)
	if got, want := res.GetStatusCode(), arrowpb.StatusCode_UNAVAILABLE; got != want {
		t.Fatalf("status %v %q, want %v", got, res.GetStatusMessage(), want)
	}
	if !strings.Contains(res.GetStatusMessage(), "retry after 1s") {
		t.Errorf("message %q has no retry hint", res.GetStatusMessage())
	}
	closeOTAP(t, st)

	// A concurrent client of a healthy service is served meanwhile, and a
	// client that vanishes mid-stream does not disturb it.
	var wg sync.WaitGroup
	conn := grpcConn(t, good)
	wg.Go(func() {
		ctx, cancel := context.WithCancel(context.Background())
		st, err := arrowpb.NewArrowTracesServiceClient(conn).ArrowTraces(ctx)
		if err == nil {
			_ = st.Send(&arrowpb.BatchArrowRecords{BatchId: 1, ArrowPayloads: []*arrowpb.ArrowPayload{{SchemaId: "x", Type: arrowpb.ArrowPayloadType_SPANS, Record: []byte("junk")}}})
		}
		cancel()
	})
	p2 := arrow_record.NewProducer()
	defer func() { _ = p2.Close() }()
	st2 := openOTAP(t, conn, schema.Traces)
	for i := range 3 {
		bar, err := p2.BatchArrowRecordsFromTraces(pdataTraces(t, fixtureTraces([]string{fmt.Sprintf("svc-%d", i)}, 2)))
		if err != nil {
			t.Fatal(err)
		}
		if res := roundTrip(t, st2, bar); res.GetStatusCode() != arrowpb.StatusCode_OK {
			t.Fatalf("healthy client batch %d: %v %q", i, res.GetStatusCode(), res.GetStatusMessage())
		}
	}
	closeOTAP(t, st2)
	wg.Wait()
	if got, want := len(bustest.ReadMessages(t, js, schema.Traces)), 3; got != want {
		t.Errorf("%d trace messages, want %d", got, want)
	}
}
