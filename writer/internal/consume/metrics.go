package consume

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the writer's Prometheus metrics.
type Metrics struct {
	RowsWritten        *prometheus.CounterVec
	RowsAppended       *prometheus.CounterVec
	BytesWritten       *prometheus.CounterVec
	FilesRotated       *prometheus.CounterVec
	MessagesAcked      *prometheus.CounterVec
	MessagesTerminated *prometheus.CounterVec
	WriteErrors        *prometheus.CounterVec
	FlushDuration      *prometheus.HistogramVec
}

// NewMetrics creates the metrics and registers them on reg when reg is not
// nil. A metric that is already registered (a second writer in the same
// process) is shared.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "otlp_arrow", Subsystem: "writer", Name: name, Help: help,
		}, []string{"signal"})
	}
	m := &Metrics{
		RowsWritten:        counter("rows_written_total", "Rows written to output files and acknowledged."),
		RowsAppended:       counter("rows_appended_total", "Rows written by appending their payload's batches as they are (writer.passthrough), a part of rows_written_total."),
		BytesWritten:       counter("bytes_written_total", "Bytes written to output files and synced."),
		FilesRotated:       counter("files_rotated_total", "Output files closed and renamed to their final name."),
		MessagesAcked:      counter("messages_acked_total", "Bus messages acknowledged."),
		MessagesTerminated: counter("messages_terminated_total", "Bus messages terminated because they can never be written."),
		WriteErrors:        counter("write_errors_total", "Failures writing, syncing or finalizing output files or the journal."),
		FlushDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "otlp_arrow", Subsystem: "writer", Name: "flush_duration_seconds",
			Help:    "Time to write, sync, journal and acknowledge one flush.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}, []string{"signal"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.RowsWritten, err = register(reg, m.RowsWritten); err != nil {
		return nil, err
	}
	if m.RowsAppended, err = register(reg, m.RowsAppended); err != nil {
		return nil, err
	}
	if m.BytesWritten, err = register(reg, m.BytesWritten); err != nil {
		return nil, err
	}
	if m.FilesRotated, err = register(reg, m.FilesRotated); err != nil {
		return nil, err
	}
	if m.MessagesAcked, err = register(reg, m.MessagesAcked); err != nil {
		return nil, err
	}
	if m.MessagesTerminated, err = register(reg, m.MessagesTerminated); err != nil {
		return nil, err
	}
	if m.WriteErrors, err = register(reg, m.WriteErrors); err != nil {
		return nil, err
	}
	if m.FlushDuration, err = register(reg, m.FlushDuration); err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}
