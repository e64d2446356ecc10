// Package segment writes the writer's output files: Arrow IPC stream files
// named <signal>-<UTC start>-<writer id>-<seq>.arrows that carry the suffix
// .partial while they are open.
//
// A [File] appends record batches, reports the byte offset after each
// [File.Sync], and [File.Finalize] closes the stream (end-of-stream marker),
// syncs, renames the file to its final name and syncs the directory.
// [Repair] finishes a .partial file left behind by a crash: it truncates the
// file to a known durable offset, appends the end-of-stream marker and
// renames it.
package segment
