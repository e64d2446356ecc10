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
	// authFailures counts requests refused for a missing or bad bearer
	// token, by protocol.
	authFailures *prometheus.CounterVec
	// tlsFailures counts failed TLS handshakes (among them clients without
	// an accepted certificate under mutual TLS), by protocol.
	tlsFailures *prometheus.CounterVec
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
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "auth_failures_total",
			Help: "Requests refused for a missing or invalid bearer token (UNAUTHENTICATED / 401), by protocol.",
		}, []string{"protocol"}),
		tlsFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "tls_handshake_failures_total",
			Help: "Failed TLS handshakes on the ingest listeners (no or an untrusted client certificate under mutual TLS, plain text on a TLS port), by protocol.",
		}, []string{"protocol"}),
	}
	var err error
	if m.requests, err = obs.Register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.inflight, err = obs.Register(reg, m.inflight); err != nil {
		return nil, err
	}
	if m.authFailures, err = obs.Register(reg, m.authFailures); err != nil {
		return nil, err
	}
	if m.tlsFailures, err = obs.Register(reg, m.tlsFailures); err != nil {
		return nil, err
	}
	return m, nil
}
