// Package bus is the contract between otlp-arrow stages and NATS JetStream:
// subject and stream names, message headers, the streams and durable
// consumers every stage relies on, the embedded server, connecting, and
// publishing with errors mapped to retry decisions.
//
// The contract is public: custom consumers rely on it (see docs/bus.md).
// Everything here is safe for concurrent use.
package bus
