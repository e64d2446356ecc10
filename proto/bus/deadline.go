package bus

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrPublishTimeout means the bus did not acknowledge a publish within the
// server's own publish deadline (see [WithPublishDeadline]). It wraps
// [ErrUnavailable], so ingest answers it as retryable backpressure.
var ErrPublishTimeout = fmt.Errorf("%w: no acknowledgement within the publish timeout", ErrUnavailable)

// DefaultIngestPublishTimeout is the publish deadline the ingest stages use
// by default: well inside the 10 s export timeout of the OpenTelemetry SDKs,
// so a stalled bus is answered as retryable before the client gives up.
const DefaultIngestPublishTimeout = 5 * time.Second

// WithPublishDeadline bounds ctx for a publish: at most limit, and at most
// nine tenths of the time left before ctx's own deadline (a gRPC client's
// deadline arrives through ctx), so the server answers with a retryable
// error while the client still waits for one. When the deadline set here
// is what ends ctx, [PublishError] turns the resulting error into
// [ErrPublishTimeout]. limit <= 0 leaves ctx's own deadline alone.
func WithPublishDeadline(ctx context.Context, limit time.Duration) (context.Context, context.CancelFunc) {
	d := limit
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left -= left / 10; d <= 0 || left < d {
			d = left
		}
	}
	if d <= 0 && limit <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, d, ErrPublishTimeout)
}

// PublishError returns err, or, when ctx (from [WithPublishDeadline]) ended
// by that deadline and err is not already a bus error, an error wrapping
// [ErrPublishTimeout] and err.
func PublishError(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil || !errors.Is(context.Cause(ctx), ErrPublishTimeout) {
		return err
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrFull) {
		return err
	}
	return fmt.Errorf("%w (%w)", ErrPublishTimeout, err)
}
