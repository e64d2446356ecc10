package ingestflight

import (
	"context"
	"errors"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/otlp-arrow/otlp-arrow/ingest-flight/internal/conform"
	"github.com/otlp-arrow/otlp-arrow/ingest-flight/internal/seedspans"
	"github.com/otlp-arrow/otlp-arrow/proto/admit"
	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/publish"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Errors the server's answers are built from; match them with errors.Is.
var (
	// ErrInvalid is wrapped for input that cannot be accepted: an unknown
	// descriptor, a schema that does not fit, a batch that fails validation
	// or decoding. Permanent: INVALID_ARGUMENT.
	ErrInvalid = errors.New("ingestflight: invalid input")
	// ErrTooLarge is wrapped for a batch above MaxBatchRows. Permanent:
	// RESOURCE_EXHAUSTED without RetryInfo.
	ErrTooLarge = errors.New("ingestflight: batch too large")
	// ErrBusy is wrapped when a message is not admitted because too many
	// bytes are in flight. Retryable: UNAVAILABLE with RetryInfo.
	ErrBusy = admit.ErrBusy
)

// class is how an error is answered.
type class int

const (
	classInternal class = iota
	classInvalid
	classTooLarge
	classFull
	classDown
	classCanceled
	classDeadline
	classUnauthenticated
)

func classify(err error) class {
	switch {
	case errors.Is(err, ErrUnauthenticated):
		return classUnauthenticated
	case errors.Is(err, admit.ErrBusy):
		return classFull
	case errors.Is(err, admit.ErrTooLarge):
		return classTooLarge
	case errors.Is(err, ErrInvalid), errors.Is(err, schema.ErrInvalid), errors.Is(err, publish.ErrInvalidRequest),
		errors.Is(err, conform.ErrIncompatible), errors.Is(err, seedspans.ErrInvalid):
		return classInvalid
	case errors.Is(err, ErrTooLarge), errors.Is(err, bus.ErrTooLarge):
		return classTooLarge
	case errors.Is(err, bus.ErrFull):
		return classFull
	case errors.Is(err, bus.ErrUnavailable):
		return classDown
	case errors.Is(err, context.Canceled):
		return classCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return classDeadline
	}
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.ResourceExhausted:
			return classTooLarge
		case codes.Canceled:
			return classCanceled
		case codes.DeadlineExceeded:
			return classDeadline
		case codes.Unavailable:
			return classDown
		}
	}
	return classInternal
}

// retryable reports whether the answer carries a retry hint.
func (c class) retryable() bool { return c == classFull || c == classDown }

func (c class) grpcCode() codes.Code {
	switch c {
	case classInvalid:
		return codes.InvalidArgument
	case classTooLarge:
		return codes.ResourceExhausted
	case classFull, classDown:
		return codes.Unavailable
	case classCanceled:
		return codes.Canceled
	case classDeadline:
		return codes.DeadlineExceeded
	case classUnauthenticated:
		return codes.Unauthenticated
	}
	return codes.Internal
}

// errorStatus builds the gRPC status answering err: the class's code, the
// error text, and RetryInfo(retryAfter) when the class is retryable.
func errorStatus(err error, retryAfter time.Duration) *status.Status {
	c := classify(err)
	st := status.New(c.grpcCode(), err.Error())
	if c.retryable() {
		if withInfo, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)}); derr == nil {
			st = withInfo
		}
	}
	return st
}
