package ingest

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/otlp-arrow/otlp-arrow/proto/admit"
	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/publish"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Errors the ingest answers are built from; match them with errors.Is.
var (
	// ErrInvalidRequest (the shared publish.ErrInvalidRequest) is wrapped for a request that cannot be decoded or
	// whose every row is invalid. Permanent: INVALID_ARGUMENT / HTTP 400.
	ErrInvalidRequest = publish.ErrInvalidRequest
	// ErrRequestTooLarge is wrapped for a request above MaxRequestBytes.
	// Permanent: RESOURCE_EXHAUSTED without RetryInfo / HTTP 413.
	ErrRequestTooLarge = errors.New("ingest: request too large")
	// ErrBusy is wrapped when a request is not admitted because too many
	// bytes are in flight. Retryable: UNAVAILABLE with RetryInfo / HTTP 429.
	ErrBusy = admit.ErrBusy
)

// class is how an error is answered.
type class int

const (
	classInternal class = iota
	classInvalid
	classTooLarge
	classBusy
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
	case errors.Is(err, ErrInvalidRequest), errors.Is(err, schema.ErrInvalid):
		return classInvalid
	case errors.Is(err, ErrRequestTooLarge), errors.Is(err, admit.ErrTooLarge):
		return classTooLarge
	case errors.Is(err, admit.ErrBusy):
		return classBusy
	case errors.Is(err, bus.ErrFull):
		return classFull
	case errors.Is(err, bus.ErrUnavailable):
		return classDown
	case errors.Is(err, context.Canceled):
		return classCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return classDeadline
	}
	return classInternal
}

// retryable reports whether the answer carries a retry hint.
func (c class) retryable() bool {
	return c == classBusy || c == classFull || c == classDown
}

func (c class) grpcCode() codes.Code {
	switch c {
	case classInvalid:
		return codes.InvalidArgument
	case classTooLarge:
		return codes.ResourceExhausted
	case classBusy, classFull, classDown:
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

func (c class) httpStatus() int {
	switch c {
	case classInvalid:
		return http.StatusBadRequest
	case classTooLarge:
		return http.StatusRequestEntityTooLarge
	case classBusy, classFull:
		return http.StatusTooManyRequests
	case classDown, classCanceled, classDeadline:
		return http.StatusServiceUnavailable
	case classUnauthenticated:
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

// errorStatus builds the gRPC status answering err: the class's code, the
// error text, and RetryInfo(retryAfter) when the class is retryable.
func errorStatus(err error, retryAfter time.Duration) (*status.Status, class) {
	c := classify(err)
	st := status.New(c.grpcCode(), err.Error())
	if c.retryable() {
		if withInfo, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)}); derr == nil {
			st = withInfo
		}
	}
	return st, c
}

// retryAfterSeconds renders d for the Retry-After header: whole seconds,
// rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}
