package publish

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/otlp-arrow/otlp-arrow/proto/obs"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// metricPrefix is shared with the ingest stages, which record the requests.
const metricPrefix = "otlp_arrow_ingest_"

// metrics are recorded by [Publisher]; protocol is the source label.
type metrics struct {
	rowsReceived    *prometheus.CounterVec // protocol, signal
	rowsRejected    *prometheus.CounterVec // protocol, signal, reason
	publishDuration prometheus.Histogram
	attrsTruncated  *prometheus.CounterVec   // signal, kind
	batchRequests   *prometheus.HistogramVec // signal
	batchRows       *prometheus.HistogramVec // signal
	messageBytes    *prometheus.HistogramVec // signal
}

// Kinds of attributes_truncated_total.
const (
	truncCount       = "count"        // attributes dropped beyond MaxAttributes
	truncValueLength = "value_length" // values cut to MaxAttributeValueLength
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
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
			Help:    "Time to publish one request's messages (or, coalescing, one flush's) and receive every JetStream acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		attrsTruncated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "attributes_truncated_total",
			Help: "Attributes changed by the ingest limits: kind count (dropped beyond max_attributes) or value_length (cut to max_attribute_value_length).",
		}, []string{"signal", "kind"}),
		batchRequests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "otlp_arrow_publish_batch_requests",
			Help:    "Requests (per service) whose rows one coalesced flush converted and published together.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}, []string{"signal"}),
		batchRows: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "otlp_arrow_publish_batch_rows",
			Help:    "Rows one coalesced flush converted and published together.",
			Buckets: prometheus.ExponentialBuckets(16, 2, 13),
		}, []string{"signal"}),
		messageBytes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "otlp_arrow_publish_message_bytes",
			Help:    "Payload bytes of each bus message JetStream acknowledged (its count is the messages published).",
			Buckets: prometheus.ExponentialBuckets(1024, 4, 10),
		}, []string{"signal"}),
	}
	var err error
	if m.rowsReceived, err = obs.Register(reg, m.rowsReceived); err != nil {
		return nil, err
	}
	if m.rowsRejected, err = obs.Register(reg, m.rowsRejected); err != nil {
		return nil, err
	}
	if m.publishDuration, err = obs.Register(reg, m.publishDuration); err != nil {
		return nil, err
	}
	if m.attrsTruncated, err = obs.Register(reg, m.attrsTruncated); err != nil {
		return nil, err
	}
	if m.batchRequests, err = obs.Register(reg, m.batchRequests); err != nil {
		return nil, err
	}
	if m.batchRows, err = obs.Register(reg, m.batchRows); err != nil {
		return nil, err
	}
	if m.messageBytes, err = obs.Register(reg, m.messageBytes); err != nil {
		return nil, err
	}
	return m, nil
}

// observeBatch records one coalesced flush of requests holding rows rows.
func (m *metrics) observeBatch(sig schema.Signal, requests int, rows int64) {
	m.batchRequests.WithLabelValues(string(sig)).Observe(float64(requests))
	m.batchRows.WithLabelValues(string(sig)).Observe(float64(rows))
}
