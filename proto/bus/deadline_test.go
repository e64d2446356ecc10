package bus

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWithPublishDeadline(t *testing.T) {
	t.Run("limit", func(t *testing.T) {
		ctx, cancel := WithPublishDeadline(context.Background(), time.Hour)
		defer cancel()
		dl, ok := ctx.Deadline()
		if !ok || time.Until(dl) > time.Hour {
			t.Fatalf("deadline = %v, %v: want within an hour", dl, ok)
		}
	})
	t.Run("client deadline first", func(t *testing.T) {
		parent, pcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer pcancel()
		ctx, cancel := WithPublishDeadline(parent, time.Hour)
		defer cancel()
		dl, _ := ctx.Deadline()
		pdl, _ := parent.Deadline()
		if !dl.Before(pdl.Add(-500 * time.Millisecond)) {
			t.Fatalf("deadline %v not well before the client's %v", dl, pdl)
		}
	})
	t.Run("no limit", func(t *testing.T) {
		ctx, cancel := WithPublishDeadline(context.Background(), 0)
		defer cancel()
		if _, ok := ctx.Deadline(); ok {
			t.Fatal("deadline set without a limit or a parent deadline")
		}
	})
}

func TestPublishError(t *testing.T) {
	ctx, cancel := WithPublishDeadline(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	err := PublishError(ctx, ctx.Err())
	if !errors.Is(err, ErrPublishTimeout) || !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v: want ErrPublishTimeout, ErrUnavailable and the context error", err)
	}
	full := errors.Join(ErrFull, context.DeadlineExceeded)
	if got := PublishError(ctx, full); got != full {
		t.Fatalf("a bus error was rewrapped: %v", got)
	}
	// A client's own cancellation stays what it is.
	parent, pcancel := context.WithCancel(context.Background())
	ctx2, cancel2 := WithPublishDeadline(parent, time.Hour)
	defer cancel2()
	pcancel()
	if got := PublishError(ctx2, ctx2.Err()); !errors.Is(got, context.Canceled) || errors.Is(got, ErrPublishTimeout) {
		t.Fatalf("client cancel = %v: want context.Canceled only", got)
	}
	if PublishError(ctx2, nil) != nil {
		t.Fatal("nil error rewrapped")
	}
}
