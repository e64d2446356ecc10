// Package seedspans reads the original service's flat span schema, so that
// its Arrow Flight clients keep working, and turns it into OTLP spans.
//
// Columns (all optional, any order; no others):
//
//   - trace_id, span_id, parent_span_id: utf8 or large_utf8 holding hex
//     (either case), or binary, large_binary or fixed_size_binary holding the
//     raw bytes; 16 bytes for trace ids, 8 for span ids; null or empty means
//     unset.
//   - name, status_message, service_name: utf8, large_utf8 or
//     dictionary<integer, utf8>. service_name (not in the seed) becomes the
//     resource's service.name; rows without it share a resource without
//     attributes.
//   - kind, status_code: any integer type (the OTLP enum numbers), or a
//     string holding the enum name with or without its prefix, in any case
//     (SPAN_KIND_SERVER, server; STATUS_CODE_ERROR, error).
//   - start_time_unix_nano, end_time_unix_nano: uint64 or int64 nanoseconds
//     since the Unix epoch, or a timestamp of any unit.
//   - attributes: utf8 or large_utf8 holding a JSON object; strings become
//     string values, integral numbers int values, other numbers doubles,
//     booleans bool values, arrays array values and objects key-value
//     lists; JSON null entries are dropped. Null or empty means none.
//
// A span gets a Status when status_code or status_message is not null.
package seedspans
