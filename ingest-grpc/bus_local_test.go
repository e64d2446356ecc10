package ingest

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
)

// runBus starts an embedded JetStream with the production streams
// (temporary stand-in until bustest lands).
func runBus(t *testing.T, scfg bus.StreamsConfig) *testBus {
	t.Helper()
	srv, err := bus.StartServer(bus.ServerConfig{StoreDir: t.TempDir(), Port: bus.NoListen, SyncInterval: 0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect("", nats.InProcessServer(srv.NATS()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.EnsureStreams(context.Background(), js, scfg); err != nil {
		t.Fatal(err)
	}
	return &testBus{srv: srv, nc: nc, js: js}
}
