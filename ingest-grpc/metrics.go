package ingest

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/otlp-arrow/otlp-arrow/proto/obs"
)

const metricPrefix = "otlp_arrow_ingest_"

// serverMetrics are recorded by the gRPC and HTTP servers.
type serverMetrics struct {
	requests *prometheus.CounterVec // protocol, signal, code
	inflight prometheus.Gauge
}

func newServerMetrics(reg prometheus.Registerer) (*serverMetrics, error) {
	m := &serverMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "requests_total",
			Help: "OTLP export requests answered, by protocol, signal and answer code (gRPC code name or HTTP status).",
		}, []string{"protocol", "signal", "code"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: metricPrefix + "inflight_bytes",
			Help: "Uncompressed request bytes admitted and not yet answered.",
		}),
	}
	var err error
	if m.requests, err = obs.Register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.inflight, err = obs.Register(reg, m.inflight); err != nil {
		return nil, err
	}
	return m, nil
}
