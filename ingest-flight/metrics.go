package ingestflight

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/otlp-arrow/otlp-arrow/proto/obs"
)

// Protocols label where data entered, in the Otlp-Source header and the
// protocol label of metrics.
const (
	SourceFlight = "flight"
	SourceOTAP   = "otap"
)

const metricPrefix = "otlp_arrow_ingest_"

// serverMetrics are recorded by the Flight and OTAP handlers. The collector
// has the name, help and labels of ingest-grpc's, so both stages share it on
// one registry.
type serverMetrics struct {
	requests *prometheus.CounterVec // protocol, signal, code
}

func newServerMetrics(reg prometheus.Registerer) (*serverMetrics, error) {
	m := &serverMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "requests_total",
			Help: "OTLP export requests answered, by protocol, signal and answer code (gRPC code name or HTTP status).",
		}, []string{"protocol", "signal", "code"}),
	}
	var err error
	if m.requests, err = obs.Register(reg, m.requests); err != nil {
		return nil, err
	}
	return m, nil
}
