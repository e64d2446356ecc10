// Package dashboard is the dashboard stage: a read-only web server over the
// output directory's files (traces, logs, metrics and the files themselves,
// found through a [fileindex.Index]) and a live tail of the bus streamed to
// browsers with Server-Sent Events. The browser pages are plain files
// embedded from package web; the server hands them JSON.
//
// Create it with [New]; [Dashboard.Run] keeps the file index and the live
// tail running and, unless the host serves the handler itself, listens on
// the configured address. A Dashboard is an [http.Handler].
package dashboard
