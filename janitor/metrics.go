package janitor

import (
	"errors"
	"fmt"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a file is removed, the values of the reason label.
const (
	ReasonAge           = "age"
	ReasonMaxTotalBytes = "max_total_bytes"
	ReasonMinFree       = "min_free"
)

// reasons lists every reason, for pre-declaring label values.
var reasons = []string{ReasonAge, ReasonMaxTotalBytes, ReasonMinFree}

// metrics holds the janitor's Prometheus collectors.
type metrics struct {
	filesRemoved *prometheus.CounterVec // {signal, reason}
	bytesRemoved *prometheus.CounterVec // {signal, reason}
	scans        prometheus.Counter
	files        *prometheus.GaugeVec // {signal}
	bytes        *prometheus.GaugeVec // {signal}
}

// newMetrics creates the collectors and registers them with reg unless reg
// is nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "otlp_arrow", "janitor"
	m := &metrics{
		filesRemoved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "files_removed_total",
			Help: "Files removed by the janitor, by signal and reason (age, max_total_bytes, min_free).",
		}, []string{"signal", "reason"}),
		bytesRemoved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "bytes_removed_total",
			Help: "Bytes of files removed by the janitor, by signal and reason (age, max_total_bytes, min_free).",
		}, []string{"signal", "reason"}),
		scans: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "scans_total",
			Help: "Scans the janitor completed or attempted.",
		}),
		files: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "files",
			Help: "Finished files on disk after the last scan, by signal.",
		}, []string{"signal"}),
		bytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "bytes",
			Help: "Bytes of finished files on disk after the last scan, by signal.",
		}, []string{"signal"}),
	}
	for _, sig := range schema.Signals {
		m.files.WithLabelValues(string(sig))
		m.bytes.WithLabelValues(string(sig))
		for _, r := range reasons {
			m.filesRemoved.WithLabelValues(string(sig), r)
			m.bytesRemoved.WithLabelValues(string(sig), r)
		}
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.filesRemoved, m.bytesRemoved, m.scans, m.files, m.bytes} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("register janitor metrics: %w", err)
	}
	return m, nil
}
