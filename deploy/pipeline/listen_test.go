package pipeline

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/deploy/config"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// spansOf is a request of one span per service, with the given trace id.
func spansOf(traceID []byte, services ...string) *coltracepb.ExportTraceServiceRequest {
	req := &coltracepb.ExportTraceServiceRequest{}
	for _, svc := range services {
		req.ResourceSpans = append(req.ResourceSpans, &tracepb.ResourceSpans{
			Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{
				Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: svc}},
			}}},
			ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{TraceId: traceID, SpanId: []byte("span0001"), Name: svc}}}},
		})
	}
	return req
}

// spanNames are the names of the spans in a pipeline's files.
func spanNames(t *testing.T, p *Pipeline) []string {
	t.Helper()
	rss, err := schema.TracesFromArrow(mustRead(t, p.OutputDir(), schema.Traces))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, rs := range rss {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				names = append(names, s.Name)
			}
		}
	}
	return names
}

func TestListen(t *testing.T) {
	dir := t.TempDir()
	c := config.Default()
	c.OutputDir = filepath.Join(dir, "out")
	c.DataDir = filepath.Join(dir, "data")
	c.Ingest.GRPCAddr = "127.0.0.1:0"
	c.Ingest.HTTPAddr = "127.0.0.1:0"
	c.Flight.Addr = "127.0.0.1:0"
	c.Bus.Port = 0
	p, err := Start(context.Background(), WithConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()
	if p.GRPCAddr() != nil || p.HTTPAddr() != nil || p.FlightAddr() != nil {
		t.Fatal("receivers before Listen")
	}
	if err := p.Listen(); err != nil {
		t.Fatal(err)
	}
	if p.GRPCAddr() == nil || p.HTTPAddr() == nil || p.FlightAddr() == nil {
		t.Fatalf("after Listen: grpc %v, http %v, flight %v", p.GRPCAddr(), p.HTTPAddr(), p.FlightAddr())
	}
	addr := p.HTTPAddr().String()
	if err := p.Listen(); err != nil || p.HTTPAddr().String() != addr {
		t.Fatalf("second Listen: %v, http %v (was %s)", err, p.HTTPAddr(), addr)
	}
	body, err := proto.Marshal(spansOf([]byte("0123456789abcdef"), "over-http"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+addr+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/traces: %s", resp.Status)
	}
	flush(t, p)
	if got := spanNames(t, p); len(got) != 1 || got[0] != "over-http" {
		t.Errorf("spans %v, want [over-http]", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(); !errors.Is(err, ErrShutdown) {
		t.Errorf("Listen after Shutdown: %v, want ErrShutdown", err)
	}
}

func TestExportPartialRejection(t *testing.T) {
	p := startTestPipeline(t)
	ctx := context.Background()
	req := spansOf([]byte("0123456789abcdef"), "good")
	req.ResourceSpans = append(req.ResourceSpans, spansOf([]byte("short"), "bad").ResourceSpans...)
	err := p.ExportTraces(ctx, req)
	rej, ok := errors.AsType[*RejectedError](err)
	if !ok || !errors.Is(err, ErrRejected) || rej.Rejected != 1 {
		t.Fatalf("err = %v, want a RejectedError of 1 span", err)
	}
	flush(t, p)
	if got := spanNames(t, p); len(got) != 1 || got[0] != "good" {
		t.Errorf("spans %v, want [good]", got)
	}
}
