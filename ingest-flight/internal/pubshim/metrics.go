package pubshim

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

const metricPrefix = "otlp_arrow_ingest_"

type publisherMetrics struct {
	rowsReceived    *prometheus.CounterVec // protocol, signal
	rowsRejected    *prometheus.CounterVec // protocol, signal, reason
	publishDuration prometheus.Histogram
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
