package ingest

import (
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/otlp-arrow/otlp-arrow/proto/publish"
)

// Sources label where data entered, in the Otlp-Source header and metrics.
const (
	SourceGRPC = "grpc"
	SourceHTTP = "http"
)

// Publisher converts OTLP requests to Arrow and publishes them on the bus;
// it is the shared [publish.Publisher].
type Publisher = publish.Publisher

// NewPublisher returns a publisher on js using cfg.MaxPayloadBytes. reg may
// be nil; metrics already registered on reg by another publisher are shared.
func NewPublisher(js jetstream.Publisher, cfg Config, reg prometheus.Registerer) (*Publisher, error) {
	return publish.NewPublisher(js, publish.Config{MaxPayloadBytes: cfg.MaxPayloadBytes}, reg)
}
