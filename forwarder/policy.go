package forward

import (
	"context"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/failsafe-go/failsafe-go/timeout"
)

// BreakerState is the state of a signal's circuit breaker; its value is
// the circuit_breaker_state gauge's.
type BreakerState int

// Breaker states.
const (
	BreakerClosed   BreakerState = 0
	BreakerHalfOpen BreakerState = 1
	BreakerOpen     BreakerState = 2
)

// String returns closed, half-open or open.
func (s BreakerState) String() string {
	switch s {
	case BreakerHalfOpen:
		return "half-open"
	case BreakerOpen:
		return "open"
	}
	return "closed"
}

func breakerState(s circuitbreaker.State) BreakerState {
	switch s {
	case circuitbreaker.OpenState:
		return BreakerOpen
	case circuitbreaker.HalfOpenState:
		return BreakerHalfOpen
	}
	return BreakerClosed
}

// newRetry retries retryable failures with exponential backoff and
// jitter, waiting at least the target's hint (RetryInfo, Retry-After; at
// most MaxInterval). It stops at once on a permanent error, when the
// breaker is open, and when stop is done.
func newRetry(c Retry, stop context.Context) retrypolicy.RetryPolicy[any] {
	attempts := c.MaxAttempts
	if attempts == 0 {
		attempts = -1
	}
	return retrypolicy.NewBuilder[any]().
		HandleIf(func(_ any, err error) bool { return isRetryable(err) }).
		AbortIf(func(_ any, _ error) bool { return stop.Err() != nil }).
		WithBackoffFactor(c.InitialInterval, c.MaxInterval, c.Multiplier).
		WithJitterFactor(c.JitterFactor).
		WithDelayFunc(func(exec failsafe.ExecutionAttempt[any]) time.Duration {
			hint := retryAfter(exec.LastError())
			if hint <= 0 {
				return -1 // the backoff
			}
			// Jitter is applied afterwards, ±JitterFactor: start high
			// enough that the result is never below the hint.
			return time.Duration(float64(min(hint, c.MaxInterval)) / (1 - c.JitterFactor))
		}).
		WithMaxAttempts(attempts).
		ReturnLastFailure().
		Build()
}

// newBreaker counts retryable failures (permanent rejections mean the
// target is up) and reports state changes to onState.
func newBreaker(c Breaker, onState func(circuitbreaker.StateChangedEvent)) circuitbreaker.CircuitBreaker[any] {
	return circuitbreaker.NewBuilder[any]().
		HandleIf(func(_ any, err error) bool { return isRetryable(err) }).
		WithFailureThreshold(uint(c.FailureThreshold)).
		WithSuccessThreshold(uint(c.SuccessThreshold)).
		WithDelay(c.Delay).
		OnStateChanged(onState).
		Build()
}

// newTimeout bounds each attempt.
func newTimeout(d time.Duration) timeout.Timeout[any] { return timeout.New[any](d) }
