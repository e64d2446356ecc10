package bus_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// How a consumer's acknowledgements delay publishes on an interest stream
// that syncs every write (the retention before issue 19): each
// acknowledgement makes the server write and sync a tombstone under the lock
// its stores need. The consumer holds what it fetched for a second (a
// writer's flush) and then acknowledges it all at once, 16 in flight
// ("burst"), or one after the other ("paced", what the writer's acker
// does). "limits/burst" is the burst on the limits stream declared now,
// where an acknowledgement writes nothing to the stream (no purge runs
// here: the purge is BenchmarkBusFloor's). Eight publishers send 1 MiB
// messages at a fixed rate; the figures are the publish latency percentiles.
//
//	go test -run XXX -bench BenchmarkPublishWhileAcking -benchtime 400x ./bus/
func BenchmarkPublishWhileAcking(b *testing.B) {
	for _, name := range []string{"interest/burst", "interest/paced", "limits/burst"} {
		ret, mode, _ := strings.Cut(name, "/")
		b.Run(name, func(b *testing.B) {
			_, _, js := bustest.RunJetStream(b, bustest.WithMaxBytes(2<<30), bustest.WithDurables("w"))
			if ret == "interest" {
				setRetention(b, js, jetstream.InterestPolicy)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cons, err := js.Consumer(ctx, bus.StreamName(schema.Traces), "w")
			if err != nil {
				b.Fatal(err)
			}
			var cwg sync.WaitGroup
			cwg.Go(func() { consumeAndAck(ctx, cons, mode) })

			const publishers, perSecond = 8, 56
			b.ResetTimer()
			lat := publishPaced(ctx, b, js, publishers, 1<<20, time.Second*publishers/perSecond, false)
			b.StopTimer()
			cancel()
			cwg.Wait()
			reportLatency(b, lat)
		})
	}
}

// consumeAndAck fetches and, every second, acknowledges what it holds.
func consumeAndAck(ctx context.Context, cons jetstream.Consumer, mode string) {
	var held []jetstream.Msg
	last := time.Now()
	for ctx.Err() == nil {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(100*time.Millisecond))
		if err != nil {
			continue
		}
		for m := range batch.Messages() {
			held = append(held, m)
		}
		if time.Since(last) < time.Second {
			continue
		}
		last = time.Now()
		par := 16
		if mode == "paced" {
			par = 1
		}
		sem := make(chan struct{}, par)
		var wg sync.WaitGroup
		for _, m := range held {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				_ = m.DoubleAck(ctx)
			})
		}
		if mode == "burst" {
			wg.Wait()
		}
		held = nil
	}
}
