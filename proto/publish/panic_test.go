package publish

import (
	"context"
	"errors"
	"testing"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// TestFlushPanicAnswersRequests makes a flush panic: every request of the
// batch gets an internal error instead of the process ending, and the queue
// keeps working for the next request.
func TestFlushPanicAnswersRequests(t *testing.T) {
	calls := 0
	b := newBatcher(CoalesceConfig{}.withDefaults(), func(_ qkey, ws []*waiter[int]) {
		calls++
		if calls == 1 {
			panic("boom")
		}
		for _, w := range ws {
			w.answer(result{})
		}
	}, nil)
	k := qkey{signal: schema.Traces, service: "svc", source: "grpc"}
	ctx := context.Background()
	w := b.enqueue(ctx, k, []int{1}, 1)
	res, err := b.wait(ctx, w)
	if err != nil || !errors.Is(res.err, errFlushPanic) {
		t.Fatalf("after a panicking flush: result %v, wait error %v; want errFlushPanic", res.err, err)
	}
	w = b.enqueue(ctx, k, []int{2}, 1)
	if res, err := b.wait(ctx, w); err != nil || res.err != nil {
		t.Fatalf("next request: result %v, wait error %v; want success", res.err, err)
	}
}
