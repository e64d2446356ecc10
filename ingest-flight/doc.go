// Package ingestflight receives Arrow data on one gRPC server (port 4318 by
// default) and publishes it on the NATS JetStream bus under
// otlp.<signal>.<service>:
//
//   - Arrow Flight DoPut. The flight descriptor's path (traces, metrics or
//     logs) names the signal. A stream in the signal's schema
//     (schema.Schema) is published as it is, split per service_name value
//     with zero-copy slices: no protobuf on the way. A compatible subset of
//     the schema is accepted too: columns may be missing (they become null),
//     in any order, and a utf8 column may stand for a dictionary<int32,
//     utf8> one and the other way round; a column of another type or of an
//     unknown name is rejected with INVALID_ARGUMENT naming it. When a
//     subset lacks service_name, it is taken from
//     resource_attributes_str['service.name']. Under the traces descriptor,
//     the seed's flat span schema (trace_id, span_id, parent_span_id, name,
//     kind, start_time_unix_nano, end_time_unix_nano, status_code,
//     status_message, attributes as JSON) is recognised by its columns and
//     mapped to the traces schema; see package internal/seedspans for the
//     accepted types. Each batch is answered, after JetStream acknowledged
//     it, by a PutResult whose app_metadata is {"rows":N}.
//   - The OTel-Arrow (OTAP) services ArrowTracesService, ArrowMetricsService
//     and ArrowLogsService: every BatchArrowRecords of a stream is decoded
//     (one otel-arrow consumer per stream), converted to OTLP and published;
//     its BatchStatus carries OK, INVALID_ARGUMENT for a batch that cannot
//     be decoded (the stream goes on), or UNAVAILABLE when the bus is full
//     or down.
//
// Errors follow ingest-grpc: bad input is INVALID_ARGUMENT, a batch above
// MaxBatchRows or MaxMessageBytes RESOURCE_EXHAUSTED without retry
// information, and bus backpressure or too many bytes in flight
// (MaxInflightBytes) UNAVAILABLE with RetryInfo.
//
// Who may send is decided as in ingest-grpc, with the shared package
// proto/ingestauth: bearer tokens (Config.Auth) checked on every call
// before its first message is read (UNAUTHENTICATED otherwise), and TLS or
// mutual TLS (Config.TLS). See docs/security.md.
package ingestflight
