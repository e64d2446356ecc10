package ingestflight

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
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
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c on reg (when not nil); a collector already registered
// under the same description is reused.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("register metric: %w", err)
	}
	return c, nil
}
