package ingestflight

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	arrowpb "github.com/open-telemetry/otel-arrow/go/api/experimental/arrow/v1"
	"github.com/open-telemetry/otel-arrow/go/pkg/otel/arrow_record"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

const goodToken = "good-token-0123456789abcdef"

// withToken returns a context of the test carrying the bearer token ("":
// none).
func withToken(t testing.TB, token string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	return ctx
}

// flightData returns the FlightData messages a Flight client sends for
// recs under path.
func flightData(t testing.TB, path string, recs ...arrow.RecordBatch) []*flight.FlightData {
	t.Helper()
	var c captureStream
	w := flight.NewRecordWriter(&c, ipc.WithSchema(recs[0].Schema()))
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.msgs[0].FlightDescriptor = &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{path}}
	return c.msgs
}

// rawPut sends msgs on one DoPut stream and returns the PutResults
// received and the stream's final error (nil at a clean end).
func rawPut(ctx context.Context, conn *grpc.ClientConn, msgs []*flight.FlightData) (int, error) {
	stream, err := flight.NewFlightServiceClient(conn).DoPut(ctx)
	if err != nil {
		return 0, err
	}
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			break // the server ended the stream; Recv tells why
		}
	}
	_ = stream.CloseSend()
	n := 0
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// goodFlightClient sends distinct one-service batches over Flight until
// stopped, one DoPut stream per two batches, and remembers the services
// acknowledged.
type goodFlightClient struct {
	mu     sync.Mutex
	acked  []string
	errs   []string
	cancel context.CancelFunc
	done   chan struct{}
}

func startGoodFlightClient(t *testing.T, s *Service) *goodFlightClient {
	t.Helper()
	conn := grpcConn(t, s)
	// Batches are made up front: building Arrow data races with nothing,
	// but keep the client's loop to sending.
	var batches [][]*flight.FlightData
	var names [][]string
	for i := range 200 {
		a, b := fmt.Sprintf("good-%d-a", i), fmt.Sprintf("good-%d-b", i)
		batches = append(batches, flightData(t, "traces",
			toArrow(t, schema.TracesToArrow, fixtureTraces([]string{a}, 3)),
			toArrow(t, schema.TracesToArrow, fixtureTraces([]string{b}, 3))))
		names = append(names, []string{a, b})
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &goodFlightClient{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(g.done)
		for i := 0; ctx.Err() == nil && i < len(batches); i++ {
			cctx, ccancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+goodToken), 30*time.Second)
			n, err := rawPut(cctx, conn, batches[i])
			ccancel()
			g.mu.Lock()
			g.acked = append(g.acked, names[i][:n]...)
			if err != nil {
				g.errs = append(g.errs, fmt.Sprintf("stream %d: %v", i, err))
			}
			g.mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return g
}

func (g *goodFlightClient) stop() {
	g.cancel()
	<-g.done
}

// otapSend opens an OTAP traces stream with token, sends bar and returns
// its status, or the stream's error.
func otapSend(t testing.TB, conn *grpc.ClientConn, token string, bar *arrowpb.BatchArrowRecords) (*arrowpb.BatchStatus, error) {
	t.Helper()
	st, err := arrowpb.NewArrowTracesServiceClient(conn).ArrowTraces(withToken(t, token))
	if err != nil {
		return nil, err
	}
	if err := st.Send(bar); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	res, err := st.Recv()
	_ = st.CloseSend()
	return res, err
}

// answer is a stream's gRPC code and message, or an OTAP batch status.
type answer struct {
	code codes.Code
	msg  string
}

func fromErr(err error) answer {
	st := status.Convert(err)
	return answer{st.Code(), st.Message()}
}

// TestHostileInput sends every kind of bad Flight and OTAP input, checks
// the exact answer to each, and checks that a well-behaved Flight client
// sending at the same time loses nothing.
func TestHostileInput(t *testing.T) {
	js := runBus(t)
	reg := prometheus.NewRegistry()
	const maxMessage = 256 << 10
	s := startServiceReg(t, js, reg, func(c *Config) {
		c.MaxBatchRows = 100
		c.MaxMessageBytes = maxMessage
		c.Auth.Tokens = []string{"another-token", goodToken}
	})
	conn := grpcConn(t, s)
	good := startGoodFlightClient(t, s)

	mem := memory.NewGoAllocator()
	record := func(fields []arrow.Field, build func(b *array.RecordBuilder)) arrow.RecordBatch {
		b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
		defer b.Release()
		build(b)
		rec := b.NewRecordBatch()
		t.Cleanup(rec.Release)
		return rec
	}
	idFields := []arrow.Field{
		{Name: "trace_id", Type: &arrow.FixedSizeBinaryType{ByteWidth: 16}},
		{Name: "span_id", Type: &arrow.FixedSizeBinaryType{ByteWidth: 8}},
		{Name: "name", Type: arrow.BinaryTypes.String},
	}
	ids := func(b *array.RecordBuilder, name string) {
		b.Field(0).(*array.FixedSizeBinaryBuilder).Append(id(16, 1))
		b.Field(1).(*array.FixedSizeBinaryBuilder).Append(id(8, 1))
		b.Field(2).(*array.StringBuilder).Append(name)
	}
	valid := record(idFields, func(b *array.RecordBuilder) { ids(b, "hostile-accepted") })
	invalidUTF8 := record(idFields, func(b *array.RecordBuilder) { ids(b, "bad-\xff\xfe-name") })
	shortIDs := record([]arrow.Field{
		{Name: "trace_id", Type: &arrow.FixedSizeBinaryType{ByteWidth: 8}},
		{Name: "span_id", Type: &arrow.FixedSizeBinaryType{ByteWidth: 8}},
	}, func(b *array.RecordBuilder) {
		b.Field(0).(*array.FixedSizeBinaryBuilder).Append(id(8, 1))
		b.Field(1).(*array.FixedSizeBinaryBuilder).Append(id(8, 1))
	})
	wrongType := record([]arrow.Field{{Name: "start_time", Type: arrow.BinaryTypes.String}}, func(b *array.RecordBuilder) {
		b.Field(0).(*array.StringBuilder).Append("yesterday")
	})
	tooManyRows := toArrow(t, schema.TracesToArrow, fixtureTraces([]string{"rows"}, 101))
	huge := record(idFields, func(b *array.RecordBuilder) { ids(b, strings.Repeat("h", maxMessage)) })

	// A truncated stream: the record batch's body is cut in half.
	truncated := flightData(t, "traces", valid)
	last := truncated[len(truncated)-1]
	last.DataBody = last.DataBody[:len(last.DataBody)/2]

	p := arrow_record.NewProducer()
	defer func() { _ = p.Close() }()
	otapGood, err := p.BatchArrowRecordsFromTraces(pdataTraces(t, fixtureTraces([]string{"otap-good"}, 2)))
	if err != nil {
		t.Fatal(err)
	}
	otapBad := &arrowpb.BatchArrowRecords{BatchId: 7, ArrowPayloads: []*arrowpb.ArrowPayload{
		{SchemaId: "bogus", Type: arrowpb.ArrowPayloadType_SPANS, Record: []byte("not arrow at all")}}}

	put := func(token string, msgs []*flight.FlightData) func() answer {
		return func() answer {
			_, err := rawPut(withToken(t, token), conn, msgs)
			return fromErr(err)
		}
	}
	otap := func(token string, bar *arrowpb.BatchArrowRecords) func() answer {
		return func() answer {
			res, err := otapSend(t, conn, token, bar)
			if err != nil {
				return fromErr(err)
			}
			return answer{codes.Code(res.GetStatusCode()), res.GetStatusMessage()}
		}
	}
	tests := []struct {
		name   string
		send   func() answer
		want   answer
		prefix bool // want.msg is a prefix: the rest comes from a library
	}{
		{"truncated arrow stream", put(goodToken, truncated),
			answer{codes.InvalidArgument, "read flight traces stream: ingestflight: invalid input: "}, true},
		{"wrong column type", put(goodToken, flightData(t, "traces", wrongType)),
			answer{codes.InvalidArgument, `flight traces schema: conform: incompatible schema: column "start_time" has type utf8, want timestamp[ns, tz=UTC]`}, false},
		{"trace id of the wrong width", put(goodToken, flightData(t, "traces", shortIDs)),
			answer{codes.InvalidArgument, `flight traces schema: conform: incompatible schema: column "trace_id" has type fixed_size_binary[8], want fixed_size_binary[16]`}, false},
		{"invalid UTF-8 in a utf8 column", put(goodToken, flightData(t, "traces", invalidUTF8)),
			answer{codes.InvalidArgument, "flight batch: ingestflight: invalid input: "}, true},
		{"too many rows", put(goodToken, flightData(t, "traces", tooManyRows)),
			answer{codes.ResourceExhausted, "flight batch of 101 rows: ingestflight: batch too large: max_batch_rows is 100"}, false},
		{"oversize message", put(goodToken, flightData(t, "traces", huge)),
			answer{codes.ResourceExhausted, "grpc: received message larger than max ("}, true},
		{"unknown descriptor", put(goodToken, flightData(t, "spans", valid)),
			answer{codes.InvalidArgument, `ingestflight: invalid input: unknown flight descriptor "spans": want one of traces, metrics, logs`}, false},
		{"flight missing auth", put("", flightData(t, "traces", valid)),
			answer{codes.Unauthenticated, "ingestflight: unauthenticated: missing bearer token (want authorization: Bearer <token>)"}, false},
		{"flight bad token", put("good-token-0123456789abcdeX", flightData(t, "traces", valid)),
			answer{codes.Unauthenticated, "ingestflight: unauthenticated: invalid bearer token"}, false},
		{"otap missing auth", otap("", otapGood),
			answer{codes.Unauthenticated, "ingestflight: unauthenticated: missing bearer token (want authorization: Bearer <token>)"}, false},
		{"otap bad token", otap("nope", otapGood),
			answer{codes.Unauthenticated, "ingestflight: unauthenticated: invalid bearer token"}, false},
		{"otap payload not arrow", otap(goodToken, otapBad),
			answer{codes.InvalidArgument, `traces batch 7: payload 0 (schema id "bogus", SPANS): ingestflight: invalid input: not an Arrow IPC stream: `}, true},
		{"flight valid subset accepted", put(goodToken, flightData(t, "traces", valid)), answer{codes.OK, ""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.send()
			if got.code != tt.want.code {
				t.Fatalf("answer = %v (%q), want %v", got.code, got.msg, tt.want.code)
			}
			if tt.prefix {
				if !strings.HasPrefix(got.msg, tt.want.msg) || len(got.msg) == len(tt.want.msg) {
					t.Errorf("message = %q, want %q and more", got.msg, tt.want.msg)
				}
			} else if got.msg != tt.want.msg {
				t.Errorf("message = %q\nwant      %q", got.msg, tt.want.msg)
			}
		})
	}
	time.Sleep(50 * time.Millisecond) // the good client keeps sending a little after the last attack
	good.stop()

	if len(good.errs) > 0 {
		t.Errorf("well-behaved client failed %d times: %v", len(good.errs), good.errs)
	}
	if len(good.acked) == 0 {
		t.Fatal("well-behaved client got nothing through")
	}
	t.Logf("well-behaved client: %d batches acknowledged", len(good.acked))
	got := map[string]int{}
	for _, m := range bustest.ReadMessages(t, js, schema.Traces) {
		got[strings.TrimPrefix(m.Subject, "otlp.traces.")]++
	}
	for _, name := range good.acked {
		if got[name] != 1 {
			t.Errorf("good batch %s stored %d times, want 1", name, got[name])
		}
	}
	// Besides the good client's: the accepted subset (service unknown).
	if got, want := len(got), len(good.acked)+1; got != want {
		t.Errorf("subjects on the bus = %d, want %d: %v", got, want, got)
	}
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"otlp_arrow_ingest_auth_failures_total", map[string]string{"protocol": "flight"}, 2},
		{"otlp_arrow_ingest_auth_failures_total", map[string]string{"protocol": "otap"}, 2},
		{"otlp_arrow_ingest_requests_total", map[string]string{"protocol": "flight", "signal": "unknown", "code": "Unauthenticated"}, 2},
		{"otlp_arrow_ingest_requests_total", map[string]string{"protocol": "otap", "signal": "traces", "code": "Unauthenticated"}, 2},
	} {
		if got := gatheredValue(t, reg, tt.name, tt.labels); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if got := s.limiter.InFlight(); got != 0 {
		t.Errorf("bytes in flight after the attacks = %d, want 0", got)
	}
}
