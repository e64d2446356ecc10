// Package consume runs the writer's per-signal lanes: each lane pulls
// messages from one JetStream stream through the shared durable consumer,
// buffers them, writes them into the signal's current output file, records
// them in the journal and only then acknowledges them. It also holds the
// start-up recovery of a writer's leftover files and the writer's metrics.
package consume
