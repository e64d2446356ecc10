module github.com/otlp-arrow/otlp-arrow/ingest-grpc

go 1.26.8

require golang.org/x/sync v0.25.0 // indirect
