// Package fileindex keeps an index of the files the writer produces under an
// output directory (<dir>/otlp/<signal>/<signal>-<start>-<writer>-<seq>.arrows
// or .parquet, with .partial while open): each file's signal, format, state,
// rows, time range and services, so that a query reads only the files whose
// time range overlaps its window.
//
// The index is built by [Index.Refresh] and kept up to date by [Index.Run],
// which polls the directories: a poll that finds nothing changed only lists
// the directories. A growing .partial Arrow file is read incrementally from
// where the last poll stopped, up to its last complete message; a file
// renamed from .partial to its final name keeps what was read of it; a file
// that disappears (the janitor) or is renamed while it is read is not an
// error.
//
// [Reader] reads an Arrow IPC stream file the same way and is what the
// index and the dashboard use to follow .partial files.
package fileindex
