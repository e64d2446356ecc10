// Package otlpwire decodes OTLP/protobuf export requests into the generated
// structs of go.opentelemetry.io/proto/otlp without the reflection of
// proto.Unmarshal.
//
// The decoders accept exactly the inputs proto.Unmarshal accepts and produce
// what proto.Unmarshal with DiscardUnknown produces, at a fraction of the
// allocations:
//
//   - Strings and byte fields alias the input: the caller must not modify or
//     reuse the input while the decoded request is in use. (A gRPC codec gets
//     pooled buffers that are recycled when Unmarshal returns: copy them out
//     first.)
//   - Messages are allocated in chunks, so any message kept alive keeps its
//     chunk and the input alive.
//   - Repeated fields have no spare capacity: appending to one copies it
//     instead of overwriting a neighbour.
//
// The decoders are safe for concurrent use on distinct requests.
package otlpwire
