// Package e2e holds the tests that run the otlp-arrow binary as separate
// processes. It has no code of its own.
package e2e
