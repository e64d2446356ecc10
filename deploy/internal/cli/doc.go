// Package cli implements the otlp-arrow subcommands. main only hands it the
// arguments and a context cancelled by SIGINT/SIGTERM.
package cli
