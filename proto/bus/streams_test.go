package bus_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestEnsureStreams(t *testing.T) {
	ctx := testCtx(t)
	srv, _, js := bustest.RunJetStream(t)

	// Again, and from two more connections at once, with the forwarder on.
	cfg := bus.DefaultStreamsConfig()
	cfg.Durables = []string{bus.DurableWriter, bus.DurableForwarder}
	if err := bus.EnsureStreams(ctx, js, bus.DefaultStreamsConfig()); err != nil {
		t.Fatalf("second EnsureStreams: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i := range 2 {
		_, js2 := connect(t, bus.ConnConfig{InProcess: srv.NATS(), Name: fmt.Sprintf("c%d", i)})
		wg.Go(func() { errs <- bus.EnsureStreams(ctx, js2, cfg) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent EnsureStreams: %v", err)
		}
	}

	for _, sig := range schema.Signals {
		s, err := js.Stream(ctx, bus.StreamName(sig))
		if err != nil {
			t.Fatalf("stream %s: %v", sig, err)
		}
		got := s.CachedInfo().Config
		if got.Retention != jetstream.LimitsPolicy || got.Discard != jetstream.DiscardNew {
			t.Errorf("%s: retention %v discard %v, want limits and new", sig, got.Retention, got.Discard)
		}
		if len(got.Subjects) != 1 || got.Subjects[0] != bus.SubjectFilter(sig) {
			t.Errorf("%s subjects: got %v, want [%s]", sig, got.Subjects, bus.SubjectFilter(sig))
		}
		if got.MaxBytes != bus.DefaultMaxBytes || got.MaxMsgSize != bus.DefaultMaxMsgSize ||
			got.Duplicates != bus.DefaultDuplicateWindow || got.MaxAge != bus.DefaultMaxAge {
			t.Errorf("%s limits: got %+v", sig, got)
		}
		for _, durable := range cfg.Durables {
			c, err := js.Consumer(ctx, bus.StreamName(sig), durable)
			if err != nil {
				t.Fatalf("consumer %s on %s: %v", durable, sig, err)
			}
			cc := c.CachedInfo().Config
			if cc.AckPolicy != jetstream.AckExplicitPolicy || cc.FilterSubject != bus.SubjectFilter(sig) ||
				cc.DeliverPolicy != jetstream.DeliverAllPolicy || cc.MaxDeliver != -1 ||
				cc.AckWait != bus.DefaultAckWait || cc.MaxAckPending != bus.DefaultMaxAckPending {
				t.Errorf("consumer %s on %s: got %+v", durable, sig, cc)
			}
		}
	}
	dead, err := js.Stream(ctx, bus.DeadStream)
	if err != nil {
		t.Fatalf("dead stream: %v", err)
	}
	if got := dead.CachedInfo().Config; got.Retention != jetstream.LimitsPolicy || got.MaxAge != bus.DeadMaxAge {
		t.Errorf("dead stream: retention %v max age %v", got.Retention, got.MaxAge)
	}
}

func TestEnsureStreamsUpdates(t *testing.T) {
	ctx := testCtx(t)
	_, _, js := bustest.RunJetStream(t)
	cfg := bus.DefaultStreamsConfig()
	cfg.MaxBytes = 1 << 20
	cfg.AckWait = 5 * time.Second
	if err := bus.EnsureStreams(ctx, js, cfg); err != nil {
		t.Fatalf("EnsureStreams: %v", err)
	}
	s, err := js.Stream(ctx, bus.StreamName(schema.Logs))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.CachedInfo().Config.MaxBytes, int64(1<<20); got != want {
		t.Errorf("max bytes: got %d, want %d", got, want)
	}
	c, err := js.Consumer(ctx, bus.StreamName(schema.Logs), bus.DurableWriter)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.CachedInfo().Config.AckWait, 5*time.Second; got != want {
		t.Errorf("ack wait: got %v, want %v", got, want)
	}
}

func ackOne(t *testing.T, js jetstream.JetStream, sig schema.Signal, durable string) jetstream.Msg {
	t.Helper()
	ctx := testCtx(t)
	c, err := js.Consumer(ctx, bus.StreamName(sig), durable)
	if err != nil {
		t.Fatalf("consumer %s: %v", durable, err)
	}
	batch, err := c.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatalf("fetch %s: %v", durable, err)
	}
	for msg := range batch.Messages() {
		if err := msg.DoubleAck(ctx); err != nil {
			t.Fatalf("ack %s: %v", durable, err)
		}
		return msg
	}
	t.Fatalf("fetch %s: no message (%v)", durable, batch.Error())
	return nil
}

// wantMsgs waits for the stream to reach n messages (a purge by
// another process is asynchronous).
func wantMsgs(t *testing.T, js jetstream.JetStream, sig schema.Signal, n uint64) {
	t.Helper()
	ctx := testCtx(t)
	var got uint64
	for ctx.Err() == nil {
		s, err := js.Stream(ctx, bus.StreamName(sig))
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if got = s.CachedInfo().State.Msgs; got == n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("stream %s messages: got %d, want %d", bus.StreamName(sig), got, n)
}

func connect(t *testing.T, cfg bus.ConnConfig) (closer interface{ Close() }, js jetstream.JetStream) {
	t.Helper()
	nc, js, err := bus.Connect(testCtx(t), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc, js
}
