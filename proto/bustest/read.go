package bustest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Msg is one message read back from a stream.
type Msg struct {
	Subject string
	Header  nats.Header
	Data    []byte
}

// ReadMessages returns every message now in the stream of sig, in order,
// through an ordered consumer (it leaves no durable behind). It fails the
// test on any error.
func ReadMessages(t testing.TB, js jetstream.JetStream, sig schema.Signal) []Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, bus.StreamName(sig))
	if err != nil {
		t.Fatalf("stream %s: %v", sig, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatalf("stream info %s: %v", sig, err)
	}
	n := int(info.State.Msgs)
	if n == 0 {
		return nil
	}
	c, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("ordered consumer: %v", err)
	}
	var out []Msg
	for len(out) < n {
		batch, err := c.Fetch(n-len(out), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			out = append(out, Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			t.Fatalf("fetch: %v", err)
		}
		if got == 0 {
			t.Fatalf("fetched %d of %d messages", len(out), n)
		}
	}
	return out
}
