package ingestflight

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/otlp-arrow/otlp-arrow/ingest-flight/internal/conform"
	"github.com/otlp-arrow/otlp-arrow/ingest-flight/internal/seedspans"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// flightServer implements Arrow Flight DoPut, GetSchema, GetFlightInfo and
// ListFlights for the three signal descriptors.
type flightServer struct {
	flight.BaseFlightServer
	pub        publisher
	mem        memory.Allocator
	metrics    *serverMetrics
	maxRows    int64
	retryAfter time.Duration
}

var _ flight.FlightServer = (*flightServer)(nil)

// validDescriptors lists the accepted descriptor paths, for error messages.
var validDescriptors = func() string {
	names := make([]string, len(schema.Signals))
	for i, s := range schema.Signals {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}()

// descriptorSignal returns the signal a descriptor names: a PATH of one
// element, or a CMD holding the name.
func descriptorSignal(d *flight.FlightDescriptor) (schema.Signal, error) {
	var name string
	switch {
	case d == nil:
		return "", fmt.Errorf("%w: no flight descriptor: want path %s", ErrInvalid, validDescriptors)
	case d.GetType() == flight.DescriptorPATH && len(d.GetPath()) == 1:
		name = d.GetPath()[0]
	case d.GetType() == flight.DescriptorCMD:
		name = string(d.GetCmd())
	default:
		return "", fmt.Errorf("%w: unknown flight descriptor path %q: want one of %s", ErrInvalid, strings.Join(d.GetPath(), "/"), validDescriptors)
	}
	sig, err := schema.ParseSignal(name)
	if err != nil {
		return "", fmt.Errorf("%w: unknown flight descriptor %q: want one of %s", ErrInvalid, name, validDescriptors)
	}
	return sig, nil
}

// DoPut reads one stream of batches for the signal its descriptor names,
// publishes every batch and answers each with a PutResult whose
// app_metadata is {"rows":N} once JetStream acknowledged it. The first
// error ends the stream with its status; batches answered before it stay
// published.
func (f *flightServer) DoPut(stream flight.FlightService_DoPutServer) error {
	ctx := stream.Context()
	sig := schema.Signal("unknown")
	err := f.doPut(ctx, stream, &sig)
	if err == nil {
		return nil
	}
	st := errorStatus(err, f.retryAfter)
	f.metrics.requests.WithLabelValues(SourceFlight, string(sig), st.Code().String()).Inc()
	return st.Err()
}

func (f *flightServer) doPut(ctx context.Context, stream flight.FlightService_DoPutServer, sig *schema.Signal) error {
	rdr, err := flight.NewRecordReader(stream, ipc.WithAllocator(f.mem))
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		if _, ok := status.FromError(err); ok {
			return err
		}
		return fmt.Errorf("read flight stream: %w: %w", ErrInvalid, err)
	}
	defer rdr.Release()
	s, err := descriptorSignal(rdr.LatestFlightDescriptor())
	if err != nil {
		return err
	}
	*sig = s
	in, err := f.newIntake(s, rdr.Schema())
	if err != nil {
		return fmt.Errorf("flight %s schema: %w", s, err)
	}
	for rdr.Next() {
		rec := rdr.RecordBatch()
		rows, err := in(ctx, rec)
		if err != nil {
			return err
		}
		meta := []byte(`{"rows":` + strconv.FormatInt(rows, 10) + `}`)
		if err := stream.Send(&flight.PutResult{AppMetadata: meta}); err != nil {
			return err
		}
		f.metrics.requests.WithLabelValues(SourceFlight, string(s), codes.OK.String()).Inc()
	}
	if err := rdr.Err(); err != nil && !errors.Is(err, io.EOF) {
		if _, ok := status.FromError(err); ok {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("read flight %s stream: %w: %w", s, ErrInvalid, err)
	}
	return nil
}

// intake publishes one batch of a stream and returns the rows accepted.
type intake func(ctx context.Context, rec arrow.RecordBatch) (int64, error)

// newIntake chooses how batches of in are published for sig: as they are
// (the signal's schema), conformed (a compatible subset), or converted
// through OTLP (the seed's flat span schema).
func (f *flightServer) newIntake(sig schema.Signal, in *arrow.Schema) (intake, error) {
	target := schema.Schema(sig)
	if sig == schema.Traces && !in.Equal(target) && seedspans.Detect(in) {
		if err := seedspans.Check(in); err != nil {
			return nil, err
		}
		return func(ctx context.Context, rec arrow.RecordBatch) (int64, error) {
			if err := f.checkBatch(rec); err != nil {
				return 0, err
			}
			rss, err := seedspans.ToOTLP(rec)
			if err != nil {
				return 0, err
			}
			rejected, msg, err := f.pub.PublishTraces(ctx, &coltracepb.ExportTraceServiceRequest{ResourceSpans: rss}, SourceFlight)
			if err != nil {
				return 0, err
			}
			_ = msg // partial rejections are counted in rows_rejected_total
			return rec.NumRows() - rejected, nil
		}, nil
	}
	plan, err := conform.NewPlan(target, in)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, rec arrow.RecordBatch) (int64, error) {
		if err := f.checkBatch(rec); err != nil {
			return 0, err
		}
		full, err := plan.Apply(f.mem, rec)
		if err != nil {
			return 0, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		defer full.Release()
		return f.pub.PublishRecord(ctx, sig, full, SourceFlight)
	}, nil
}

// checkBatch bounds and validates a batch before anything reads its
// values: offsets, lengths and dictionary indices must be in range.
func (f *flightServer) checkBatch(rec arrow.RecordBatch) error {
	if rec.NumRows() > f.maxRows {
		return fmt.Errorf("flight batch of %d rows: %w: max_batch_rows is %d", rec.NumRows(), ErrTooLarge, f.maxRows)
	}
	// array.ValidateRecordFull, without rebuilding nested children.
	if err := payload.ValidateColumns(rec); err != nil {
		return fmt.Errorf("flight batch: %w: %w", ErrInvalid, err)
	}
	return nil
}

// flightInfo describes the descriptor of sig.
func (f *flightServer) flightInfo(sig schema.Signal) *flight.FlightInfo {
	return &flight.FlightInfo{
		Schema:           flight.SerializeSchema(schema.Schema(sig), f.mem),
		FlightDescriptor: &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{string(sig)}},
		TotalRecords:     -1,
		TotalBytes:       -1,
	}
}

// GetSchema returns the schema DoPut accepts in full for the descriptor.
func (f *flightServer) GetSchema(_ context.Context, d *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	sig, err := descriptorSignal(d)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(schema.Schema(sig), f.mem)}, nil
}

// GetFlightInfo describes one descriptor: its schema; there are no
// endpoints, the flights are write-only.
func (f *flightServer) GetFlightInfo(_ context.Context, d *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	sig, err := descriptorSignal(d)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return f.flightInfo(sig), nil
}

// ListFlights describes the three accepted descriptors.
func (f *flightServer) ListFlights(_ *flight.Criteria, stream flight.FlightService_ListFlightsServer) error {
	for _, sig := range schema.Signals {
		if err := stream.Send(f.flightInfo(sig)); err != nil {
			return err
		}
	}
	return nil
}

// ListActions lists no actions.
func (f *flightServer) ListActions(_ *flight.Empty, _ flight.FlightService_ListActionsServer) error {
	return nil
}
