// Package janitor enforces retention over the files the writer stage leaves
// in <OutputDir>/otlp/<signal>/.
//
// A [Janitor] scans the signal directories every [Config.ScanInterval] and
// removes finished files (names of the form
// <signal>-<UTC start>-<writer id>-<seq>.arrows, written by any writer):
//
//   - per signal, files older than the signal's retention ([Config.Retention]);
//   - then, oldest first across all signals, files until the total size is at
//     most [Config.MaxTotalBytes];
//   - then, oldest first, files until the free space of the file system
//     holding [Config.OutputDir] is at least [Config.MinFreeBytes].
//
// The age of a file is the scan time minus its modification time. The writer
// last writes a file when it rotates it (closes, syncs and renames it), so
// the modification time is when the file was finished. "Oldest first" orders
// by modification time, then by name.
//
// The janitor never touches a file that is still open (its name ends in
// .partial), a file whose name does not follow the writer's pattern, a
// symbolic link, or anything in a sub-directory such as the writers' hidden
// journal directory <OutputDir>/otlp/.writer/. In dry-run mode it only logs
// and reports what it would remove.
package janitor
