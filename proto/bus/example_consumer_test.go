package bus_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/publish"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Example_consumer is a custom consumer of the bus (docs/bus.md): it
// subscribes to one signal with one subject filter and picks one service's
// rows through the Otlp-Services header and the service_name column. The
// consumer (printServiceSpans) needs only nats.go and arrow-go; the setup
// before it, an embedded bus and one message of two services published as
// ingest does, is this repository's.
func Example_consumer() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url, stop := exampleBus(ctx)
	defer stop()

	if err := printServiceSpans(ctx, url, "checkout"); err != nil {
		log.Fatal(err)
	}
	// Output:
	// otlp.traces._mixed ["cart","checkout"]: 3 rows, 2 of checkout
	//   GET /checkout
	//   POST /pay
}

// printServiceSpans reads the next trace message and prints the names of
// the spans of service.
func printServiceSpans(ctx context.Context, url, service string) error {
	nc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	// One signal, every service: otlp.traces.> (messages of one service are on
	// otlp.traces.<service>, of several on otlp.traces._mixed). An ordered
	// consumer holds nothing back; a durable one of your own would.
	cons, err := js.OrderedConsumer(ctx, "OTLP_TRACES", jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"otlp.traces.>"},
	})
	if err != nil {
		return err
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		return err
	}
	// The header says whether the message holds rows of service at all,
	// without decoding the payload.
	var services []string
	if err := json.Unmarshal([]byte(msg.Headers().Get("Otlp-Services")), &services); err != nil {
		return fmt.Errorf("%s: Otlp-Services: %w", msg.Subject(), err)
	}
	if !slices.Contains(services, service) {
		return nil // not ours: skip it
	}
	rdr, err := ipc.NewReader(bytes.NewReader(msg.Data()), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return err
	}
	defer rdr.Release()
	rows, mine := 0, []string{}
	for rdr.Next() {
		rec := rdr.RecordBatch()
		svc := stringColumn(rec, "service_name")
		name := stringColumn(rec, "name")
		for i := range int(rec.NumRows()) {
			if svc(i) == service {
				mine = append(mine, name(i))
			}
		}
		rows += int(rec.NumRows())
	}
	if err := rdr.Err(); err != nil {
		return err
	}
	fmt.Printf("%s %s: %d rows, %d of %s\n", msg.Subject(), msg.Headers().Get("Otlp-Services"), rows, len(mine), service)
	for _, n := range mine {
		fmt.Println("  " + n)
	}
	return nil
}

// stringColumn reads a string column, plain or dictionary-encoded (as
// service_name and name are); a null reads "".
func stringColumn(rec arrow.RecordBatch, name string) func(i int) string {
	col := rec.Column(rec.Schema().FieldIndices(name)[0])
	switch c := col.(type) {
	case *array.Dictionary:
		dict := c.Dictionary().(*array.String)
		return func(i int) string {
			if c.IsNull(i) {
				return ""
			}
			return dict.Value(c.GetValueIndex(i))
		}
	case *array.String:
		return c.Value
	}
	panic(fmt.Sprintf("column %s is %s", name, col.DataType()))
}

// exampleBus starts an embedded bus listening on a loopback port, declares
// the streams and publishes one request of two services as ingest does. It
// returns the client URL and a function that stops it all.
func exampleBus(ctx context.Context) (string, func()) {
	dir, err := os.MkdirTemp("", "bus-example")
	if err != nil {
		log.Fatal(err)
	}
	cfg := bus.DefaultServerConfig(dir)
	cfg.Port = 0 // any free port
	srv, err := bus.StartServer(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		log.Fatal(err)
	}
	nc, js, err := bus.Connect(ctx, bus.ConnConfig{InProcess: srv.NATS()}, slog.New(slog.DiscardHandler))
	if err != nil {
		log.Fatal(err)
	}
	stop := func() {
		nc.Close()
		srv.Shutdown()
		_ = os.RemoveAll(dir)
	}
	if err := bus.EnsureStreams(ctx, js, bus.DefaultStreamsConfig()); err != nil {
		log.Fatal(err)
	}
	p, err := publish.NewPublisher(js, publish.Config{MaxPayloadBytes: 1 << 20}, nil)
	if err != nil {
		log.Fatal(err)
	}
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	rs := func(service string, names ...string) *tracepb.ResourceSpans {
		var spans []*tracepb.Span
		for i, n := range names {
			spans = append(spans, &tracepb.Span{TraceId: bytes.Repeat([]byte{1}, 16), SpanId: []byte{0, 0, 0, 0, 0, 0, 0, byte(i + 1)},
				Name: n, StartTimeUnixNano: 1, EndTimeUnixNano: 2})
		}
		return &tracepb.ResourceSpans{
			Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: schema.ServiceNameKey, Value: str(service)}}},
			ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}},
		}
	}
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{
		rs("cart", "GET /cart"), rs("checkout", "GET /checkout", "POST /pay"),
	}}
	if _, _, err := p.PublishTraces(ctx, req, "grpc"); err != nil {
		log.Fatal(err)
	}
	return srv.ClientURL(), stop
}
