package schema

import (
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// The row counts of OTLP resources: what their conversion produces, one
// row per span, data point or log record.

// CountSpans returns the spans of rs.
func CountSpans(rs *tracepb.ResourceSpans) int64 {
	var n int64
	for _, ss := range rs.GetScopeSpans() {
		n += int64(len(ss.GetSpans()))
	}
	return n
}

// CountResourceSpans returns the spans of a pdata resource.
func CountResourceSpans(rs ptrace.ResourceSpans) int64 {
	var n int64
	sss := rs.ScopeSpans()
	for i := range sss.Len() {
		n += int64(sss.At(i).Spans().Len())
	}
	return n
}

// CountResourceLogs returns the log records of a pdata resource.
func CountResourceLogs(rl plog.ResourceLogs) int64 {
	var n int64
	sls := rl.ScopeLogs()
	for i := range sls.Len() {
		n += int64(sls.At(i).LogRecords().Len())
	}
	return n
}

// CountLogRecords returns the log records of rl.
func CountLogRecords(rl *logspb.ResourceLogs) int64 {
	var n int64
	for _, sl := range rl.GetScopeLogs() {
		n += int64(len(sl.GetLogRecords()))
	}
	return n
}

// CountDataPoints returns the data points of rm, of every metric type.
func CountDataPoints(rm *metricspb.ResourceMetrics) int64 {
	var n int64
	for _, sm := range rm.GetScopeMetrics() {
		for _, m := range sm.GetMetrics() {
			switch d := m.GetData().(type) {
			case *metricspb.Metric_Gauge:
				n += int64(len(d.Gauge.GetDataPoints()))
			case *metricspb.Metric_Sum:
				n += int64(len(d.Sum.GetDataPoints()))
			case *metricspb.Metric_Histogram:
				n += int64(len(d.Histogram.GetDataPoints()))
			case *metricspb.Metric_ExponentialHistogram:
				n += int64(len(d.ExponentialHistogram.GetDataPoints()))
			case *metricspb.Metric_Summary:
				n += int64(len(d.Summary.GetDataPoints()))
			}
		}
	}
	return n
}
