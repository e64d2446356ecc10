package ingestflight

import (
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/otlp-arrow/otlp-arrow/ingest-flight/internal/conform"
	"github.com/otlp-arrow/otlp-arrow/ingest-flight/internal/seedspans"
	"github.com/otlp-arrow/otlp-arrow/proto/admit"
	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/otlpstatus"
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

// classify answers err: this stage's own sentinels first, then what every
// ingest shares, then the code of a gRPC status error from below.
func classify(err error) otlpstatus.Class {
	switch {
	case errors.Is(err, ErrUnauthenticated):
		return otlpstatus.Unauthenticated
	case errors.Is(err, ErrInvalid), errors.Is(err, conform.ErrIncompatible), errors.Is(err, seedspans.ErrInvalid):
		return otlpstatus.Invalid
	case errors.Is(err, ErrTooLarge), errors.Is(err, bus.ErrTooLarge):
		return otlpstatus.TooLarge
	}
	if c := otlpstatus.Classify(err); c != otlpstatus.Internal {
		return c
	}
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.ResourceExhausted:
			return otlpstatus.TooLarge
		case codes.Canceled:
			return otlpstatus.Canceled
		case codes.DeadlineExceeded:
			return otlpstatus.Deadline
		case codes.Unavailable:
			return otlpstatus.Down
		}
	}
	return otlpstatus.Internal
}

// errorStatus builds the gRPC status answering err.
func errorStatus(err error, retryAfter time.Duration) *status.Status {
	return classify(err).Status(err, retryAfter)
}
