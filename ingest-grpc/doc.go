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
// decoded, so memory stays bounded whatever clients send.
//
// [Publisher] converts and publishes requests without any server, for the
// embedded API; [Service] runs the gRPC and HTTP servers around it.
package ingest
