module github.com/otlp-arrow/otlp-arrow/deploy

go 1.26.8
