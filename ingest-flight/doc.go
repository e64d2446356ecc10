// Package flight will receive Arrow data over Arrow Flight DoPut and the
// OTel-Arrow (OTAP) gRPC streams and publish it on the bus. It is not built
// yet; see the ingest-flight issue.
package flight
