package cli

import (
	"context"
	"sort"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Arrow sent over Flight DoPut to `run` lands in the files unchanged.
func TestRunFlightDoPut(t *testing.T) {
	p := startRun(t)
	var rss []*tracepb.ResourceSpans
	for svc := range 3 {
		rs := &tracepb.ResourceSpans{Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			{Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "svc" + strconv.Itoa(svc)}}},
		}}}
		ss := &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: "flight-test"}}
		for i := range 50 {
			id := []byte{byte(svc), 0, 0, 0, 0, 0, 0, byte(i)}
			ss.Spans = append(ss.Spans, &tracepb.Span{TraceId: append(id, id...), SpanId: id, Name: "op" + strconv.Itoa(i),
				StartTimeUnixNano: 1_700_000_000_000_000_000 + uint64(i), EndTimeUnixNano: 1_700_000_000_000_000_100 + uint64(i)})
		}
		rs.ScopeSpans = append(rs.ScopeSpans, ss)
		rss = append(rss, rs)
	}
	rec, err := schema.TracesToArrow(memory.DefaultAllocator, rss)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()

	client, err := flight.NewClientWithMiddleware("127.0.0.1:"+strconv.Itoa(p.flightPort), nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	stream, err := client.DoPut(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(rec.Schema()))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"traces"}})
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatalf("no PutResult: %v", err)
	}
	p.stop(t)

	got, err := schema.TracesFromArrow(readFiles(t, p.out, schema.Traces))
	if err != nil {
		t.Fatal(err)
	}
	want := schema.NormalizeTraces(rss)
	// Services travel on their own subjects: their order in the files is free.
	byService := func(r []*tracepb.ResourceSpans) {
		sort.Slice(r, func(i, j int) bool { return schema.ServiceName(r[i].Resource) < schema.ServiceName(r[j].Resource) })
	}
	byService(got)
	byService(want)
	if len(got) != len(want) {
		t.Fatalf("%d resources in the files, want %d", len(got), len(want))
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Errorf("resource %d differs:\n got %v\nwant %v", i, got[i], want[i])
		}
	}
}
