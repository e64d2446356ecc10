// Package forward is the forwarder stage: it relays bus messages to a remote
// endpoint over OTLP/gRPC, OTLP/HTTP (protobuf, gzip) or Arrow Flight.
//
// # Consuming
//
// The forwarder pulls from its own durable consumer (bus.DurableForwarder by
// default) on the stream of every signal. The consumer is declared with the
// streams (bus.EnsureStreams with Durables {writer, forwarder}) so nothing
// published before the forwarder starts is missed; Run creates it when it is
// missing and narrows its filters to Config.SubjectFilter when that filter
// lies inside the signal's subjects (and to otlp.<signal>._mixed, messages
// of several services, when the filter does not match it: of those, only
// the rows of the services whose own subject matches are sent). Messages of
// a signal that is not enabled, or without a row to send, are acknowledged
// and skipped, so the stream never keeps them for the forwarder. The
// forwarder's bus.Purger, told of every acknowledgement, removes from the
// streams what every durable consumer acknowledged (limits retention: an
// acknowledgement alone removes nothing).
//
// Each signal is one lane that handles one message at a time in stream
// order and acknowledges it (DoubleAck) only after the target accepted it,
// so the backlog drains in order per subject.
//
// # Targets
//
//   - "grpc": OTLP/gRPC. Endpoint http://host:port (plaintext),
//     https://host:port (TLS), or host:port (TLS unless TLS.Insecure).
//     Requests are gzip-compressed unless Compression is "none".
//   - "http" (alias "protobuf"): OTLP/HTTP with protobuf bodies, gzip
//     unless Compression is "none". Endpoint http(s)://host[:port][/path];
//     /v1/traces, /v1/metrics or /v1/logs is appended to the path.
//   - "arrow_flight": Arrow Flight DoPut with the descriptor path [signal]
//     and the payload's record batches as they are (no conversion), for
//     example to another otlp-arrow's ingest-flight. Endpoint
//     grpc://host:port (plaintext) or grpc+tls://host:port.
//
// OTLP targets get the payload converted back to OTLP (payload.Decode and
// schema.TracesFromArrow and friends).
//
// # Resilience
//
// Every send runs under failsafe-go policies, outermost first: retry,
// circuit breaker, timeout (the timeout bounds each attempt).
//
//   - Timeout per attempt: Config.Timeout, default 10s.
//   - Retry with exponential backoff and jitter on retryable answers: gRPC
//     UNAVAILABLE, RESOURCE_EXHAUSTED with RetryInfo, and every other code
//     except INVALID_ARGUMENT (the server's RetryInfo is honoured); HTTP
//     429, 502, 503, 504 (Retry-After is honoured, capped at
//     Retry.MaxInterval) and every other non-2xx status except 400 and 413;
//     connection errors and attempt timeouts. Defaults: InitialInterval
//     500ms, MaxInterval 30s, Multiplier 2, JitterFactor 0.2, MaxAttempts 0
//     (retry until the breaker opens).
//   - Circuit breaker, one per signal, counting retryable failures:
//     FailureThreshold 5 consecutive failures open it, it stays open for
//     Delay 30s, then lets one message through (half-open) and closes after
//     SuccessThreshold 2 successes. While it is open the lane stops fetching
//     and keeps the message it holds (extending its ack deadline with
//     InProgress): nothing is acknowledged, nothing is nak'ed, and the
//     stream keeps the backlog.
//
// Authentication failures (401, 403, UNAUTHENTICATED, PERMISSION_DENIED)
// are target problems, not message problems: they are retried and open the
// breaker, so a wrong key keeps the data in the stream instead of
// discarding it.
//
// # Permanent rejections
//
// HTTP 400 and 413, gRPC INVALID_ARGUMENT and RESOURCE_EXHAUSTED without
// RetryInfo, and payloads that cannot be decoded are not retried: the
// message is republished on otlp.dead.<signal> (bus.DeadSubject) with its
// original headers plus Otlp-Dead-Reason and Otlp-Dead-Subject, then
// terminated (TermWithReason). Partial success answers are counted
// (otlp_arrow_forwarder_partial_success_rejected_total) and logged at warn
// once per message.
//
// # Secrets
//
// API keys, bearer tokens, basic passwords and the values of Config.Headers
// are of type Secret, whose String, GoString, LogValue and MarshalText
// redact them; they come from the configuration (which the caller may fill
// from the environment) or from a file (APIKeyFile, BearerTokenFile,
// BasicPasswordFile), read once by New. They never appear in logs, errors
// or config dumps. Endpoints with user info or a query string are refused.
//
// # Metrics
//
// Registered on the prometheus.Registerer given to New, prefix
// otlp_arrow_forwarder_: attempts_total{signal,outcome} (success,
// retryable, permanent, breaker_open), rows_forwarded_total{signal},
// dead_letters_total{signal}, partial_success_rejected_total{signal},
// skipped_total{signal} and circuit_breaker_state{signal} (0 closed, 1
// half-open, 2 open).
package forward
