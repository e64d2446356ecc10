// Package schema holds the Arrow schemas of the three signals and the
// lossless conversions between OTLP requests and Arrow record batches: one
// row per span, metric data point or log record, with the resource and scope
// as columns on every row. docs/schema.md lists every column.
//
// The conversions are safe for concurrent use; every batch they return is
// owned by the caller, who releases it.
package schema
