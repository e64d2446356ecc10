package ingest

import (
	"errors"
	"time"

	"google.golang.org/grpc/status"

	"github.com/otlp-arrow/otlp-arrow/proto/admit"
	"github.com/otlp-arrow/otlp-arrow/proto/otlpstatus"
	"github.com/otlp-arrow/otlp-arrow/proto/publish"
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

// classify answers err: this stage's own sentinels first, then what every
// ingest shares.
func classify(err error) otlpstatus.Class {
	switch {
	case errors.Is(err, ErrUnauthenticated):
		return otlpstatus.Unauthenticated
	case errors.Is(err, ErrRequestTooLarge):
		return otlpstatus.TooLarge
	}
	return otlpstatus.Classify(err)
}

// errorStatus builds the gRPC status answering err, and its class.
func errorStatus(err error, retryAfter time.Duration) (*status.Status, otlpstatus.Class) {
	c := classify(err)
	return c.Status(err, retryAfter), c
}
