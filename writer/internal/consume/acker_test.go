package consume

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// fetchAll publishes n messages on the traces stream and fetches them with
// the durable consumer "w".
func fetchAll(t *testing.T, js jetstream.JetStream, n int) (jetstream.Consumer, []string) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		if _, err := bus.Publish(ctx, js, bus.Message{Signal: schema.Traces, Services: []string{"svc"}, Source: "test", Rows: 1, Payload: []byte{byte(i), byte(i >> 8)}}); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := js.Consumer(ctx, bus.StreamName(schema.Traces), "w")
	if err != nil {
		t.Fatal(err)
	}
	var replies []string
	for len(replies) < n {
		b, err := cons.Fetch(n-len(replies), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range b.Messages() {
			replies = append(replies, m.Reply())
		}
	}
	return cons, replies
}

func testLane(t *testing.T, nc *nats.Conn) *Lane {
	t.Helper()
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{Signal: "traces", Conn: nc}, nil, nil, m, slog.New(slog.DiscardHandler))
}

// TestAckerBarrier: everything queued before a barrier is acknowledged on
// the server when the barrier opens, batches of every size, a backlog
// included; a purge then empties the stream.
func TestAckerBarrier(t *testing.T) {
	_, nc, js := bustest.RunJetStream(t, bustest.WithDurables("w"))
	cons, msgs := fetchAll(t, js, 700)
	l := testLane(t, nc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.acks.run(ctx)
	for _, part := range [][2]int{{0, 1}, {1, 40}, {40, 700}} {
		l.acks.add(msgs[part[0]:part[1]])
	}
	select {
	case <-l.acks.barrier():
	case <-time.After(30 * time.Second):
		t.Fatal("barrier did not open")
	}
	info, err := cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 0 || info.AckFloor.Stream != 700 {
		t.Errorf("ack pending %d, ack floor %d; want 0 and 700", info.NumAckPending, info.AckFloor.Stream)
	}
	if got := testutil.ToFloat64(l.m.MessagesAcked.WithLabelValues("traces")); got != 700 {
		t.Errorf("messages_acked_total = %v, want 700", got)
	}
	if _, err := bus.PurgeAcknowledged(context.Background(), js, bus.StreamName(schema.Traces)); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(context.Background(), bus.StreamName(schema.Traces))
	if err != nil {
		t.Fatal(err)
	}
	if si, err := s.Info(context.Background()); err != nil || si.State.Msgs != 0 {
		t.Errorf("stream holds %d messages after every acknowledgement (err %v)", si.State.Msgs, err)
	}
}

// TestAckerCloseDrains: closing sends what is queued, then run returns;
// later batches and barriers are not held up.
func TestAckerCloseDrains(t *testing.T) {
	_, nc, js := bustest.RunJetStream(t, bustest.WithDurables("w"))
	cons, msgs := fetchAll(t, js, 50)
	l := testLane(t, nc)
	l.acks.add(msgs)
	l.acks.close()
	l.acks.run(context.Background()) // returns once drained
	info, err := cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 0 {
		t.Errorf("ack pending %d after close, want 0", info.NumAckPending)
	}
	<-l.acks.barrier() // closed at once
}

// TestAckerCanceled: a canceled acker drops its queue (the messages are
// journaled; redelivery settles them) and opens every barrier.
func TestAckerCanceled(t *testing.T) {
	_, nc, js := bustest.RunJetStream(t, bustest.WithDurables("w"))
	_, msgs := fetchAll(t, js, 5)
	l := testLane(t, nc)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l.acks.add(msgs)
	bar := l.acks.barrier()
	l.acks.run(ctx)
	<-bar
	<-l.acks.exited
}
