package otlpstatus

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/otlp-arrow/otlp-arrow/proto/obs"
)

// Metrics are the answer counters every ingest stage records. They are
// defined once, here, because stages assembled in one process share them on
// one registry, which needs the same name, help and labels.
type Metrics struct {
	// Requests counts answers by protocol, signal and code (gRPC code name
	// or HTTP status).
	Requests *prometheus.CounterVec
	// AuthFailures counts requests refused for a missing or bad bearer
	// token, by protocol.
	AuthFailures *prometheus.CounterVec
	// TLSFailures counts failed TLS handshakes (among them clients without
	// an accepted certificate under mutual TLS), by protocol.
	TLSFailures *prometheus.CounterVec
}

// NewMetrics returns the answer counters registered on reg (reg may be
// nil); counters another stage registered already are shared.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otlp_arrow_ingest_requests_total",
			Help: "OTLP export requests answered, by protocol, signal and answer code (gRPC code name or HTTP status).",
		}, []string{"protocol", "signal", "code"}),
		AuthFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otlp_arrow_ingest_auth_failures_total",
			Help: "Requests refused for a missing or invalid bearer token (UNAUTHENTICATED / 401), by protocol.",
		}, []string{"protocol"}),
		TLSFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otlp_arrow_ingest_tls_handshake_failures_total",
			Help: "Failed TLS handshakes on the ingest listeners (no or an untrusted client certificate under mutual TLS, plain text on a TLS port), by protocol.",
		}, []string{"protocol"}),
	}
	var err error
	for _, c := range []**prometheus.CounterVec{&m.Requests, &m.AuthFailures, &m.TLSFailures} {
		if *c, err = obs.Register(reg, *c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
