package ingestflight

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	arrowpb "github.com/open-telemetry/otel-arrow/go/api/experimental/arrow/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/otlp-arrow/otlp-arrow/ingest-flight/internal/ipccheck"
	"github.com/otlp-arrow/otlp-arrow/proto/admit"
)

// Bytes in flight are bounded per message: a Flight DoPut message (schema,
// dictionary or record batch) or an OTAP BatchArrowRecords is admitted by
// its size once gRPC received it, before it is decoded, and stays admitted
// until the batch it carries is published (Flight: until the next message
// is read; OTAP: until its BatchStatus is sent). gRPC itself bounds each
// message by MaxMessageBytes and each connection's streams by
// MaxConcurrentStreams.

// admitStream is a stream interceptor that checks and admits every DoPut
// message, and turns a panic in any stream handler into an INTERNAL answer
// instead of the end of the process.
type admitStream struct {
	limiter    *admit.Limiter
	retryAfter time.Duration
	log        *slog.Logger
}

func (a admitStream) intercept(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			a.log.Error("stream handler panicked", "method", info.FullMethod, "panic", r)
			err = status.Errorf(codes.Internal, "internal error")
		}
	}()
	if info.FullMethod != doPutMethod {
		return handler(srv, ss)
	}
	as := &admittedStream{ServerStream: ss, a: a}
	defer as.release()
	return handler(srv, as)
}

// checkFlightData refuses a message whose Arrow metadata would make the
// reader allocate beyond what the message holds (see package ipccheck).
func checkFlightData(fd *flight.FlightData) error {
	if err := ipccheck.Message(fd.GetDataHeader()); err != nil {
		err = fmt.Errorf("read flight message: %w: %w", ErrInvalid, err)
		return &statusError{err: err, st: status.New(codes.InvalidArgument, err.Error())}
	}
	return nil
}

// admittedStream holds the admission of the last message received.
type admittedStream struct {
	grpc.ServerStream
	a    admitStream
	held *admit.Ticket
}

func (s *admittedStream) release() {
	s.held.Release()
	s.held = nil
}

// RecvMsg releases the previous message (the reader is done with its batch
// by the time it asks for the next one), receives one and admits it.
func (s *admittedStream) RecvMsg(m any) error {
	s.release()
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	fd, ok := m.(*flight.FlightData)
	if !ok {
		return nil
	}
	if err := checkFlightData(fd); err != nil {
		return err
	}
	n := int64(len(fd.GetDataHeader()) + len(fd.GetDataBody()) + len(fd.GetAppMetadata()))
	t, err := s.a.limiter.Acquire(s.Context(), n)
	if err != nil {
		return admitError(fmt.Errorf("admit flight message: %w", err), s.a.retryAfter)
	}
	s.held = t
	return nil
}

// statusError is an error that also carries the gRPC status answering it,
// so that the Flight reader passes it through as the stream's answer.
type statusError struct {
	err error
	st  *status.Status
}

func (e *statusError) Error() string              { return e.err.Error() }
func (e *statusError) Unwrap() error              { return e.err }
func (e *statusError) GRPCStatus() *status.Status { return e.st }

// admitError gives an admission failure its answer: UNAVAILABLE with
// RetryInfo when too much is in flight, the context's error when the
// client went away.
func admitError(err error, retryAfter time.Duration) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &statusError{err: err, st: errorStatus(err, retryAfter)}
}

// batchBytes is the admission weight of an OTAP batch: its Arrow payloads.
func batchBytes(bar *arrowpb.BatchArrowRecords) int64 {
	n := int64(len(bar.GetHeaders()))
	for _, p := range bar.GetArrowPayloads() {
		n += int64(len(p.GetRecord()) + len(p.GetSchemaId()))
	}
	return n
}

// capAllocator refuses (panics on) single allocations above max: a
// compressed Arrow buffer declares its uncompressed size, and the reader
// allocates it before decompressing. The readers recover the panic into an
// error.
type capAllocator struct {
	memory.Allocator
	max int
}

func (a capAllocator) Allocate(size int) []byte {
	if size > a.max {
		panic(fmt.Errorf("%w: allocation of %d bytes above %d", ErrInvalid, size, a.max))
	}
	return a.Allocator.Allocate(size)
}

func (a capAllocator) Reallocate(size int, b []byte) []byte {
	if size > a.max {
		panic(fmt.Errorf("%w: allocation of %d bytes above %d", ErrInvalid, size, a.max))
	}
	return a.Allocator.Reallocate(size, b)
}
