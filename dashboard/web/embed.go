// Package web holds the dashboard's browser pages, embedded.
package web

import "embed"

// FS holds the pages, served at the dashboard's root.
//
//go:embed index.html
var FS embed.FS
