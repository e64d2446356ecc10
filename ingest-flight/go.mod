module github.com/otlp-arrow/otlp-arrow/ingest-flight

go 1.26.8
