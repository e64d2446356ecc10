package ingestflight

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/otlp-arrow/otlp-arrow/proto/obs"
	"github.com/otlp-arrow/otlp-arrow/proto/otlpstatus"
)

// Protocols label where data entered, in the Otlp-Source header and the
// protocol label of metrics.
const (
	SourceFlight = "flight"
	SourceOTAP   = "otap"
)

const metricPrefix = "otlp_arrow_ingest_"

// serverMetrics are recorded by the Flight and OTAP handlers; the answer
// counters are the shared otlpstatus.Metrics.
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
	shared, err := otlpstatus.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	inflight, err := obs.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: metricPrefix + "flight_inflight_bytes",
		Help: "Arrow Flight message and OTAP batch bytes admitted and not yet published.",
	}))
	if err != nil {
		return nil, err
	}
	return &serverMetrics{requests: shared.Requests, authFailures: shared.AuthFailures, tlsFailures: shared.TLSFailures, inflight: inflight}, nil
}
