// Package pubshim is a stand-in for proto/publish (the shared publish path
// being moved out of ingest-grpc): the same API, so the stage switches by
// changing one import. Delete it once proto/publish exists.
package pubshim
