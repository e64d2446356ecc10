package ingestflight

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/publish"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// benchRows is the spans per batch (or request) in the benchmarks.
const benchRows = 1000

// Every iteration sends different spans (a new service name), since the bus
// deduplicates identical payloads. Building them is not timed.

// BenchmarkFlightDoPut measures spans through Flight DoPut on one stream:
// client IPC encoding, gRPC over loopback, validation, per-service split
// and JetStream acknowledgement, with no protobuf anywhere.
func BenchmarkFlightDoPut(b *testing.B) {
	js := runBus(b)
	s := startService(b, js, nil)
	c := flightClient(b, s)
	stream, err := c.DoPut(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	rec0 := toArrow(b, schema.TracesToArrow, fixtureTraces([]string{"warmup"}, benchRows))
	w := flight.NewRecordWriter(stream, ipc.WithSchema(rec0.Schema()))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"traces"}})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		rec, err := schema.TracesToArrow(memory.NewGoAllocator(), fixtureTraces([]string{fmt.Sprintf("svc-%d", i)}, benchRows))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			b.Fatal(err)
		}
		rec.Release()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*benchRows)/b.Elapsed().Seconds(), "rows/s")
	_ = w.Close()
	_ = stream.CloseSend()
}

// BenchmarkOTLPPublishTraces measures the same spans through the OTLP
// path of ingest-grpc, without its server: protobuf decoding of the
// request, conversion to Arrow, encoding and JetStream acknowledgement.
func BenchmarkOTLPPublishTraces(b *testing.B) {
	js := runBus(b)
	pub, err := publish.NewPublisher(js, publish.Config{MaxPayloadBytes: DefaultMaxPayloadBytes}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		raw, err := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: fixtureTraces([]string{fmt.Sprintf("svc-%d", i)}, benchRows)})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &req); err != nil {
			b.Fatal(err)
		}
		if _, _, err := pub.PublishTraces(ctx, &req, "grpc"); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*benchRows)/b.Elapsed().Seconds(), "rows/s")
}
