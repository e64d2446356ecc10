module github.com/otlp-arrow/otlp-arrow/janitor

go 1.26.8
