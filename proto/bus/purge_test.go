package bus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// purge runs one PurgeAcknowledged on the stream of sig and returns the
// sequences of the messages the stream still holds.
func purge(t *testing.T, js jetstream.JetStream, sig schema.Signal) []uint64 {
	t.Helper()
	ctx := testCtx(t)
	if _, err := bus.PurgeAcknowledged(ctx, js, bus.StreamName(sig)); err != nil {
		t.Fatalf("purge: %v", err)
	}
	s, err := js.Stream(ctx, bus.StreamName(sig))
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	st := s.CachedInfo().State
	for seq := st.FirstSeq; st.Msgs > 0 && seq <= st.LastSeq; seq++ {
		if _, err := s.GetMsg(ctx, seq); err == nil {
			seqs = append(seqs, seq)
		} else if !errors.Is(err, jetstream.ErrMsgNotFound) {
			t.Fatal(err)
		}
	}
	return seqs
}

func wantKept(t *testing.T, js jetstream.JetStream, sig schema.Signal, want ...uint64) {
	t.Helper()
	if got := purge(t, js, sig); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after a purge the stream holds %v, want %v", got, want)
	}
}

// ackN fetches and acknowledges the next n messages of durable.
func ackN(t *testing.T, js jetstream.JetStream, sig schema.Signal, durable string, n int) {
	t.Helper()
	for range n {
		ackOne(t, js, sig, durable)
	}
}

func publishN(t *testing.T, js jetstream.JetStream, sig schema.Signal, service string, n int) {
	t.Helper()
	ctx := testCtx(t)
	for range n {
		if _, err := bus.Publish(ctx, js, testMessage(sig, service, fmt.Sprint(time.Now().UnixNano()))); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
}

// TestPurgeKeepsUnacknowledged: a message stays until every durable
// consumer (otlp-arrow's and a custom one created after it was published)
// has acknowledged it; an ephemeral consumer holds nothing; a deleted
// durable no longer holds anything.
func TestPurgeKeepsUnacknowledged(t *testing.T) {
	ctx := testCtx(t)
	_, _, js := bustest.RunJetStream(t, bustest.WithDurables(bus.DurableWriter, bus.DurableForwarder))
	const sig = schema.Traces
	publishN(t, js, sig, "svc", 3)

	ackN(t, js, sig, bus.DurableWriter, 3)
	wantKept(t, js, sig, 1, 2, 3) // the forwarder acknowledged none
	ackN(t, js, sig, bus.DurableForwarder, 1)
	wantKept(t, js, sig, 2, 3)

	// A custom durable from the first message kept, created after the
	// messages were published, and an ephemeral consumer.
	if _, err := js.CreateOrUpdateConsumer(ctx, bus.StreamName(sig), jetstream.ConsumerConfig{
		Durable: "my-app", AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateConsumer(ctx, bus.StreamName(sig), jetstream.ConsumerConfig{
		AckPolicy: jetstream.AckExplicitPolicy, InactiveThreshold: time.Minute,
	}); err != nil {
		t.Fatal(err)
	}
	ackN(t, js, sig, bus.DurableForwarder, 2)
	wantKept(t, js, sig, 2, 3) // my-app acknowledged none
	ackN(t, js, sig, "my-app", 1)
	wantKept(t, js, sig, 3)

	publishN(t, js, sig, "svc", 2) // 4, 5
	ackN(t, js, sig, bus.DurableWriter, 2)
	ackN(t, js, sig, "my-app", 2)
	wantKept(t, js, sig, 4, 5) // the forwarder has not acknowledged 4
	ackN(t, js, sig, bus.DurableForwarder, 2)
	wantKept(t, js, sig, 5) // my-app has not acknowledged 5
	if err := js.DeleteConsumer(ctx, bus.StreamName(sig), "my-app"); err != nil {
		t.Fatal(err)
	}
	wantKept(t, js, sig)
	wantMsgs(t, js, sig, 0)
}

// TestPurgeFilteredDurable: a durable consumer of one service holds the
// stream from its first unacknowledged message of that service, and
// nothing when its service has no message left, even though it never
// pulled.
func TestPurgeFilteredDurable(t *testing.T) {
	ctx := testCtx(t)
	_, _, js := bustest.RunJetStream(t)
	const sig = schema.Logs
	if _, err := js.CreateOrUpdateConsumer(ctx, bus.StreamName(sig), jetstream.ConsumerConfig{
		Durable: "checkout", FilterSubject: bus.Subject(sig, "checkout"), AckPolicy: jetstream.AckExplicitPolicy,
	}); err != nil {
		t.Fatal(err)
	}
	publishN(t, js, sig, "cart", 2) // 1, 2
	ackN(t, js, sig, bus.DurableWriter, 2)
	wantKept(t, js, sig) // nothing of checkout

	publishN(t, js, sig, "cart", 1)     // 3
	publishN(t, js, sig, "checkout", 1) // 4
	publishN(t, js, sig, "cart", 1)     // 5
	ackN(t, js, sig, bus.DurableWriter, 3)
	wantKept(t, js, sig, 4, 5) // the purge is by sequence: 5 waits for 4
	ackN(t, js, sig, "checkout", 1)
	wantKept(t, js, sig)

	// Several filters: the earliest unacknowledged message of any.
	if _, err := js.CreateOrUpdateConsumer(ctx, bus.StreamName(sig), jetstream.ConsumerConfig{
		Durable: "two", FilterSubjects: []string{bus.Subject(sig, "a"), bus.Subject(sig, "b")},
		AckPolicy: jetstream.AckExplicitPolicy,
	}); err != nil {
		t.Fatal(err)
	}
	publishN(t, js, sig, "cart", 1) // 6
	publishN(t, js, sig, "b", 1)    // 7
	publishN(t, js, sig, "a", 1)    // 8
	ackN(t, js, sig, bus.DurableWriter, 3)
	wantKept(t, js, sig, 7, 8)
}

// TestPurgeUpgradesInterestStream: a stream still on interest retention
// (declared by an earlier version) is not purged; EnsureStreams moves it
// to limits retention keeping every message, and from then on the purge
// removes what the durables acknowledged.
func TestPurgeUpgradesInterestStream(t *testing.T) {
	ctx := testCtx(t)
	_, _, js := bustest.RunJetStream(t, bustest.WithoutStreams())
	const sig = schema.Metrics
	cfg := bus.DefaultStreamsConfig()
	old := bus.StreamConfig(sig, cfg)
	old.Retention = jetstream.InterestPolicy
	if _, err := js.CreateStream(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, bus.StreamName(sig), bus.ConsumerConfig(bus.DurableWriter, sig, cfg)); err != nil {
		t.Fatal(err)
	}
	publishN(t, js, sig, "svc", 3)
	ackN(t, js, sig, bus.DurableWriter, 1) // removed by the interest stream
	wantMsgs(t, js, sig, 2)
	wantKept(t, js, sig, 2, 3)

	if err := bus.EnsureStreams(ctx, js, cfg); err != nil {
		t.Fatalf("EnsureStreams: %v", err)
	}
	s, err := js.Stream(ctx, bus.StreamName(sig))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.Retention; got != jetstream.LimitsPolicy {
		t.Fatalf("retention after EnsureStreams: %v, want limits", got)
	}
	publishN(t, js, sig, "svc", 1) // 4
	ackN(t, js, sig, bus.DurableWriter, 1)
	wantKept(t, js, sig, 3, 4)
	ackN(t, js, sig, bus.DurableWriter, 2)
	wantKept(t, js, sig)
}

// TestFullStreamPushesBack: with no consumer acknowledging, a small stream
// fills and refuses publishes with ErrFull; with the writer's durable
// acknowledging and a Purger running, publishing many times the stream's
// size goes through (each publish retried on ErrFull, as clients retry the
// retryable answer).
func TestFullStreamPushesBack(t *testing.T) {
	ctx := testCtx(t)
	const maxBytes = 64 << 10
	_, _, js := bustest.RunJetStream(t, bustest.WithMaxBytes(maxBytes))
	const sig = schema.Traces
	payload := make([]byte, 4<<10)
	publish := func(i int) error {
		copy(payload, fmt.Sprintf("%08d", i))
		_, err := bus.Publish(ctx, js, bus.Message{Signal: sig, Services: []string{"svc"}, Source: "grpc", Rows: 1, Payload: payload})
		return err
	}
	i := 0
	for ; ; i++ {
		err := publish(i)
		if errors.Is(err, bus.ErrFull) {
			break
		}
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		if i > 100 {
			t.Fatalf("%d publishes of 4 KiB into a 64 KiB stream, none refused", i)
		}
	}
	// Acknowledged but not purged: still full.
	ackN(t, js, sig, bus.DurableWriter, i)
	if err := publish(i); !errors.Is(err, bus.ErrFull) {
		t.Fatalf("publish into a full stream of acknowledged messages: %v, want ErrFull", err)
	}

	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := bus.NewPurger(js, []schema.Signal{sig}, nil)
	go p.Run(pctx)
	cons, err := js.Consumer(ctx, bus.StreamName(sig), bus.DurableWriter)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		if m.DoubleAck(ctx) == nil {
			p.Acked(sig)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()
	const total = 10 * maxBytes / (4 << 10)
	full := 0
	for n := 0; n < total; {
		err := publish(i + n)
		switch {
		case err == nil:
			n++
		case errors.Is(err, bus.ErrFull):
			full++
			time.Sleep(10 * time.Millisecond)
		default:
			t.Fatalf("publish: %v", err)
		}
	}
	t.Logf("%d publishes of 4 KiB through a 64 KiB stream, %d refused as full and retried", total, full)
}

// TestPurgerRun: a running Purger told of acknowledgements empties the
// stream of what every durable acknowledged, and only that; it finds
// acknowledgements it was not told of too.
func TestPurgerRun(t *testing.T) {
	ctx := testCtx(t)
	_, _, js := bustest.RunJetStream(t, bustest.WithDurables(bus.DurableWriter, bus.DurableForwarder))
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := bus.NewPurger(js, schema.Signals, nil)
	done := make(chan struct{})
	go func() { defer close(done); p.Run(pctx) }()

	publishN(t, js, schema.Logs, "svc", 4)
	ackN(t, js, schema.Logs, bus.DurableWriter, 4)
	ackN(t, js, schema.Logs, bus.DurableForwarder, 3)
	p.Acked(schema.Logs)
	wantMsgs(t, js, schema.Logs, 1)
	// A consumer the purger is not told about (a custom one, another
	// process): the idle round purges, though another stream keeps it busy.
	ackN(t, js, schema.Logs, bus.DurableForwarder, 1)
	busy := make(chan struct{})
	go func() {
		defer close(busy)
		for pctx.Err() == nil {
			p.Acked(schema.Traces)
			time.Sleep(50 * time.Millisecond)
		}
	}()
	wantMsgs(t, js, schema.Logs, 0)
	cancel()
	<-done
	<-busy
}

// TestPurgeUnderLoad: while messages are published, three durable
// consumers (two of every subject, one of one service) read and acknowledge
// them at different paces and a Purger purges all along; each consumer
// still receives every message it is to be delivered: nothing was purged
// before every durable had acknowledged it.
func TestPurgeUnderLoad(t *testing.T) {
	ctx := testCtx(t)
	_, _, js := bustest.RunJetStream(t, bustest.WithDurables(bus.DurableWriter, bus.DurableForwarder))
	const sig, total = schema.Traces, 300
	if _, err := js.CreateOrUpdateConsumer(ctx, bus.StreamName(sig), jetstream.ConsumerConfig{
		Durable: "s1", FilterSubject: bus.Subject(sig, "s1"), AckPolicy: jetstream.AckExplicitPolicy,
	}); err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := bus.NewPurger(js, []schema.Signal{sig}, nil)
	purged := make(chan struct{})
	go func() { defer close(purged); p.Run(pctx) }()

	want := map[string]int{bus.DurableWriter: total, bus.DurableForwarder: total, "s1": 0}
	for i := range total {
		if i%3 == 1 {
			want["s1"]++
		}
	}
	got := map[string]map[uint64]bool{}
	errs := make(chan error, len(want))
	for durable, n := range want {
		seen := map[uint64]bool{}
		got[durable] = seen
		go func() {
			errs <- func() error {
				c, err := js.Consumer(ctx, bus.StreamName(sig), durable)
				if err != nil {
					return err
				}
				for len(seen) < n {
					batch, err := c.Fetch(7, jetstream.FetchMaxWait(time.Second))
					if err != nil {
						return err
					}
					for m := range batch.Messages() {
						md, err := m.Metadata()
						if err != nil {
							return err
						}
						seen[md.Sequence.Stream] = true
						if durable == bus.DurableForwarder {
							time.Sleep(2 * time.Millisecond) // the slow one
						}
						if err := m.DoubleAck(ctx); err != nil {
							return err
						}
						p.Acked(sig)
					}
					if err := ctx.Err(); err != nil {
						return fmt.Errorf("%s received %d of %d: %w", durable, len(seen), n, err)
					}
				}
				return nil
			}()
		}()
	}
	for i := range total {
		service := []string{"s0", "s1", "s2"}[i%3]
		if _, err := bus.Publish(ctx, js, testMessage(sig, service, fmt.Sprint("m", i))); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	for range want {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for durable, n := range want {
		if len(got[durable]) != n {
			t.Errorf("%s received %d messages, want %d", durable, len(got[durable]), n)
		}
	}
	p.Acked(sig)
	wantMsgs(t, js, sig, 0)
	cancel()
	<-purged
}

// TestPurgeCachesFilteredLookups: a purger remembers a lagging filtered
// consumer's next message while its ack floor stays, and looks again once
// the floor moves; the stream keeps what the consumer has not acknowledged
// either way.
func TestPurgeCachesFilteredLookups(t *testing.T) {
	ctx := testCtx(t)
	_, _, js := bustest.RunJetStream(t)
	const sig = schema.Logs
	stream := bus.StreamName(sig)
	if _, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable: "checkout", FilterSubject: bus.Subject(sig, "checkout"), AckPolicy: jetstream.AckExplicitPolicy,
	}); err != nil {
		t.Fatal(err)
	}
	cache := map[string][2]uint64{}
	keep := func(want ...uint64) {
		t.Helper()
		if _, err := bus.PurgeCached(ctx, js, stream, cache); err != nil {
			t.Fatal(err)
		}
		wantKept(t, js, sig, want...) // and the same without the cache
	}
	publishN(t, js, sig, "checkout", 1) // 1
	publishN(t, js, sig, "cart", 2)     // 2, 3
	ackN(t, js, sig, bus.DurableWriter, 3)
	keep(1, 2, 3)
	if len(cache) != 1 {
		t.Fatalf("cache holds %d entries, want 1", len(cache))
	}
	keep(1, 2, 3) // from the cache
	ackN(t, js, sig, "checkout", 1)
	keep()
	publishN(t, js, sig, "checkout", 1) // 4
	publishN(t, js, sig, "cart", 1)     // 5
	ackN(t, js, sig, bus.DurableWriter, 2)
	keep(4, 5)
	keep(4, 5)
	ackN(t, js, sig, "checkout", 1)
	keep()
}
