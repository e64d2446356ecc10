package writer

import (
	"context"
	"testing"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// TestFetchBytesSmallerThanMessages pulls with a byte bound below every
// message's size: each message is then pulled alone, and every row still
// reaches the file once.
func TestFetchBytesSmallerThanMessages(t *testing.T) {
	js := runBus(t)
	cfg := testConfig(t, "w1")
	cfg.FetchBytes = 64
	w, err := New(cfg, js, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want []row
	for i := range 5 {
		want = append(want, publish(t, js, schema.Logs, rowsOf("checkout", int64(i*10), 3)...)...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	drain(t, js, []schema.Signal{schema.Logs}, w)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	equalRows(t, readAll(t, cfg, schema.Logs), want)
}
