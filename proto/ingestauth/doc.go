// Package ingestauth holds what the ingest stages (ingest-grpc and
// ingest-flight) share to decide who may send: bearer tokens checked in
// constant time against a static list and a tokens file that is re-read
// when it changes ([Checker]), and the server side of TLS and mutual TLS
// ([ServerTLS], [CountHandshakeFailures]). The stages build their own
// answers (gRPC codes, HTTP statuses, messages) on top of it.
package ingestauth
