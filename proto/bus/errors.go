package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream API error codes (nats-server jetstream_errors_generated.go) that
// mean the stream or the server's storage is full.
const (
	codeAccountResourcesExceeded jetstream.ErrorCode = 10002 // resource limits exceeded for account
	codeInsufficientResources    jetstream.ErrorCode = 10023 // insufficient resources
	codeMemoryResourcesExceeded  jetstream.ErrorCode = 10028 // insufficient memory resources available
	codeStorageResourcesExceeded jetstream.ErrorCode = 10047 // insufficient storage resources available
	codeStreamStoreFailed        jetstream.ErrorCode = 10077 // store failed: maximum bytes/messages exceeded (discard new), message too large
	codeClusterNotAvailable      jetstream.ErrorCode = 10008 // JetStream system temporarily unavailable
)

// MapError classifies a publish error: it returns err wrapped together with
// ErrTooLarge, ErrFull or ErrUnavailable when it recognises the cause, and
// err unchanged otherwise (context.Canceled included: the caller gave up).
//
//   - ErrTooLarge: nats.ErrMaxPayload (client side), API error 10054
//     (message exceeds the stream's max message size), 10077 "message too
//     large" (file store limit).
//   - ErrFull: 10077 otherwise (the stream's max_bytes or max_msgs with
//     discard new), 10047, 10028, 10023, 10002, and the client's
//     jetstream.ErrTooManyStalledMsgs.
//   - ErrUnavailable: no responders (no stream or server answering),
//     timeouts, a closed, draining or reconnecting connection, JetStream
//     disabled, 10008, and any other API error with a 5xx code.
func MapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrFull) || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrTooLarge) {
		return err
	}
	if class := classify(err); class != nil {
		return fmt.Errorf("%w: %w", class, err)
	}
	return err
}

func classify(err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case jetstream.JSErrCodeStreamMessageExceedsMaximum:
			return ErrTooLarge
		case codeStreamStoreFailed:
			// One code covers every store failure; the description carries
			// the server's store error, and only "message too large" is
			// permanent.
			if strings.Contains(apiErr.Description, "too large") {
				return ErrTooLarge
			}
			return ErrFull
		case codeStorageResourcesExceeded, codeMemoryResourcesExceeded,
			codeInsufficientResources, codeAccountResourcesExceeded:
			return ErrFull
		case codeClusterNotAvailable, jetstream.JSErrCodeJetStreamNotEnabled,
			jetstream.JSErrCodeJetStreamNotEnabledForAccount:
			return ErrUnavailable
		}
		if apiErr.Code >= 500 {
			return ErrUnavailable
		}
		return nil
	}
	switch {
	case errors.Is(err, nats.ErrMaxPayload):
		return ErrTooLarge
	case errors.Is(err, jetstream.ErrTooManyStalledMsgs):
		return ErrFull
	case errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, nats.ErrTimeout),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, jetstream.ErrAsyncPublishTimeout),
		errors.Is(err, jetstream.ErrJetStreamPublisherClosed),
		errors.Is(err, jetstream.ErrConnectionClosed),
		errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, nats.ErrConnectionDraining),
		errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrReconnectBufExceeded),
		errors.Is(err, nats.ErrStaleConnection),
		errors.Is(err, nats.ErrNoServers),
		errors.Is(err, nats.ErrInvalidConnection):
		return ErrUnavailable
	}
	return nil
}
