// Package ingest receives OTLP over gRPC (port 4317) and OTLP/HTTP (port
// 4319), turns every request into Arrow IPC stream payloads, one or more per
// resource service, and publishes them on the NATS JetStream bus under
// otlp.<signal>.<service>.
//
// A client gets its answer only after JetStream has acknowledged every
// message of its request, so a success means the data is durable. Errors
// follow the OTLP rules: malformed input is INVALID_ARGUMENT (HTTP 400), an
// oversize request RESOURCE_EXHAUSTED without retry information (HTTP 413),
// and backpressure from the bus or from admission control UNAVAILABLE with
// RetryInfo (HTTP 429 or 503 with Retry-After).
//
// Requests are admitted by uncompressed bytes in flight before they are
// decoded, so memory stays bounded whatever clients send: a weighted
// semaphore of MaxInflightBytes. OTLP/HTTP admits a request by its
// Content-Length (MaxRequestBytes when unknown or gzip-encoded) before
// reading it, never inflates a body beyond MaxRequestBytes, and gives back
// the unused part once the body is read. OTLP/gRPC registers the services
// with handlers that receive the raw message bytes (gRPC has already bounded
// them by MaxRecvMsgSize and inflated them), admits them by their length and
// only then decodes them; undecodable bytes get INVALID_ARGUMENT.
//
// [Publisher] converts and publishes requests without any server, for the
// embedded API; [Service] runs the gRPC and HTTP servers around it.
package ingest
