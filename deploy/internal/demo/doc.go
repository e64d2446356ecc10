// Package demo is `otlp-arrow demo`: it generates realistic telemetry with
// the OpenTelemetry Go SDK (traces across a few services with parent and
// child spans, errors and events; counters, gauges and histograms; logs
// correlated with the spans) and writes it to Arrow files through an
// embedded pipeline, or sends it over OTLP/gRPC to a running otlp-arrow.
package demo
