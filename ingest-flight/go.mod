module github.com/otlp-arrow/otlp-arrow/ingest-flight

go 1.26.8

require github.com/otlp-arrow/otlp-arrow/proto v0.0.0

require github.com/open-telemetry/otel-arrow/go v0.46.0 // indirect

replace github.com/otlp-arrow/otlp-arrow/proto => ../proto
