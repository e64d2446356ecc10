package admit

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestAcquireRelease(t *testing.T) {
	var last int64
	l := New(100, 10*time.Millisecond, func(v int64) { last = v })
	a, err := l.Acquire(context.Background(), 60)
	if err != nil {
		t.Fatalf("acquire 60: %v", err)
	}
	if got, want := last, int64(60); got != want {
		t.Fatalf("gauge = %d, want %d", got, want)
	}
	if _, err := l.Acquire(context.Background(), 50); !errors.Is(err, ErrBusy) {
		t.Fatalf("acquire 50 over capacity: err = %v, want ErrBusy", err)
	}
	a.Shrink(10)
	if got, want := l.InFlight(), int64(10); got != want {
		t.Fatalf("in flight after shrink = %d, want %d", got, want)
	}
	b, err := l.Acquire(context.Background(), 90)
	if err != nil {
		t.Fatalf("acquire 90 after shrink: %v", err)
	}
	a.Release()
	a.Release() // idempotent
	b.Release()
	if got, want := l.InFlight(), int64(0); got != want {
		t.Fatalf("in flight at end = %d, want %d", got, want)
	}
	if got, want := last, int64(0); got != want {
		t.Fatalf("gauge at end = %d, want %d", got, want)
	}
}

func TestAcquireTooLarge(t *testing.T) {
	l := New(100, time.Second, nil)
	if _, err := l.Acquire(context.Background(), 101); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestAcquireWaitsForRelease(t *testing.T) {
	l := New(100, 5*time.Second, nil)
	a, err := l.Acquire(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		b, err := l.Acquire(context.Background(), 1)
		if err == nil {
			b.Release()
		}
		done <- err
	}()
	a.Release()
	if err := <-done; err != nil {
		t.Fatalf("waiting acquire: %v", err)
	}
}

func TestAcquireContextCanceled(t *testing.T) {
	l := New(10, time.Second, nil)
	a, _ := l.Acquire(context.Background(), 10)
	defer a.Release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Acquire(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
