package ingestflight

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	arrowpb "github.com/open-telemetry/otel-arrow/go/api/experimental/arrow/v1"
	"github.com/open-telemetry/otel-arrow/go/pkg/otel/arrow_record"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/otlp-arrow/otlp-arrow/proto/admit"
	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/publish"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// The fuzz targets run hostile bytes through the server's own paths
// (Flight: the record reader, validation, conform or seed-span mapping,
// splitting per service and payload encoding; OTAP: the stream's decoder,
// conversion to OTLP, limits and conversion to Arrow) into a sink that
// reads every bus message back as a consumer would. The sink stands in for
// JetStream only to keep the fuzzer fast; the other tests use a real one.

// sinkPublisher acknowledges every message after checking that it parses
// and that its payload decodes with the row count its header announces.
type sinkPublisher struct {
	jetstream.Publisher // nil: only the methods below are called
	mu                  sync.Mutex
	t                   testing.TB
	seq                 uint64
}

func (p *sinkPublisher) check(msg *nats.Msg) *jetstream.PubAck {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, err := bus.ParseMessage(msg.Subject, msg.Header, msg.Data)
	if err != nil {
		p.t.Fatalf("published message does not parse: %v", err)
	}
	s, recs, err := payload.Decode(msg.Data, nil)
	if err != nil {
		p.t.Fatalf("published payload does not decode: %v", err)
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	if !s.Equal(schema.Schema(m.Signal)) {
		p.t.Fatalf("published payload is not in the %s schema", m.Signal)
	}
	rows := 0
	for _, r := range recs {
		rows += int(r.NumRows())
	}
	if rows != m.Rows {
		p.t.Fatalf("payload holds %d rows, header says %d", rows, m.Rows)
	}
	// A consumer converting back to OTLP must not crash; an error is the
	// consumer's to report (Flight batches pass through as they are).
	switch m.Signal {
	case schema.Traces:
		_, _ = schema.TracesFromArrow(recs)
	case schema.Metrics:
		_, _ = schema.MetricsFromArrow(recs)
	case schema.Logs:
		_, _ = schema.LogsFromArrow(recs)
	}
	p.seq++
	return &jetstream.PubAck{Stream: bus.StreamName(m.Signal), Sequence: p.seq}
}

func (p *sinkPublisher) PublishMsg(_ context.Context, msg *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	return p.check(msg), nil
}

func (p *sinkPublisher) PublishMsgAsync(msg *nats.Msg, _ ...jetstream.PublishOpt) (jetstream.PubAckFuture, error) {
	ok := make(chan *jetstream.PubAck, 1)
	ok <- p.check(msg)
	return ackedFuture{ok: ok, msg: msg}, nil
}

// ackedFuture is an already acknowledged publish.
type ackedFuture struct {
	ok  chan *jetstream.PubAck
	msg *nats.Msg
}

func (f ackedFuture) Ok() <-chan *jetstream.PubAck { return f.ok }
func (f ackedFuture) Err() <-chan error            { return nil }
func (f ackedFuture) Msg() *nats.Msg               { return f.msg }

// fuzzPublisher is the shared publish path on a sink, with a small payload
// limit so that splitting is reached by small inputs.
func fuzzPublisher(f *testing.F) (*publish.Publisher, *sinkPublisher) {
	sink := &sinkPublisher{t: f}
	pub, err := publish.NewPublisher(sink, publish.Config{MaxPayloadBytes: 4 << 10,
		Limits: publish.Limits{MaxAttributes: 4, MaxAttributeValueLength: 16}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	return pub, sink
}

func fuzzMetrics(f *testing.F) *serverMetrics {
	m, err := newServerMetrics(prometheus.NewRegistry())
	if err != nil {
		f.Fatal(err)
	}
	return m
}

// putStream is a DoPut server stream fed from a list of messages.
type putStream struct {
	grpc.ServerStream // nil: only the methods below are called
	msgs              []*flight.FlightData
	results           int
}

func (s *putStream) Context() context.Context { return context.Background() }

func (s *putStream) Recv() (*flight.FlightData, error) {
	if len(s.msgs) == 0 {
		return nil, io.EOF
	}
	m := s.msgs[0]
	s.msgs = s.msgs[1:]
	return m, checkFlightData(m) // as the server's stream interceptor does
}

func (s *putStream) Send(*flight.PutResult) error {
	s.results++
	return nil
}

// captureStream collects what a Flight record writer sends.
type captureStream struct{ msgs []*flight.FlightData }

func (c *captureStream) Send(fd *flight.FlightData) error {
	c.msgs = append(c.msgs, &flight.FlightData{DataHeader: bytes.Clone(fd.GetDataHeader()), DataBody: bytes.Clone(fd.GetDataBody())})
	return nil
}

// ipcStream writes recs as a Flight client does and frames the FlightData
// messages for the fuzzer: per message, the header length (4 bytes, little
// endian), the header, the body length, the body.
func ipcStream(t testing.TB, recs ...arrow.RecordBatch) []byte {
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
	var out []byte
	for _, m := range c.msgs {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(m.DataHeader)))
		out = append(out, m.DataHeader...)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(m.DataBody)))
		out = append(out, m.DataBody...)
	}
	return out
}

// flightMessages unframes what ipcStream framed; a length beyond the end
// takes the rest. The first message carries the descriptor.
func flightMessages(b []byte, desc *flight.FlightDescriptor) []*flight.FlightData {
	next := func() []byte {
		if len(b) < 4 {
			out := b
			b = nil
			return out
		}
		n := int(binary.LittleEndian.Uint32(b))
		b = b[4:]
		if n > len(b) {
			n = len(b)
		}
		out := b[:n]
		b = b[n:]
		return out
	}
	out := []*flight.FlightData{{FlightDescriptor: desc, DataHeader: next(), DataBody: next()}}
	for len(b) > 0 {
		out = append(out, &flight.FlightData{DataHeader: next(), DataBody: next()})
	}
	return out
}

// descriptors are the descriptor choices of FuzzFlightPayload.
var descriptors = []*flight.FlightDescriptor{
	{Type: flight.DescriptorPATH, Path: []string{"traces"}},
	{Type: flight.DescriptorPATH, Path: []string{"metrics"}},
	{Type: flight.DescriptorPATH, Path: []string{"logs"}},
	{Type: flight.DescriptorPATH, Path: []string{"spans"}},
}

// FuzzFlightPayload sends arbitrary bytes as the Arrow IPC stream of a
// DoPut (split into FlightData messages as a client would) through the
// server's read, validate, conform and publish path. Every stream must end
// in success or an INVALID_ARGUMENT / RESOURCE_EXHAUSTED answer, without a
// panic, and every published message must read back.
func FuzzFlightPayload(f *testing.F) {
	pub, sink := fuzzPublisher(f)
	fs := &flightServer{pub: pub, mem: capAllocator{Allocator: memory.NewGoAllocator(), max: 64 << 20}, metrics: fuzzMetrics(f), maxRows: 64, retryAfter: time.Second}
	traces := toArrow(f, schema.TracesToArrow, fixtureTraces([]string{"a", "b"}, 2))
	f.Add(uint8(0), ipcStream(f, traces))
	f.Add(uint8(1), ipcStream(f, toArrow(f, schema.MetricsToArrow, fixtureMetrics([]string{"m"}))))
	f.Add(uint8(2), ipcStream(f, toArrowLogs(f)))
	f.Add(uint8(0), ipcStream(f, seedBatch(f)))
	f.Add(uint8(0), ipcStream(f, subset(f, traces, []string{"name", "trace_id", "service_name", "span_id", "resource_attributes_str"}, map[string]bool{"service_name": true})))
	f.Add(uint8(3), ipcStream(f, traces))
	f.Fuzz(func(t *testing.T, d uint8, b []byte) {
		sink.t = t
		sig := schema.Signal("unknown")
		stream := &putStream{msgs: flightMessages(b, descriptors[int(d)%len(descriptors)])}
		err := fs.doPut(context.Background(), stream, &sig)
		if err == nil {
			return
		}
		if c := errorStatus(err, time.Second).Code(); c != codes.InvalidArgument && c != codes.ResourceExhausted {
			t.Fatalf("answer %v for %v, want success, INVALID_ARGUMENT or RESOURCE_EXHAUSTED", c, err)
		}
	})
}

// otapBase returns one valid BatchArrowRecords per signal, from a fresh
// producer (so each starts its IPC streams).
func otapBase(f *testing.F) []*arrowpb.BatchArrowRecords {
	var out []*arrowpb.BatchArrowRecords
	for sig := range 3 {
		p := arrow_record.NewProducer()
		var bar *arrowpb.BatchArrowRecords
		var err error
		switch sig {
		case 0:
			bar, err = p.BatchArrowRecordsFromTraces(pdataTraces(f, fixtureTraces([]string{"a", "b"}, 2)))
		case 1:
			bar, err = p.BatchArrowRecordsFromMetrics(pdataMetrics(f, fixtureMetrics([]string{"m"})))
		default:
			bar, err = p.BatchArrowRecordsFromLogs(pdataLogs(f, fixtureLogs([]string{"l"}, 2)))
		}
		if err != nil {
			f.Fatal(err)
		}
		_ = p.Close()
		out = append(out, bar)
	}
	return out
}

// FuzzOTAPBatch replaces one Arrow payload of a valid BatchArrowRecords of
// each signal by arbitrary bytes and runs it through the OTAP decode path
// of a new stream. Every batch must be answered OK or INVALID_ARGUMENT,
// and every published message must read back.
func FuzzOTAPBatch(f *testing.F) {
	pub, sink := fuzzPublisher(f)
	o := &otapServer{pub: pub, metrics: fuzzMetrics(f), retryAfter: time.Second, limiter: admit.New(64<<20, 0, nil)}
	base := otapBase(f)
	for sig, bar := range base {
		for i, p := range bar.GetArrowPayloads() {
			f.Add(uint8(sig), uint8(i), p.GetRecord())
		}
	}
	f.Fuzz(func(t *testing.T, sigN, idx uint8, record []byte) {
		sink.t = t
		sigs := []schema.Signal{schema.Traces, schema.Metrics, schema.Logs}
		decoders := []decodeFunc{o.decodeTraces, o.decodeMetrics, o.decodeLogs}
		n := int(sigN) % len(base)
		src := base[n]
		bar := &arrowpb.BatchArrowRecords{BatchId: 1}
		for i, p := range src.GetArrowPayloads() {
			rec := p.GetRecord()
			if i == int(idx)%len(src.GetArrowPayloads()) {
				rec = record
			}
			bar.ArrowPayloads = append(bar.ArrowPayloads, &arrowpb.ArrowPayload{SchemaId: p.GetSchemaId(), Type: p.GetType(), Record: rec})
		}
		st := &otapState{cons: newConsumer(), seen: map[string]bool{}}
		defer func() { _ = st.cons.Close() }()
		res := o.batch(context.Background(), st, sigs[n], bar, decoders[n])
		if c := res.GetStatusCode(); c != arrowpb.StatusCode_OK && c != arrowpb.StatusCode_INVALID_ARGUMENT {
			t.Fatalf("status %v %q, want OK or INVALID_ARGUMENT", c, res.GetStatusMessage())
		}
	})
}
