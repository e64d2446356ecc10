// Command consume prints every trace payload on the bus: a custom consumer
// with its own durable consumer on OTLP_TRACES.
package main

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	url := os.Getenv("NATS_URL")
	if url == "" {
		url = nats.DefaultURL // nats://127.0.0.1:4222, where otlp-arrow run listens
	}
	nc, err := nats.Connect(url)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Drain()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}

	// A durable consumer of your own: the stream keeps every message until
	// you have acknowledged it too (interest retention). Delete it when you
	// are done: nats consumer rm OTLP_TRACES my-app
	cons, err := js.CreateOrUpdateConsumer(ctx, "OTLP_TRACES", jetstream.ConsumerConfig{
		Durable:       "my-app",
		FilterSubject: "otlp.traces.>", // or otlp.traces.checkout for one service
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		log.Fatal(err)
	}

	cc, err := cons.Consume(func(msg jetstream.Msg) {
		h := msg.Headers()
		rdr, err := ipc.NewReader(bytes.NewReader(msg.Data()))
		if err != nil {
			log.Printf("%s: %v", msg.Subject(), err)
			_ = msg.Term() // not Arrow: never redeliver
			return
		}
		defer rdr.Release()
		rows := 0
		for rdr.Next() {
			rec := rdr.RecordBatch() // valid until the next Next: Retain to keep it
			rows += int(rec.NumRows())
		}
		if err := rdr.Err(); err != nil {
			log.Printf("%s: %v", msg.Subject(), err)
			_ = msg.Term()
			return
		}
		fmt.Printf("%s schema=%s rows=%d (header says %s) columns=%d\n", msg.Subject(),
			h.Get("Otlp-Schema"), rows, h.Get("Otlp-Rows"), rdr.Schema().NumFields())
		_ = msg.Ack()
	})
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Stop()
	<-ctx.Done()
}
