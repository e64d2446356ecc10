module github.com/otlp-arrow/otlp-arrow/forwarder

go 1.26.8
