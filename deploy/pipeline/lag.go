package pipeline

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// lagCollector reports, at scrape time, how far each durable consumer is
// behind: messages not yet delivered and messages delivered but not
// acknowledged.
type lagCollector struct {
	js         jetstream.JetStream
	durables   []string
	pending    *prometheus.Desc
	ackPending *prometheus.Desc
}

func newLagCollector(js jetstream.JetStream, durables []string) *lagCollector {
	labels := []string{"stream", "consumer"}
	return &lagCollector{
		js:       js,
		durables: durables,
		pending: prometheus.NewDesc("otlp_arrow_consumer_pending_messages",
			"Messages in the stream not yet delivered to the consumer (consumer lag).", labels, nil),
		ackPending: prometheus.NewDesc("otlp_arrow_consumer_ack_pending_messages",
			"Messages delivered to the consumer and not yet acknowledged.", labels, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.ackPending
}

// Collect implements prometheus.Collector; a consumer that cannot be asked
// (bus down) is left out of the scrape.
func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, sig := range schema.Signals {
		stream := bus.StreamName(sig)
		for _, d := range c.durables {
			cons, err := c.js.Consumer(ctx, stream, d)
			if err != nil {
				continue
			}
			info, err := cons.Info(ctx)
			if err != nil {
				continue
			}
			ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(info.NumPending), stream, d)
			ch <- prometheus.MustNewConstMetric(c.ackPending, prometheus.GaugeValue, float64(info.NumAckPending), stream, d)
		}
	}
}
