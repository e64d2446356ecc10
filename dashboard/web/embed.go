// Package web holds the dashboard's browser front-end: plain HTML, CSS and
// JavaScript modules, with no build step, embedded into the binary.
package web

import "embed"

// FS is the front-end's files, rooted at this directory (index.html,
// favicon.svg, css/, js/).
//
//go:embed index.html favicon.svg css js
var FS embed.FS
