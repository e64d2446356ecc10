package ingest

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

const metricPrefix = "otlp_arrow_ingest_"

// publisherMetrics are recorded by [Publisher]; protocol is the source label.
type publisherMetrics struct {
	rowsReceived    *prometheus.CounterVec // protocol, signal
	rowsRejected    *prometheus.CounterVec // protocol, signal, reason
	publishDuration prometheus.Histogram
}

// serverMetrics are recorded by the gRPC and HTTP servers.
type serverMetrics struct {
	requests *prometheus.CounterVec // protocol, signal, code
	inflight prometheus.Gauge
}

func newPublisherMetrics(reg prometheus.Registerer) (*publisherMetrics, error) {
	m := &publisherMetrics{
		rowsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "rows_received_total",
			Help: "Rows (spans, metric data points, log records) received in decoded requests.",
		}, []string{"protocol", "signal"}),
		rowsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "rows_rejected_total",
			Help: "Rows not published, by reason (invalid, too_large, bus_full, bus_unavailable, error).",
		}, []string{"protocol", "signal", "reason"}),
		publishDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    metricPrefix + "bus_publish_duration_seconds",
			Help:    "Time to publish one request's messages and receive every JetStream acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
	}
	var err error
	if m.rowsReceived, err = register(reg, m.rowsReceived); err != nil {
		return nil, err
	}
	if m.rowsRejected, err = register(reg, m.rowsRejected); err != nil {
		return nil, err
	}
	if m.publishDuration, err = register(reg, m.publishDuration); err != nil {
		return nil, err
	}
	return m, nil
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
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.inflight, err = register(reg, m.inflight); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c on reg (when not nil); a collector already registered
// under the same description is reused, so a Service and an embedded
// Publisher can share one registry.
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
