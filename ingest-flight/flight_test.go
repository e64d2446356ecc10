package ingestflight

import (
	"context"
	"encoding/json"
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
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// flightClient connects the arrow-go Flight client to s.
func flightClient(t testing.TB, s *Service) flight.Client {
	t.Helper()
	c, err := flight.NewClientWithMiddleware(s.Addr().String(), nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("flight client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// doPut sends recs (sharing one schema) under the descriptor path and
// returns the rows of every PutResult, and the stream's error.
func doPut(t testing.TB, c flight.Client, path string, recs ...arrow.RecordBatch) ([]int64, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := c.DoPut(ctx)
	if err != nil {
		t.Fatalf("DoPut: %v", err)
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(recs[0].Schema()))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{path}})
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			break // the server ended the stream; Recv tells why
		}
	}
	_ = w.Close()
	_ = stream.CloseSend()
	var rows []int64
	for {
		res, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		var meta struct{ Rows int64 }
		if err := json.Unmarshal(res.GetAppMetadata(), &meta); err != nil {
			t.Fatalf("app_metadata %q: %v", res.GetAppMetadata(), err)
		}
		rows = append(rows, meta.Rows)
	}
}

func retryInfo(err error) *errdetails.RetryInfo {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri
		}
	}
	return nil
}

func toArrow[R any](t testing.TB, f func(memory.Allocator, []R) (arrow.RecordBatch, error), items []R) arrow.RecordBatch {
	t.Helper()
	rec, err := f(memory.NewGoAllocator(), items)
	if err != nil {
		t.Fatalf("to arrow: %v", err)
	}
	t.Cleanup(rec.Release)
	return rec
}

func TestFlightEverySignal(t *testing.T) {
	js := runBus(t)
	s := startService(t, js, nil)
	c := flightClient(t, s)
	// Two batches on one stream, of different services: identical payloads
	// would be deduplicated by the bus.
	first, second := []string{"checkout", "cart"}, []string{"search", "ads"}
	traces1, traces2 := fixtureTraces(first, 3), fixtureTraces(second, 3)
	metrics1, metrics2 := fixtureMetrics(first), fixtureMetrics(second)
	logs1, logs2 := fixtureLogs(first, 4), fixtureLogs(second, 4)
	for _, tt := range []struct {
		sig      schema.Signal
		rec1     arrow.RecordBatch
		rec2     arrow.RecordBatch
		rowsEach int64
	}{
		{schema.Traces, toArrow(t, schema.TracesToArrow, traces1), toArrow(t, schema.TracesToArrow, traces2), 6},
		{schema.Metrics, toArrow(t, schema.MetricsToArrow, metrics1), toArrow(t, schema.MetricsToArrow, metrics2), 6},
		{schema.Logs, toArrow(t, schema.LogsToArrow, logs1), toArrow(t, schema.LogsToArrow, logs2), 8},
	} {
		rows, err := doPut(t, c, string(tt.sig), tt.rec1, tt.rec2)
		if err != nil {
			t.Fatalf("%s: DoPut: %v", tt.sig, err)
		}
		if got, want := rows, []int64{tt.rowsEach, tt.rowsEach}; !equalInts(got, want) {
			t.Errorf("%s: PutResult rows = %v, want %v", tt.sig, got, want)
		}
		msgs := bustest.ReadMessages(t, js, tt.sig)
		sig := string(tt.sig)
		if got, want := subjects(t, msgs), "otlp."+sig+"._mixed[cart,checkout] otlp."+sig+"._mixed[ads,search]"; got != want {
			t.Errorf("subjects = %s, want %s", got, want)
		}
		if got, want := checkHeaders(t, msgs, tt.sig, SourceFlight), int(2*tt.rowsEach); got != want {
			t.Errorf("%s: Otlp-Rows total = %d, want %d", tt.sig, got, want)
		}
	}
	sameByService(t, schema.NormalizeTraces(busTraces(t, js)), schema.NormalizeTraces(append(traces1, traces2...)), (*tracepb.ResourceSpans).GetResource)
	gotM, wantM := schema.NormalizeMetrics(busMetrics(t, js)), schema.NormalizeMetrics(append(metrics1, metrics2...))
	sameByService(t, gotM, wantM, resourceOf(gotM))
	gotL, wantL := schema.NormalizeLogs(busLogs(t, js)), schema.NormalizeLogs(append(logs1, logs2...))
	sameByService(t, gotL, wantL, resourceOf(gotL))
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// subset keeps the named columns of rec, in the given order, turning those
// listed in plain from dictionaries into utf8.
func subset(t testing.TB, rec arrow.RecordBatch, cols []string, plain map[string]bool) arrow.RecordBatch {
	t.Helper()
	var fields []arrow.Field
	var arrs []arrow.Array
	for _, name := range cols {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) == 0 {
			t.Fatalf("no column %s", name)
		}
		f, a := rec.Schema().Field(idx[0]), rec.Column(idx[0])
		if plain[name] {
			d := a.(*array.Dictionary)
			b := array.NewStringBuilder(memory.NewGoAllocator())
			for i := range d.Len() {
				if d.IsNull(i) {
					b.AppendNull()
				} else {
					b.Append(d.Dictionary().(*array.String).Value(d.GetValueIndex(i)))
				}
			}
			a = b.NewArray()
			b.Release()
			defer a.Release()
			f.Type = arrow.BinaryTypes.String
		}
		fields = append(fields, f)
		arrs = append(arrs, a)
	}
	out := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, rec.NumRows())
	t.Cleanup(out.Release)
	return out
}

func TestFlightSubsetSchema(t *testing.T) {
	full := toArrow(t, schema.TracesToArrow, fixtureTraces([]string{"a", "b"}, 2))
	for _, tt := range []struct {
		name string
		cols []string
	}{
		{"with service_name as utf8", []string{"name", "trace_id", "service_name", "span_id", "start_time", "resource_attributes_str", "status_code"}},
		{"service_name from resource attributes", []string{"resource_attributes_str", "trace_id", "span_id", "name", "kind"}},
		{"no service at all", []string{"trace_id", "span_id", "name"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			js := runBus(t)
			s := startService(t, js, nil)
			rec := subset(t, full, tt.cols, map[string]bool{"service_name": true, "name": true})
			rows, err := doPut(t, flightClient(t, s), "traces", rec)
			if err != nil {
				t.Fatalf("DoPut: %v", err)
			}
			if got, want := rows, []int64{4}; !equalInts(got, want) {
				t.Errorf("rows = %v, want %v", got, want)
			}
			want, err := schema.TracesFromArrow([]arrow.RecordBatch{rec})
			if err != nil {
				t.Fatal(err)
			}
			sameByService(t, schema.NormalizeTraces(busTraces(t, js)), schema.NormalizeTraces(want), (*tracepb.ResourceSpans).GetResource)
			msgs := bustest.ReadMessages(t, js, schema.Traces)
			wantSubjects := "otlp.traces._mixed[a,b]"
			if tt.name == "no service at all" {
				wantSubjects = "otlp.traces.unknown[]"
			}
			if got := subjects(t, msgs); got != wantSubjects {
				t.Errorf("subjects = %s, want %s", got, wantSubjects)
			}
		})
	}
}

// seedBatch builds a batch in the seed's flat span schema: hex ids, uint64
// times, integer enums, attributes as JSON.
func seedBatch(t testing.TB) arrow.RecordBatch {
	t.Helper()
	mem := memory.NewGoAllocator()
	s := arrow.NewSchema([]arrow.Field{
		{Name: "trace_id", Type: arrow.BinaryTypes.String},
		{Name: "span_id", Type: arrow.BinaryTypes.String},
		{Name: "parent_span_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "kind", Type: arrow.PrimitiveTypes.Int32},
		{Name: "start_time_unix_nano", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "end_time_unix_nano", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "status_code", Type: arrow.PrimitiveTypes.Int32},
		{Name: "status_message", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "attributes", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, s)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"0102030405060708090a0b0c0d0e0f10", "0102030405060708090A0B0C0D0E0F10"}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"1112131415161718", "2122232425262728"}, nil)
	b.Field(2).(*array.StringBuilder).AppendValues([]string{"", "1112131415161718"}, []bool{false, true})
	b.Field(3).(*array.StringBuilder).AppendValues([]string{"GET /", "db"}, nil)
	b.Field(4).(*array.Int32Builder).AppendValues([]int32{2, 3}, nil)
	b.Field(5).(*array.Uint64Builder).AppendValues([]uint64{t0, t0 + 10}, nil)
	b.Field(6).(*array.Uint64Builder).AppendValues([]uint64{t0 + 100, t0 + 50}, nil)
	b.Field(7).(*array.Int32Builder).AppendValues([]int32{0, 2}, nil)
	b.Field(8).(*array.StringBuilder).AppendValues([]string{"", "timeout"}, []bool{false, true})
	b.Field(9).(*array.StringBuilder).AppendValues([]string{`{"http.method":"GET","http.status_code":200,"ratio":0.5,"ok":true,"tags":["a",1],"skip":null}`, ""}, []bool{true, false})
	rec := b.NewRecordBatch()
	t.Cleanup(rec.Release)
	return rec
}

func TestFlightSeedSchema(t *testing.T) {
	js := runBus(t)
	s := startService(t, js, nil)
	rows, err := doPut(t, flightClient(t, s), "traces", seedBatch(t))
	if err != nil {
		t.Fatalf("DoPut: %v", err)
	}
	if got, want := rows, []int64{2}; !equalInts(got, want) {
		t.Errorf("rows = %v, want %v", got, want)
	}
	msgs := bustest.ReadMessages(t, js, schema.Traces)
	if len(msgs) != 1 || msgs[0].Subject != "otlp.traces.unknown" {
		t.Fatalf("messages: %v", msgs)
	}
	got := busTraces(t, js)
	tid := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	root := []byte{0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18}
	want := []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{}, Spans: []*tracepb.Span{
			{
				TraceId: tid, SpanId: root, Name: "GET /", Kind: tracepb.Span_SPAN_KIND_SERVER,
				StartTimeUnixNano: t0, EndTimeUnixNano: t0 + 100,
				Status: &tracepb.Status{},
				Attributes: []*commonpb.KeyValue{
					str("http.method", "GET"), i64("http.status_code", 200),
					{Key: "ratio", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 0.5}}},
					{Key: "ok", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}},
					{Key: "tags", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{
						{Value: &commonpb.AnyValue_StringValue{StringValue: "a"}}, {Value: &commonpb.AnyValue_IntValue{IntValue: 1}},
					}}}}},
				},
			},
			{
				TraceId: tid, SpanId: []byte{0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28}, ParentSpanId: root,
				Name: "db", Kind: tracepb.Span_SPAN_KIND_CLIENT, StartTimeUnixNano: t0 + 10, EndTimeUnixNano: t0 + 50,
				Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "timeout"},
			},
		}}},
	}}
	got, want = schema.NormalizeTraces(got), schema.NormalizeTraces(want)
	if !proto.Equal(got[0], want[0]) || len(got) != 1 {
		t.Errorf("spans differ:\n got %v\nwant %v", got, want)
	}
}

func TestFlightSchemaErrors(t *testing.T) {
	js := runBus(t)
	s := startService(t, js, func(c *Config) { c.MaxBatchRows = 3 })
	c := flightClient(t, s)
	full := toArrow(t, schema.TracesToArrow, fixtureTraces([]string{"a"}, 2))
	mem := memory.NewGoAllocator()
	one := func(name string, dt arrow.DataType) arrow.RecordBatch {
		a := array.MakeArrayOfNull(mem, dt, 1)
		defer a.Release()
		rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: name, Type: dt, Nullable: true}}, nil), []arrow.Array{a}, 1)
		t.Cleanup(rec.Release)
		return rec
	}
	for _, tt := range []struct {
		name     string
		path     string
		rec      arrow.RecordBatch
		code     codes.Code
		contains []string
	}{
		{"unknown descriptor", "spans", full, codes.InvalidArgument, []string{`"spans"`, "traces, metrics, logs"}},
		{"wrong column type", "traces", one("name", arrow.PrimitiveTypes.Int64), codes.InvalidArgument, []string{`"name"`, "int64"}},
		{"unknown column", "traces", one("bogus", arrow.PrimitiveTypes.Int64), codes.InvalidArgument, []string{`"bogus"`}},
		{"traces batch under logs", "logs", full, codes.InvalidArgument, []string{`"trace_state"`}},
		{"seed schema with an unknown column", "traces", one("attributes", arrow.PrimitiveTypes.Int64), codes.InvalidArgument, []string{`"attributes"`}},
		{"too many rows", "traces", toArrow(t, schema.TracesToArrow, fixtureTraces([]string{"a", "b"}, 2)), codes.ResourceExhausted, []string{"max_batch_rows"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := doPut(t, c, tt.path, tt.rec)
			if got := status.Code(err); got != tt.code {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.code)
			}
			for _, want := range tt.contains {
				if !strings.Contains(status.Convert(err).Message(), want) {
					t.Errorf("message %q does not contain %s", status.Convert(err).Message(), want)
				}
			}
			if retryInfo(err) != nil {
				t.Errorf("RetryInfo on a permanent error")
			}
		})
	}
	if msgs := bustest.ReadMessages(t, js, schema.Traces); len(msgs) != 0 {
		t.Errorf("%d messages published by refused streams", len(msgs))
	}
}

func TestFlightDescribe(t *testing.T) {
	js := runBus(t)
	s := startService(t, js, nil)
	c := flightClient(t, s)
	ctx := context.Background()
	for _, sig := range schema.Signals {
		res, err := c.GetSchema(ctx, &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{string(sig)}})
		if err != nil {
			t.Fatalf("GetSchema %s: %v", sig, err)
		}
		got, err := flight.DeserializeSchema(res.GetSchema(), memory.NewGoAllocator())
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(schema.Schema(sig)) {
			t.Errorf("GetSchema %s: not the signal's schema", sig)
		}
	}
	_, err := c.GetSchema(ctx, &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"spans"}})
	if got, want := status.Code(err), codes.InvalidArgument; got != want {
		t.Errorf("GetSchema(spans) code = %v, want %v", got, want)
	}
	list, err := c.ListFlights(ctx, &flight.Criteria{})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for {
		info, err := list.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, strings.Join(info.GetFlightDescriptor().GetPath(), "/"))
	}
	if got, want := strings.Join(paths, " "), "traces metrics logs"; got != want {
		t.Errorf("ListFlights = %s, want %s", got, want)
	}
	actions, err := c.ListActions(ctx, &flight.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := actions.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("ListActions: %v, want no actions", err)
	}
}

func TestFlightBusFull(t *testing.T) {
	js := runBus(t, bustest.WithStreamsConfig(func(c *bus.StreamsConfig) {
		c.MaxBytes = 256 << 10
		c.MaxMsgSize = 64 << 10
	}))
	s := startService(t, js, func(c *Config) { c.MaxPayloadBytes = 48 << 10; c.RetryAfter = 2 * time.Second })
	c := flightClient(t, s)
	rss := fixtureTraces([]string{"filler"}, 100)
	for _, sp := range rss[0].ScopeSpans[0].Spans {
		sp.Attributes = append(sp.Attributes, str("pad", strings.Repeat("x", 300)+sp.Name))
	}
	var err error
	for i := range 20 {
		rss[0].Resource = resource(fmt.Sprintf("filler-%d", i)) // no two payloads alike
		if _, err = doPut(t, c, "traces", toArrow(t, schema.TracesToArrow, rss)); err != nil {
			break
		}
	}
	if got, want := status.Code(err), codes.Unavailable; got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
	ri := retryInfo(err)
	if ri == nil {
		t.Fatalf("no RetryInfo in %v", err)
	}
	if got, want := ri.GetRetryDelay().AsDuration(), 2*time.Second; got != want {
		t.Errorf("retry delay = %v, want %v", got, want)
	}
}

// TestFlightBrokenStream checks that a client sending garbage mid-stream
// gets its error while a concurrent client is served.
func TestFlightBrokenStream(t *testing.T) {
	js := runBus(t)
	s := startService(t, js, nil)
	// Every batch differs (identical payloads are deduplicated), and each
	// goroutine has its own batches: arrow arrays are not safe for
	// concurrent first use.
	var goodRecs []arrow.RecordBatch
	for i := range 10 {
		goodRecs = append(goodRecs, toArrow(t, schema.TracesToArrow, fixtureTraces([]string{fmt.Sprintf("good-%d", i)}, 5)))
	}
	rec := toArrow(t, schema.TracesToArrow, fixtureTraces([]string{"broken"}, 5))

	var wg sync.WaitGroup
	var goodRows []int64
	var goodErr error
	wg.Go(func() {
		c := flightClient(t, s)
		for i := range 5 {
			rows, err := doPut(t, c, "traces", goodRecs[2*i], goodRecs[2*i+1])
			if err != nil {
				goodErr = err
				return
			}
			goodRows = append(goodRows, rows...)
		}
	})

	c := flightClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := c.DoPut(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(rec.Schema()))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"traces"}})
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&flight.FlightData{DataHeader: []byte("not a flatbuffer"), DataBody: []byte("junk")}); err != nil {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	var brokenRows int
	for {
		_, err = stream.Recv()
		if err != nil {
			break
		}
		brokenRows++
	}
	if got, want := status.Code(err), codes.InvalidArgument; got != want {
		t.Errorf("broken stream: code = %v (%v), want %v", got, err, want)
	}
	wg.Wait()
	if goodErr != nil {
		t.Fatalf("concurrent good client: %v", goodErr)
	}
	if got, want := len(goodRows), 10; got != want {
		t.Errorf("good client got %d PutResults, want %d", got, want)
	}
	if got, want := checkHeaders(t, bustest.ReadMessages(t, js, schema.Traces), schema.Traces, SourceFlight), 50+5*brokenRows; got != want {
		t.Errorf("rows on the bus = %d, want %d", got, want)
	}
}

func TestFlightMessageTooLarge(t *testing.T) {
	js := runBus(t)
	s := startService(t, js, func(c *Config) { c.MaxMessageBytes = 4 << 10 })
	_, err := doPut(t, flightClient(t, s), "traces", toArrow(t, schema.TracesToArrow, fixtureTraces([]string{"big"}, 200)))
	if got, want := status.Code(err), codes.ResourceExhausted; got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
	if retryInfo(err) != nil {
		t.Errorf("RetryInfo on an oversize batch")
	}
}
