package bench

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// request is one pre-encoded request. Every resource's first row carries a
// marker, an 8-byte little-endian timestamp found exactly once in the
// encoding; stamp rewrites the markers before each send so that no two sends
// are equal, or the bus would deduplicate them (Nats-Msg-Id is a hash of the
// payload).
type request struct {
	rows int
	// pb is the OTLP protobuf Export*ServiceRequest.
	pb    []byte
	marks []mark
	// ids are the places of every trace and span id: stamp rewrites them
	// too, so ids never repeat across sends, as in real traffic (they are
	// most of what compressed telemetry weighs).
	ids []mark
	key uint64 // what the ids are XORed with now
	// msgs are the Arrow Flight messages of the batch: dictionaries, then
	// the record batch (without the schema message, sent once per stream).
	msgs []*flight.FlightData
}

// mark is the position of one marker and its original value.
type mark struct {
	msg  int // index in msgs (Flight) or -1 (pb)
	off  int
	orig uint64
}

// stamp makes the request unique for sequence number seq.
func (r *request) stamp(seq uint64) {
	for _, m := range r.marks {
		var b []byte
		if m.msg < 0 {
			b = r.pb
		} else {
			b = r.msgs[m.msg].DataBody
		}
		binary.LittleEndian.PutUint64(b[m.off:], m.orig+seq)
	}
	key := mix(seq)
	delta := r.key ^ key
	r.key = key
	for _, m := range r.ids {
		var b []byte
		if m.msg < 0 {
			b = r.pb
		} else {
			b = r.msgs[m.msg].DataBody
		}
		binary.LittleEndian.PutUint64(b[m.off:], binary.LittleEndian.Uint64(b[m.off:])^delta)
	}
}

// mix is splitmix64's finalizer: distinct seqs give unrelated keys.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// findIDs returns the offsets of every occurrence of the ids (each at least
// 8 bytes) in b, in one pass over b: a request of 8192 spans holds about
// 20 000 ids in 6 MB, too many to search for one by one.
func findIDs(b []byte, ids [][]byte, msg int) []mark {
	byPrefix := make(map[uint64][]byte, len(ids))
	for _, id := range ids {
		byPrefix[binary.LittleEndian.Uint64(id)] = id
	}
	var out []mark
	for i := 0; i+8 <= len(b); i++ {
		id, ok := byPrefix[binary.LittleEndian.Uint64(b[i:])]
		if !ok || !bytes.HasPrefix(b[i:], id) {
			continue
		}
		out = append(out, mark{msg: msg, off: i})
		i += len(id) - 1
	}
	return out
}

// idsOf lists the distinct trace and span ids of a request's rows.
func idsOf(m proto.Message) [][]byte {
	seen := map[string]bool{}
	var out [][]byte
	add := func(id []byte) {
		if len(id) >= 8 && !seen[string(id)] {
			seen[string(id)] = true
			out = append(out, id)
		}
	}
	switch r := m.(type) {
	case *coltracepb.ExportTraceServiceRequest:
		for _, rs := range r.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					add(s.TraceId)
					add(s.SpanId)
					add(s.ParentSpanId)
					for _, l := range s.Links {
						add(l.TraceId)
						add(l.SpanId)
					}
				}
			}
		}
	case *collogspb.ExportLogsServiceRequest:
		for _, rl := range r.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				for _, l := range sl.LogRecords {
					add(l.TraceId)
					add(l.SpanId)
				}
			}
		}
	}
	return out
}

// build describes the requests to generate.
type build struct {
	signal    schema.Signal
	flight    bool
	rows      int // rows per request
	resources int // resources (services) per request
	services  int // distinct services overall
	seed      uint64
}

// buildRequests generates n distinct requests and the Flight schema message
// (nil unless b.flight).
func buildRequests(b build, n int) ([]*request, *flight.FlightData, error) {
	g := newGen(b.seed)
	mem := memory.NewGoAllocator()
	var out []*request
	var schemaMsg *flight.FlightData
	for i := range n {
		first := (i * b.resources) % b.services
		var (
			pbm  proto.Message
			rec  arrow.RecordBatch
			vals []*uint64
			err  error
		)
		switch b.signal {
		case schema.Traces:
			rss := g.traces(b.rows, first, b.resources, b.services)
			for _, rs := range rss {
				vals = append(vals, &rs.ScopeSpans[0].Spans[0].EndTimeUnixNano)
			}
			pbm = &coltracepb.ExportTraceServiceRequest{ResourceSpans: rss}
			fixMarks(vals, g)
			if b.flight {
				rec, err = schema.TracesToArrow(mem, rss)
			}
		case schema.Logs:
			rls := g.logs(b.rows, first, b.resources, b.services)
			for _, rl := range rls {
				vals = append(vals, &rl.ScopeLogs[0].LogRecords[0].ObservedTimeUnixNano)
			}
			fixMarks(vals, g)
			pbm = &collogspb.ExportLogsServiceRequest{ResourceLogs: rls}
			if b.flight {
				rec, err = schema.LogsToArrow(mem, rls)
			}
		case schema.Metrics:
			rms := g.metrics(b.rows, first, b.resources, b.services)
			for _, rm := range rms {
				vals = append(vals, firstPointTime(rm))
			}
			fixMarks(vals, g)
			pbm = &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: rms}
			if b.flight {
				rec, err = schema.MetricsToArrow(mem, rms)
			}
		default:
			return nil, nil, fmt.Errorf("build requests: unknown signal %q", b.signal)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("build %s request: %w", b.signal, err)
		}
		pb, err := proto.Marshal(pbm)
		if err != nil {
			return nil, nil, fmt.Errorf("marshal %s request: %w", b.signal, err)
		}
		r := &request{rows: b.rows, pb: pb}
		ids := idsOf(pbm)
		if !b.flight {
			r.ids = findIDs(pb, ids, -1)
			for _, v := range vals {
				off, ok := findOnce(pb, *v)
				if !ok {
					return nil, nil, fmt.Errorf("build %s request: marker %d not unique in the protobuf", b.signal, *v)
				}
				r.marks = append(r.marks, mark{msg: -1, off: off, orig: *v})
			}
		} else {
			msgs, err := flightMessages(rec)
			rec.Release()
			if err != nil {
				return nil, nil, err
			}
			if schemaMsg == nil {
				schemaMsg = msgs[0]
				schemaMsg.FlightDescriptor = &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{string(b.signal)}}
			}
			r.msgs = msgs[1:]
			last := len(r.msgs) - 1
			for _, v := range vals {
				off, ok := findOnce(r.msgs[last].DataBody, *v)
				if !ok {
					return nil, nil, fmt.Errorf("build %s request: marker %d not unique in the Arrow batch", b.signal, *v)
				}
				r.marks = append(r.marks, mark{msg: last, off: off, orig: *v})
			}
			r.ids = findIDs(r.msgs[last].DataBody, ids, last)
		}
		out = append(out, r)
	}
	return out, schemaMsg, nil
}

// fixMarks gives every marker a random value in the data's time range,
// which is then unique in the encoding with overwhelming probability
// (buildRequests checks).
func fixMarks(vals []*uint64, g *gen) {
	for _, v := range vals {
		if *v >= baseTime+2e12 {
			continue // already fixed
		}
		*v = baseTime + 2e12 + g.r.Uint64N(1e12)
	}
}

func firstPointTime(rm *metricspb.ResourceMetrics) *uint64 {
	m := rm.ScopeMetrics[0].Metrics[0]
	switch d := m.Data.(type) {
	case *metricspb.Metric_Gauge:
		return &d.Gauge.DataPoints[0].TimeUnixNano
	case *metricspb.Metric_Sum:
		return &d.Sum.DataPoints[0].TimeUnixNano
	case *metricspb.Metric_Histogram:
		return &d.Histogram.DataPoints[0].TimeUnixNano
	case *metricspb.Metric_ExponentialHistogram:
		return &d.ExponentialHistogram.DataPoints[0].TimeUnixNano
	case *metricspb.Metric_Summary:
		return &d.Summary.DataPoints[0].TimeUnixNano
	}
	panic("bench: metric without data")
}

// findOnce returns the offset of v's little-endian bytes in b when they occur
// exactly once.
func findOnce(b []byte, v uint64) (int, bool) {
	var pat [8]byte
	binary.LittleEndian.PutUint64(pat[:], v)
	i := bytes.Index(b, pat[:])
	if i < 0 || bytes.Contains(b[i+1:], pat[:]) {
		return 0, false
	}
	return i, true
}

// capture collects the Flight messages a writer sends, copied.
type capture struct{ msgs []*flight.FlightData }

func (c *capture) Send(fd *flight.FlightData) error {
	c.msgs = append(c.msgs, &flight.FlightData{
		FlightDescriptor: fd.FlightDescriptor,
		DataHeader:       bytes.Clone(fd.DataHeader),
		DataBody:         bytes.Clone(fd.DataBody),
	})
	return nil
}

// flightMessages encodes rec as Flight messages: schema, dictionaries,
// record batch, uncompressed (so the markers can be found and rewritten).
func flightMessages(rec arrow.RecordBatch) ([]*flight.FlightData, error) {
	var c capture
	w := flight.NewRecordWriter(&c, ipc.WithSchema(rec.Schema()))
	if err := w.Write(rec); err != nil {
		return nil, fmt.Errorf("encode flight batch: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode flight batch: %w", err)
	}
	if len(c.msgs) < 2 {
		return nil, fmt.Errorf("encode flight batch: %d messages", len(c.msgs))
	}
	return c.msgs, nil
}
