package bustest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
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

// Records decodes one message's payload; the batches are released when the
// test ends.
func Records(t testing.TB, data []byte) []arrow.RecordBatch {
	t.Helper()
	_, recs, err := payload.Decode(data, nil)
	if err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	t.Cleanup(func() {
		for _, r := range recs {
			r.Release()
		}
	})
	return recs
}

// Traces decodes the payloads of msgs back to OTLP, in order.
func Traces(t testing.TB, msgs []Msg) []*tracepb.ResourceSpans {
	t.Helper()
	return fromArrow(t, msgs, "traces", schema.TracesFromArrow)
}

// Metrics decodes the payloads of msgs back to OTLP, in order.
func Metrics(t testing.TB, msgs []Msg) []*metricspb.ResourceMetrics {
	t.Helper()
	return fromArrow(t, msgs, "metrics", schema.MetricsFromArrow)
}

// Logs decodes the payloads of msgs back to OTLP, in order.
func Logs(t testing.TB, msgs []Msg) []*logspb.ResourceLogs {
	t.Helper()
	return fromArrow(t, msgs, "logs", schema.LogsFromArrow)
}

func fromArrow[R any](t testing.TB, msgs []Msg, what string, conv func([]arrow.RecordBatch) ([]R, error)) []R {
	t.Helper()
	var out []R
	for _, m := range msgs {
		rs, err := conv(Records(t, m.Data))
		if err != nil {
			t.Fatalf("%s from arrow: %v", what, err)
		}
		out = append(out, rs...)
	}
	return out
}
