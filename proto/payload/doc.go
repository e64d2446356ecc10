// Package payload is the codec for bus message payloads: one Arrow IPC
// stream (schema message, optional dictionary batches, record batches, end
// of stream marker) per message.
//
// Encode splits record batches so that no payload exceeds the bus's maximum
// message size; Decode reads a payload back and validates every batch, so a
// consumer can trust what it gets. Both are safe for concurrent use.
package payload
