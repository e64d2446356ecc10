package ingest

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// blockingPublisher holds every publish until release is closed, and says on
// entered when one starts.
type blockingPublisher struct {
	jetstream.Publisher
	entered chan struct{}
	release chan struct{}
}

func (p *blockingPublisher) PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	p.entered <- struct{}{}
	<-p.release
	return p.Publisher.PublishMsg(ctx, msg, opts...)
}

// A stop lets requests in flight finish and get their answer.
func TestRunGracefulStop(t *testing.T) {
	b := runBus(t)
	pub := &blockingPublisher{Publisher: b.js, entered: make(chan struct{}, 2), release: make(chan struct{})}
	cfg := DefaultConfig()
	cfg.GRPC.Addr, cfg.HTTP.Addr = "127.0.0.1:0", "127.0.0.1:0"
	s, err := New(cfg, pub, testLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	conn := grpcConn(t, s) // dialed before the stop
	httpURL := "http://" + s.HTTPAddr().String() + PathTraces
	grpcErr := make(chan error, 1)
	go func() {
		rctx, rcancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer rcancel()
		_, err := coltracepbClient(conn).Export(rctx, traceRequest(resourceSpans("grpc-inflight", 1, nil, 0)))
		grpcErr <- err
	}()
	httpStatus := make(chan int, 1)
	go func() {
		body := mustMarshal(t, traceRequest(resourceSpans("http-inflight", 1, nil, 0)))
		resp, err := http.Post(httpURL, contentTypeProto, bytes.NewReader(body))
		if err != nil {
			httpStatus <- -1
			return
		}
		resp.Body.Close()
		httpStatus <- resp.StatusCode
	}()
	<-pub.entered
	<-pub.entered
	cancel()
	for s.Ready() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	close(pub.release)
	if err := <-grpcErr; err != nil {
		t.Errorf("in-flight gRPC request: %v", err)
	}
	if got, want := <-httpStatus, http.StatusOK; got != want {
		t.Errorf("in-flight HTTP request: status %d, want %d", got, want)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got, want := len(bustest.ReadMessages(t, b.js, schema.Traces)), 2; got != want {
		t.Errorf("messages = %d, want %d", got, want)
	}
}
