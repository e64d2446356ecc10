// Package proto is the contract every otlp-arrow stage shares. The code lives
// in its sub-packages: schema (Arrow schemas and the OTLP <-> Arrow
// conversions), payload (the bus payload codec), bus (subjects, headers,
// streams, consumers, the embedded server) and bustest (test helpers).
package proto
