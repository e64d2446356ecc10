// Package bustest runs a real embedded NATS JetStream server for tests, with
// the streams and consumers declared by the same bus code production uses.
// It imports testing: keep it out of binaries.
package bustest
