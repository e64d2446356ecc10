// Package writer is the writer stage: it consumes the bus through the
// durable pull consumer (bus.DurableWriter by default) and writes rotated,
// compressed Arrow IPC stream files.
//
// # Files
//
// Files go to <OutputDir>/otlp/<signal>/ and are named
//
//	<signal>-<UTC start>-<writer id>-<seq>.arrows
//
// for example traces-20261125T060102.123456789Z-w1-000001.arrows, with the
// suffix .partial while the file is open. Each writer keeps one open file per
// signal. A file is one Arrow IPC stream (schema, dictionary and record
// batches, end-of-stream marker) whose buffers are compressed with zstd by
// default (lz4 or none by option). Its schema is that of the first payload
// written to it; a payload with another schema or another Otlp-Schema
// header starts a new file. A file is rotated when it reaches MaxFileBytes,
// when it is MaxFileAge old, and on shutdown. Readers may tail a .partial
// file: its content up to the last flush is a valid stream without the
// end-of-stream marker.
//
// With Format "parquet" the files are Apache Parquet files with the same
// Arrow schema (stored in the file), named <...>-<seq>.parquet. A Parquet
// file is readable only once its footer is written, so every flush writes
// one whole file: in step 2 below the sync first writes the footer, and
// right after the journal record the file is renamed as in step 3.
//
// # Durability protocol
//
// Each writer keeps a journal, <OutputDir>/otlp/.writer/<writer id>.journal,
// of checksummed records (file, durable byte offset, stream sequences).
//
//  1. Messages are pulled in batches (Fetch, 1 s expiry) and buffered until
//     WriteInterval passes or MaxBatchRows or MaxBatchBytes is reached, or
//     Flush is called. A message buffered longer than 15 s gets InProgress
//     before the flush, so the consumer's AckWait (60 s) never expires
//     under it.
//  2. A flush writes the record batches of the buffered messages to the
//     .partial file and fsyncs it; then it appends one journal record with
//     the file's name, its size after the sync and the (stream, sequence)
//     of every message in the flush, and fsyncs the journal; only then are
//     the messages handed to the lane's acker, which acknowledges them with
//     DoubleAck (waiting for the server) one after the other, more at once
//     only when a backlog builds up (see the acker). Flush (the method)
//     waits for them. An acknowledgement only moves the consumer's ack
//     floor: the writer's bus.Purger, told of each group, removes from the
//     stream what every durable consumer acknowledged, at most every
//     bus.PurgeInterval.
//  3. A rotation first commits as in 2, then writes the end-of-stream marker
//     (closing the IPC writer), fsyncs, renames .partial to .arrows and
//     fsyncs the directory.
//
// On start, before pulling, the writer recovers its own leftovers (files of
// other writer ids are never touched): every .partial file named in its
// journal is truncated to the last journaled offset (dropping a torn tail),
// given the end-of-stream marker, fsynced and renamed; a .partial file the
// journal does not name holds nothing that was acknowledged and is removed.
// The journaled sequences are kept: a redelivered message (delivery count
// above 1) whose sequence is in this writer's journal, or in another
// writer's journal in the same directory, is acknowledged without being
// written again. A first delivery is always written.
// Sequences at or below the consumer's ack floor are forgotten, and the
// journal is compacted (rewritten through a temporary file and a rename)
// after rotations and when it passes 1 MiB. A SIGKILL at any instruction
// therefore loses nothing (unacknowledged messages are redelivered) and
// duplicates nothing (journaled ones are not written twice).
//
// When writing fails (disk full, read-only file system) nothing is
// acknowledged: the messages get NakWithDelay (5 s) so the stream keeps
// them, [Writer.Ready] reports the error, pulling pauses, and every
// WriteInterval the writer repairs its file (as in recovery) and resumes.
//
// A message that can never be written (its payload does not decode, or its
// Otlp-Signal header names another signal) is logged at warn and terminated
// with TermWithReason. A message without an Otlp-Signal header is accepted.
// Payloads without rows are acknowledged at once.
//
// Several writers with different ids may share the durable consumer; each
// writes its own files.
//
// # Metrics
//
// otlp_arrow_writer_rows_written_total, _bytes_written_total,
// _files_rotated_total, _messages_acked_total, _messages_terminated_total and
// _write_errors_total (all with a signal label), and
// otlp_arrow_writer_flush_duration_seconds.
package writer
