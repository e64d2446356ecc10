// Package publish is the ingest side of the bus contract, shared by every
// ingest stage: it turns OTLP requests (or Arrow batches in our schema) into
// per-service Arrow payloads on otlp.<signal>.<service> and returns only
// after JetStream acknowledged every message, so a nil error means durable.
package publish
