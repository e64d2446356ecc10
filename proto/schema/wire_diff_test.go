package schema

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/otlp-arrow/otlp-arrow/proto/otlpwire"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The otlpwire decoders must accept what proto.Unmarshal accepts and give
// what it gives (unknown fields discarded): these tests decode the same bytes
// with both.

var wireDiscardUnknown = proto.UnmarshalOptions{DiscardUnknown: true}

// wireAgreeTraces fails t unless proto and otlpwire both reject b or both decode
// it to equal requests, and returns proto's error.
func wireAgreeTraces(t *testing.T, name string, b []byte) error {
	t.Helper()
	var want, got coltracepb.ExportTraceServiceRequest
	werr := wireDiscardUnknown.Unmarshal(b, &want)
	gerr := otlpwire.UnmarshalTraces(b, &got)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%s: input %x: proto.Unmarshal error %v, otlpwire error %v", name, b, werr, gerr)
	}
	if werr == nil && !proto.Equal(&want, &got) {
		t.Fatalf("%s: input %x: decoded requests differ\n%s", name, b, diffMsg(&want, &got))
	}
	return werr
}

// wireAgreeLogs is wireAgreeTraces for logs requests.
func wireAgreeLogs(t *testing.T, name string, b []byte) error {
	t.Helper()
	var want, got collogspb.ExportLogsServiceRequest
	werr := wireDiscardUnknown.Unmarshal(b, &want)
	gerr := otlpwire.UnmarshalLogs(b, &got)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%s: input %x: proto.Unmarshal error %v, otlpwire error %v", name, b, werr, gerr)
	}
	if werr == nil && !proto.Equal(&want, &got) {
		t.Fatalf("%s: input %x: decoded requests differ\n%s", name, b, diffMsg(&want, &got))
	}
	return werr
}

func wireMarshalings(t *testing.T, m proto.Message) [][]byte {
	t.Helper()
	var out [][]byte
	for _, o := range []proto.MarshalOptions{{}, {Deterministic: true}} {
		b, err := o.Marshal(m)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		out = append(out, b)
	}
	return out
}

func TestWireDiffTracesProperty(t *testing.T) {
	for seed := range uint64(propertySeeds) {
		req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: newGen(seed).traces()}
		for i, b := range wireMarshalings(t, req) {
			wireAgreeTraces(t, fmt.Sprintf("seed %d marshaling %d", seed, i), b)
		}
	}
}

func TestWireDiffLogsProperty(t *testing.T) {
	for seed := range uint64(propertySeeds) {
		req := &collogspb.ExportLogsServiceRequest{ResourceLogs: newGen(seed).logs()}
		for i, b := range wireMarshalings(t, req) {
			wireAgreeLogs(t, fmt.Sprintf("seed %d marshaling %d", seed, i), b)
		}
	}
}

// Wire-level builders.

func wireLen(num protowire.Number, payload []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), payload)
}

func wireCat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// wirePath puts a message's encoded fields where that message sits in a request.
type wirePath struct {
	name string
	logs bool
	wrap func(fields []byte) []byte
}

// wireNest returns the wrap of the message reached by the fields nums, each a
// length-delimited field of the one before, from the request down.
func wireNest(nums ...protowire.Number) func([]byte) []byte {
	return func(b []byte) []byte {
		for i := len(nums) - 1; i >= 0; i-- {
			b = wireLen(nums[i], b)
		}
		return b
	}
}

// wirePaths reaches every message type of the traces and logs requests, the
// common ones (KeyValue, AnyValue, ...) in several places.
var wirePaths = []wirePath{
	{"traces request", false, wireNest()},
	{"ResourceSpans", false, wireNest(1)},
	{"Resource", false, wireNest(1, 1)},
	{"Resource attribute", false, wireNest(1, 1, 1)},
	{"Resource attribute value", false, wireNest(1, 1, 1, 2)},
	{"EntityRef", false, wireNest(1, 1, 3)},
	{"ScopeSpans", false, wireNest(1, 2)},
	{"InstrumentationScope", false, wireNest(1, 2, 1)},
	{"Scope attribute", false, wireNest(1, 2, 1, 3)},
	{"Span", false, wireNest(1, 2, 2)},
	{"Span attribute", false, wireNest(1, 2, 2, 9)},
	{"Span attribute value", false, wireNest(1, 2, 2, 9, 2)},
	{"ArrayValue", false, wireNest(1, 2, 2, 9, 2, 5)},
	{"ArrayValue element", false, wireNest(1, 2, 2, 9, 2, 5, 1)},
	{"KeyValueList", false, wireNest(1, 2, 2, 9, 2, 6)},
	{"KeyValueList element", false, wireNest(1, 2, 2, 9, 2, 6, 1)},
	{"Span.Event", false, wireNest(1, 2, 2, 11)},
	{"Event attribute", false, wireNest(1, 2, 2, 11, 3)},
	{"Span.Link", false, wireNest(1, 2, 2, 13)},
	{"Link attribute", false, wireNest(1, 2, 2, 13, 4)},
	{"Status", false, wireNest(1, 2, 2, 15)},
	{"logs request", true, wireNest()},
	{"ResourceLogs", true, wireNest(1)},
	{"logs Resource", true, wireNest(1, 1)},
	{"ScopeLogs", true, wireNest(1, 2)},
	{"logs InstrumentationScope", true, wireNest(1, 2, 1)},
	{"LogRecord", true, wireNest(1, 2, 2)},
	{"LogRecord attribute", true, wireNest(1, 2, 2, 6)},
	{"LogRecord body", true, wireNest(1, 2, 2, 5)},
	{"body kvlist element value", true, wireNest(1, 2, 2, 5, 6, 1, 2)},
}

// wireFieldVariants returns encodings of field num with every wire type and a few
// values of each: the field's own type, the wrong types (which proto treats
// as unknown fields), strings with invalid UTF-8, nested messages, groups,
// scalars encoded as a packed run, and malformed ones.
func wireFieldVariants(num protowire.Number) [][]byte {
	tag := func(typ protowire.Type) []byte { return protowire.AppendTag(nil, num, typ) }
	return [][]byte{
		protowire.AppendVarint(tag(protowire.VarintType), 0),
		protowire.AppendVarint(tag(protowire.VarintType), 2),
		protowire.AppendVarint(tag(protowire.VarintType), 1<<63|1<<32|7),
		protowire.AppendFixed32(tag(protowire.Fixed32Type), 0xdeadbeef),
		protowire.AppendFixed64(tag(protowire.Fixed64Type), 0x3ff8000000000000),
		wireLen(num, nil),
		wireLen(num, []byte("héllo")),
		wireLen(num, []byte{0xff, 0xfe}),      // invalid UTF-8
		wireLen(num, wireLen(1, []byte("k"))), // a message with a string field 1
		wireLen(num, wireCat(wireLen(1, []byte("k")), wireLen(2, wireLen(1, nil)))), // a KeyValue
		wireLen(num, protowire.AppendVarint(protowire.AppendVarint(nil, 1), 300)),   // a packed run of varints
		wireCat(tag(protowire.StartGroupType), protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1), tag(protowire.EndGroupType)),
		wireCat(tag(protowire.StartGroupType), tag(protowire.EndGroupType)),
		tag(protowire.StartGroupType),            // unterminated group
		tag(protowire.EndGroupType),              // end without start
		append(tag(protowire.VarintType), 0x80),  // truncated varint
		append(tag(protowire.BytesType), 5, 'a'), // truncated bytes
		append(tag(protowire.Fixed32Type), 1),    // truncated fixed32
		append(tag(6), 0),                        // reserved wire types
		append(tag(7), 0),
	}
}

// TestWireDiffEdges puts every field number from 1 to 20 (every known field
// of every message, and unknown ones) with every variant into every message
// type, alone and twice in a row (duplicate singular messages merge, scalars
// are last-wins, repeated fields append, oneofs switch or merge).
func TestWireDiffEdges(t *testing.T) {
	variants := map[protowire.Number][][]byte{}
	for num := protowire.Number(1); num <= 20; num++ {
		variants[num] = wireFieldVariants(num)
	}
	variants[99999] = wireFieldVariants(99999) // a tag longer than two bytes
	step := 1
	if propertySeeds < 300 { // race detector: every third pair
		step = 3
	}
	rejected := 0
	for _, p := range wirePaths {
		agree := wireAgreeTraces
		if p.logs {
			agree = wireAgreeLogs
		}
		for num, vs := range variants {
			for i, a := range vs {
				if agree(t, fmt.Sprintf("%s: field %d variant %d", p.name, num, i), p.wrap(a)) != nil {
					rejected++
				}
				for j := i % step; j < len(vs); j += step {
					agree(t, fmt.Sprintf("%s: field %d variants %d, %d", p.name, num, i, j), p.wrap(wireCat(a, vs[j])))
				}
			}
		}
		for _, b := range [][]byte{{0, 0}, {0x80}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, protowire.AppendVarint(nil, uint64(protowire.MaxValidNumber+1)<<3)} {
			if agree(t, p.name+": bad tag", p.wrap(b)) == nil {
				t.Fatalf("%s: proto accepts the bad tag %x", p.name, b)
			}
		}
	}
	if rejected == 0 {
		t.Fatal("no variant was rejected: the edge inputs test nothing")
	}
}

// wireSmall returns the marshaled request of the first seed whose size is in
// [lo, hi).
func wireSmall(t *testing.T, lo, hi int, make func(g *gen) proto.Message) []byte {
	for seed := range uint64(1000) {
		b, err := proto.Marshal(make(newGen(seed)))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) >= lo && len(b) < hi {
			return b
		}
	}
	t.Fatalf("no seed makes a request of %d to %d bytes", lo, hi)
	return nil
}

// TestWireDiffTruncatedAndCorrupted decodes a wireSmall request cut at every byte
// offset, and with every byte replaced by a few values.
func TestWireDiffTruncatedAndCorrupted(t *testing.T) {
	traces := wireSmall(t, 300, 1500, func(g *gen) proto.Message { return &coltracepb.ExportTraceServiceRequest{ResourceSpans: g.traces()} })
	logs := wireSmall(t, 300, 1500, func(g *gen) proto.Message { return &collogspb.ExportLogsServiceRequest{ResourceLogs: g.logs()} })
	for _, c := range []struct {
		b     []byte
		agree func(*testing.T, string, []byte) error
	}{{traces, wireAgreeTraces}, {logs, wireAgreeLogs}} {
		rejected := 0
		for i := range len(c.b) + 1 {
			if c.agree(t, fmt.Sprintf("cut at %d", i), c.b[:i]) != nil {
				rejected++
			}
		}
		if rejected == 0 {
			t.Fatal("no cut was rejected")
		}
		for i := range c.b {
			for _, v := range []byte{0x00, 0x07, 0x80, 0xff, c.b[i] ^ 0x01} {
				b := bytes.Clone(c.b)
				b[i] = v
				c.agree(t, fmt.Sprintf("byte %d set to %#x", i, v), b)
			}
		}
	}
}
