// Package bench is `otlp-arrow bench`, the load tool: it sends realistic,
// pre-encoded requests (a mix of services, 10-20 attributes per span,
// events, some errors; metrics of every type; logs with bodies) over
// OTLP/gRPC, OTLP/HTTP or Arrow Flight, on N connections, at full speed or a
// fixed rate, for a duration, and reports accepted rows per second, request
// latency percentiles, errors by code and the target's own figures (CPU
// seconds, RSS, rows written and bytes on disk per row) scraped from its
// Prometheus /metrics, from /proc/<pid> and from an output directory, as a
// table and as JSON. docs/BENCHMARKS.md describes the method.
package bench
