package admit

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// ErrBusy is returned when a request could not be admitted within the wait:
// the caller should answer with backpressure (retry later).
var ErrBusy = errors.New("admit: too many bytes in flight")

// ErrTooLarge is returned for a weight above the limiter's capacity, which
// could never be admitted.
var ErrTooLarge = errors.New("admit: request larger than the in-flight limit")

// Limiter admits requests by weight (bytes) up to a fixed capacity. It is
// safe for concurrent use.
type Limiter struct {
	sem      *semaphore.Weighted
	capacity int64
	wait     time.Duration
	inflight atomic.Int64
	observe  func(int64)
}

// New returns a limiter of capacity bytes. Acquire waits at most wait for
// room. observe, if not nil, is called with the bytes in flight after every
// change (for a gauge).
func New(capacity int64, wait time.Duration, observe func(int64)) *Limiter {
	return &Limiter{sem: semaphore.NewWeighted(capacity), capacity: capacity, wait: wait, observe: observe}
}

// Ticket is an admitted weight. Release it exactly once; Shrink may return
// part of it earlier.
type Ticket struct {
	l *Limiter
	n int64
}

// Acquire admits n bytes, waiting at most the limiter's wait (or until ctx is
// done). It returns an error wrapping [ErrBusy] when there was no room in
// time, [ErrTooLarge] when n exceeds the capacity, or ctx's error.
func (l *Limiter) Acquire(ctx context.Context, n int64) (*Ticket, error) {
	if n < 0 {
		n = 0
	}
	if n > l.capacity {
		return nil, fmt.Errorf("admit %d bytes of %d: %w", n, l.capacity, ErrTooLarge)
	}
	if !l.sem.TryAcquire(n) {
		wctx, cancel := context.WithTimeout(ctx, l.wait)
		err := l.sem.Acquire(wctx, n)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("admit %d bytes: %w", n, ctx.Err())
			}
			return nil, fmt.Errorf("admit %d bytes: %w", n, ErrBusy)
		}
	}
	l.add(n)
	return &Ticket{l: l, n: n}, nil
}

// InFlight returns the bytes currently admitted.
func (l *Limiter) InFlight() int64 { return l.inflight.Load() }

func (l *Limiter) add(n int64) {
	v := l.inflight.Add(n)
	if l.observe != nil {
		l.observe(v)
	}
}

// Shrink lowers the ticket's weight to n bytes, returning the rest to the
// limiter at once; it does nothing when n is not smaller than the weight.
func (t *Ticket) Shrink(n int64) {
	if t == nil || n >= t.n {
		return
	}
	if n < 0 {
		n = 0
	}
	d := t.n - n
	t.n = n
	t.l.sem.Release(d)
	t.l.add(-d)
}

// Release returns the ticket's whole weight. Calling it again does nothing.
func (t *Ticket) Release() {
	if t == nil || t.n == 0 {
		return
	}
	t.l.sem.Release(t.n)
	t.l.add(-t.n)
	t.n = 0
}
