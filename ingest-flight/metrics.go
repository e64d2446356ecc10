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
	// authFailures counts calls refused for a missing or bad bearer token,
	// by protocol (shared with ingest-grpc).
	authFailures *prometheus.CounterVec
	// tlsFailures counts failed TLS handshakes, by protocol (shared with
	// ingest-grpc; "flight" for the one Flight and OTAP listener).
	tlsFailures *prometheus.CounterVec
	// inflight is the bytes admitted and not yet published. Its own name:
	// ingest-grpc's gauge tracks another limiter.
	inflight prometheus.Gauge
}

func newServerMetrics(reg prometheus.Registerer) (*serverMetrics, error) {
	m := &serverMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "requests_total",
			Help: "OTLP export requests answered, by protocol, signal and answer code (gRPC code name or HTTP status).",
		}, []string{"protocol", "signal", "code"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "auth_failures_total",
			Help: "Requests refused for a missing or invalid bearer token (UNAUTHENTICATED / 401), by protocol.",
		}, []string{"protocol"}),
		tlsFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "tls_handshake_failures_total",
			Help: "Failed TLS handshakes on the ingest listeners (no or an untrusted client certificate under mutual TLS, plain text on a TLS port), by protocol.",
		}, []string{"protocol"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: metricPrefix + "flight_inflight_bytes",
			Help: "Arrow Flight message and OTAP batch bytes admitted and not yet published.",
		}),
	}
	var err error
	if m.requests, err = obs.Register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.authFailures, err = obs.Register(reg, m.authFailures); err != nil {
		return nil, err
	}
	if m.tlsFailures, err = obs.Register(reg, m.tlsFailures); err != nil {
		return nil, err
	}
	if m.inflight, err = obs.Register(reg, m.inflight); err != nil {
		return nil, err
	}
	return m, nil
}
