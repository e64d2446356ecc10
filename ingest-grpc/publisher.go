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

// NewPublisher returns a publisher on js using cfg.MaxPayloadBytes and the
// attribute limits of cfg. reg may be nil; metrics already registered on reg
// by another publisher are shared.
func NewPublisher(js jetstream.Publisher, cfg Config, reg prometheus.Registerer) (*Publisher, error) {
	return publish.NewPublisher(js, publish.Config{MaxPayloadBytes: cfg.MaxPayloadBytes, Limits: publishLimits(cfg), PublishTimeout: cfg.PublishTimeout, Compression: cfg.PayloadCompression, PerServiceMessages: cfg.PerServiceMessages}, reg)
}

// publishLimits maps the config's limits (0: none) to publish.Limits
// (negative: none).
func publishLimits(cfg Config) publish.Limits {
	off := func(v int) int {
		if v == 0 {
			return -1
		}
		return v
	}
	return publish.Limits{
		MaxAttributes:           off(cfg.MaxAttributes),
		MaxAttributeValueLength: off(cfg.MaxAttributeValueLength),
		MaxDepth:                publish.DefaultMaxDepth,
	}
}
