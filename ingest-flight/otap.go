package ingestflight

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	arrowpb "github.com/open-telemetry/otel-arrow/go/api/experimental/arrow/v1"
	"github.com/open-telemetry/otel-arrow/go/pkg/otel/arrow_record"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/metric/noop"
	"google.golang.org/grpc/codes"

	"github.com/otlp-arrow/otlp-arrow/ingest-flight/internal/ipccheck"
	"github.com/otlp-arrow/otlp-arrow/proto/admit"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// otapServer serves the OTel-Arrow services: bidirectional streams of
// BatchArrowRecords, each answered by one BatchStatus.
type otapServer struct {
	pub        publisher
	metrics    *serverMetrics
	retryAfter time.Duration
	limiter    *admit.Limiter // bytes in flight; see admit.go
}

// otapStream is the server side of any of the three OTAP streams.
type otapStream interface {
	Send(*arrowpb.BatchStatus) error
	Recv() (*arrowpb.BatchArrowRecords, error)
	Context() context.Context
}

// decodeFunc decodes one batch with the stream's consumer and publishes it,
// returning the partial-rejection message.
type decodeFunc func(ctx context.Context, c *arrow_record.Consumer, bar *arrowpb.BatchArrowRecords) (string, error)

type otapTraces struct {
	arrowpb.UnimplementedArrowTracesServiceServer
	o *otapServer
}

type otapMetrics struct {
	arrowpb.UnimplementedArrowMetricsServiceServer
	o *otapServer
}

type otapLogs struct {
	arrowpb.UnimplementedArrowLogsServiceServer
	o *otapServer
}

var (
	_ arrowpb.ArrowTracesServiceServer  = (*otapTraces)(nil)
	_ arrowpb.ArrowMetricsServiceServer = (*otapMetrics)(nil)
	_ arrowpb.ArrowLogsServiceServer    = (*otapLogs)(nil)
)

// ArrowTraces serves one stream of trace batches.
func (s *otapTraces) ArrowTraces(stream arrowpb.ArrowTracesService_ArrowTracesServer) error {
	return s.o.serve(stream, schema.Traces, s.o.decodeTraces)
}

// ArrowMetrics serves one stream of metric batches.
func (s *otapMetrics) ArrowMetrics(stream arrowpb.ArrowMetricsService_ArrowMetricsServer) error {
	return s.o.serve(stream, schema.Metrics, s.o.decodeMetrics)
}

// ArrowLogs serves one stream of log batches.
func (s *otapLogs) ArrowLogs(stream arrowpb.ArrowLogsService_ArrowLogsServer) error {
	return s.o.serve(stream, schema.Logs, s.o.decodeLogs)
}

func newConsumer() *arrow_record.Consumer {
	return arrow_record.NewConsumer(arrow_record.WithMeterProvider(noop.NewMeterProvider()))
}

// serve answers every batch of a stream in order until the client closes
// it. A failed batch gets its status and the stream goes on.
func (o *otapServer) serve(stream otapStream, sig schema.Signal, decode decodeFunc) error {
	ctx := stream.Context()
	st := &otapState{cons: newConsumer(), seen: map[string]bool{}}
	defer func() { _ = st.cons.Close() }()
	for {
		bar, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		status := o.batch(ctx, st, sig, bar, decode)
		o.metrics.requests.WithLabelValues(SourceOTAP, string(sig), codes.Code(status.GetStatusCode()).String()).Inc()
		if err := stream.Send(status); err != nil {
			return err
		}
	}
}

// otapState is a stream's decoder: the consumer (schemas and dictionaries
// carry across batches) and the schema ids it has accepted.
type otapState struct {
	cons *arrow_record.Consumer
	seen map[string]bool
}

// reset replaces a consumer whose state is unknown after a panic.
func (st *otapState) reset() {
	_ = st.cons.Close()
	st.cons = newConsumer()
	st.seen = map[string]bool{}
}

func (o *otapServer) batch(ctx context.Context, st *otapState, sig schema.Signal, bar *arrowpb.BatchArrowRecords, decode decodeFunc) *arrowpb.BatchStatus {
	var msg string
	ticket, err := o.limiter.Acquire(ctx, batchBytes(bar))
	if err == nil {
		msg, err = o.decodeChecked(ctx, st, bar, decode)
		ticket.Release()
	}
	if err == nil {
		return &arrowpb.BatchStatus{BatchId: bar.GetBatchId(), StatusCode: arrowpb.StatusCode_OK, StatusMessage: msg}
	}
	c := classify(err)
	text := fmt.Sprintf("%s batch %d: %v", sig, bar.GetBatchId(), err)
	if c.Retryable() {
		text += fmt.Sprintf(" (retry after %s)", o.retryAfter)
	}
	return &arrowpb.BatchStatus{BatchId: bar.GetBatchId(), StatusCode: arrowpb.StatusCode(c.GRPCCode()), StatusMessage: text}
}

// decodeChecked refuses a batch that starts a stream (a schema id not seen
// yet) with bytes that are not an Arrow IPC stream before the consumer
// sees it: the consumer drops the previous stream of the same payload type
// when a new schema id comes, so a bad batch would break the good ones that
// follow. A panic in the decoder fails the batch and resets the consumer.
func (o *otapServer) decodeChecked(ctx context.Context, st *otapState, bar *arrowpb.BatchArrowRecords, decode decodeFunc) (msg string, err error) {
	for i, p := range bar.GetArrowPayloads() {
		if err := ipccheck.Stream(p.GetRecord()); err != nil {
			return "", fmt.Errorf("payload %d (schema id %q, %s): %w: not an Arrow IPC stream: %w", i, p.GetSchemaId(), p.GetType(), ErrInvalid, err)
		}
		if st.seen[p.GetSchemaId()] {
			continue
		}
		rdr, err := ipc.NewReader(bytes.NewReader(p.GetRecord()))
		if err != nil {
			return "", fmt.Errorf("payload %d (schema id %q, %s): %w: not an Arrow IPC stream: %w", i, p.GetSchemaId(), p.GetType(), ErrInvalid, err)
		}
		rdr.Release()
	}
	defer func() {
		if r := recover(); r != nil {
			st.reset()
			msg, err = "", fmt.Errorf("decode: %w: %v", ErrInvalid, r)
		}
	}()
	msg, err = decode(ctx, st.cons, bar)
	if err == nil {
		for _, p := range bar.GetArrowPayloads() {
			st.seen[p.GetSchemaId()] = true
		}
	}
	return msg, err
}

func (o *otapServer) decodeTraces(ctx context.Context, c *arrow_record.Consumer, bar *arrowpb.BatchArrowRecords) (string, error) {
	tds, err := c.TracesFrom(bar)
	if err != nil {
		return "", fmt.Errorf("decode: %w: %w", ErrInvalid, err)
	}
	all := ptrace.NewTraces()
	for _, td := range tds {
		td.ResourceSpans().MoveAndAppendTo(all.ResourceSpans())
	}
	_, msg, err := o.pub.PublishTraceData(ctx, all, SourceOTAP)
	return msg, err
}

func (o *otapServer) decodeMetrics(ctx context.Context, c *arrow_record.Consumer, bar *arrowpb.BatchArrowRecords) (string, error) {
	mds, err := c.MetricsFrom(bar)
	if err != nil {
		return "", fmt.Errorf("decode: %w: %w", ErrInvalid, err)
	}
	all := pmetric.NewMetrics()
	for _, md := range mds {
		md.ResourceMetrics().MoveAndAppendTo(all.ResourceMetrics())
	}
	_, msg, err := o.pub.PublishMetricData(ctx, all, SourceOTAP)
	return msg, err
}

func (o *otapServer) decodeLogs(ctx context.Context, c *arrow_record.Consumer, bar *arrowpb.BatchArrowRecords) (string, error) {
	lds, err := c.LogsFrom(bar)
	if err != nil {
		return "", fmt.Errorf("decode: %w: %w", ErrInvalid, err)
	}
	all := plog.NewLogs()
	for _, ld := range lds {
		ld.ResourceLogs().MoveAndAppendTo(all.ResourceLogs())
	}
	_, msg, err := o.pub.PublishLogData(ctx, all, SourceOTAP)
	return msg, err
}
