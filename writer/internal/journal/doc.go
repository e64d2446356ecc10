// Package journal keeps the writer's durability journal: an append-only file
// of checksummed records, each naming an output file, the byte offset up to
// which that file is durable, and the stream sequences of the messages whose
// rows are in the file up to that offset.
//
// A record is appended and fsynced before the messages it names are
// acknowledged, so after a crash the journal tells which part of each
// .partial file is good and which redelivered messages are already written.
// Every line is "<crc32c hex> <json>\n"; reading stops at the first line that
// is torn or fails its checksum and Open truncates the file there. Compact
// rewrites the journal from memory (atomically, through a temporary file and
// a rename) so it stays small.
package journal
