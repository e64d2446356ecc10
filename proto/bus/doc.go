// Package bus is the contract between otlp-arrow stages and NATS JetStream:
// subject and stream names, message headers, the streams and durable
// consumers every stage relies on, the embedded server, connecting, and
// publishing with errors mapped to retry decisions. The embedded server
// can require a user and password, a token or NKeys, and TLS or mutual TLS
// (ServerAuth, ServerTLS); Connect presents the matching ConnConfig and
// fails fast when the server refuses it (see docs/security.md).
//
// The contract is public: custom consumers rely on it (see docs/bus.md).
// Everything here is safe for concurrent use.
package bus
