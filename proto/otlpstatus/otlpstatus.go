// Package otlpstatus turns an ingest error into the answer the OTLP
// specification asks for, the same for every ingest stage: a gRPC status
// (with RetryInfo when the client should retry), an HTTP status code, and
// the Retry-After header value.
package otlpstatus

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

// Class is how an error is answered.
type Class int

// The classes, from the OTLP rules: invalid input and oversize requests
// are permanent; a busy ingest, a full bus and a bus that is down are
// retryable.
const (
	Internal Class = iota
	Invalid
	TooLarge
	Busy // bytes in flight over the admission limit
	Full // the bus's stream is full
	Down // the bus is unreachable
	Canceled
	Deadline
	Unauthenticated
)

// Classify answers the errors every ingest shares: invalid data, sizes,
// admission, the bus and the context. Anything else is Internal; a stage
// checks its own sentinels before calling it.
func Classify(err error) Class {
	switch {
	case errors.Is(err, schema.ErrInvalid), errors.Is(err, publish.ErrInvalidRequest):
		return Invalid
	case errors.Is(err, admit.ErrTooLarge):
		return TooLarge
	case errors.Is(err, admit.ErrBusy):
		return Busy
	case errors.Is(err, bus.ErrFull):
		return Full
	case errors.Is(err, bus.ErrUnavailable):
		return Down
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return Deadline
	}
	return Internal
}

// Retryable reports whether the answer carries a retry hint.
func (c Class) Retryable() bool { return c == Busy || c == Full || c == Down }

// GRPCCode is the gRPC code of the answer. An oversize request is
// RESOURCE_EXHAUSTED without RetryInfo, which OTLP clients do not retry.
func (c Class) GRPCCode() codes.Code {
	switch c {
	case Invalid:
		return codes.InvalidArgument
	case TooLarge:
		return codes.ResourceExhausted
	case Busy, Full, Down:
		return codes.Unavailable
	case Canceled:
		return codes.Canceled
	case Deadline:
		return codes.DeadlineExceeded
	case Unauthenticated:
		return codes.Unauthenticated
	}
	return codes.Internal
}

// HTTPStatus is the OTLP/HTTP status code of the answer.
func (c Class) HTTPStatus() int {
	switch c {
	case Invalid:
		return http.StatusBadRequest
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case Busy, Full:
		return http.StatusTooManyRequests
	case Down, Canceled, Deadline:
		return http.StatusServiceUnavailable
	case Unauthenticated:
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

// Status is the gRPC status answering err in class c: the code, the error
// text, and RetryInfo(retryAfter) when the class is retryable.
func (c Class) Status(err error, retryAfter time.Duration) *status.Status {
	st := status.New(c.GRPCCode(), err.Error())
	if c.Retryable() {
		if withInfo, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)}); derr == nil {
			st = withInfo
		}
	}
	return st
}

// RetryAfterSeconds renders d for the Retry-After header: whole seconds,
// rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}
