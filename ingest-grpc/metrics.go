package ingest

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/otlp-arrow/otlp-arrow/proto/obs"
	"github.com/otlp-arrow/otlp-arrow/proto/otlpstatus"
)

const metricPrefix = "otlp_arrow_ingest_"

// serverMetrics are recorded by the gRPC and HTTP servers.
type serverMetrics struct {
	requests *prometheus.CounterVec // protocol, signal, code
	inflight prometheus.Gauge
	// authFailures counts requests refused for a missing or bad bearer
	// token, by protocol.
	authFailures *prometheus.CounterVec
	// tlsFailures counts failed TLS handshakes (among them clients without
	// an accepted certificate under mutual TLS), by protocol.
	tlsFailures *prometheus.CounterVec
}

func newServerMetrics(reg prometheus.Registerer) (*serverMetrics, error) {
	shared, err := otlpstatus.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	inflight, err := obs.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: metricPrefix + "inflight_bytes",
		Help: "Uncompressed request bytes admitted and not yet answered.",
	}))
	if err != nil {
		return nil, err
	}
	return &serverMetrics{requests: shared.Requests, inflight: inflight, authFailures: shared.AuthFailures, tlsFailures: shared.TLSFailures}, nil
}
