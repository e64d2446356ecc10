package schema

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/proto"
)

// body returns a log body of any kind: nil, the empty AnyValue, a string
// (often), or any other AnyValue including nested arrays and kvlists.
func (g *gen) body() *commonpb.AnyValue {
	switch g.r.IntN(8) {
	case 0:
		return nil
	case 1:
		return &commonpb.AnyValue{}
	case 2, 3:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: g.str()}}
	case 4:
		kvs := g.attrs(1)
		kvs = append(kvs, &commonpb.KeyValue{Key: "nested", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{
			ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{g.anyValue(2), {Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: g.attrs(2)}}}}},
		}}})
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: kvs}}}
	}
	return g.anyValue(0)
}

func (g *gen) logRecord() *logspb.LogRecord {
	l := &logspb.LogRecord{
		TimeUnixNano:           g.time(),
		ObservedTimeUnixNano:   g.time(),
		SeverityNumber:         logspb.SeverityNumber(g.r.IntN(25)),
		SeverityText:           g.str(),
		Body:                   g.body(),
		Attributes:             g.attrs(0),
		DroppedAttributesCount: uint32(g.r.IntN(3)),
		Flags:                  g.r.Uint32(),
		TraceId:                g.id(16),
		SpanId:                 g.id(8),
	}
	if g.r.IntN(3) == 0 {
		l.EventName = g.str()
	}
	return l
}

func (g *gen) logs() []*logspb.ResourceLogs {
	var rls []*logspb.ResourceLogs
	for range g.r.IntN(4) {
		res, url := g.resource()
		rl := &logspb.ResourceLogs{Resource: res, SchemaUrl: url}
		for range g.r.IntN(4) {
			scope, surl := g.scope()
			sl := &logspb.ScopeLogs{Scope: scope, SchemaUrl: surl}
			for range g.r.IntN(6) {
				sl.LogRecords = append(sl.LogRecords, g.logRecord())
			}
			rl.ScopeLogs = append(rl.ScopeLogs, sl)
		}
		rls = append(rls, rl)
	}
	return rls
}

func TestLogsRoundTripProperty(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	for seed := range uint64(propertySeeds) {
		g := newGen(seed)
		in := g.logs()
		rec, err := LogsToArrow(mem, in)
		if err != nil {
			t.Fatalf("seed %d: to arrow: %v", seed, err)
		}
		if !rec.Schema().Equal(logsSchema) {
			t.Fatalf("seed %d: schema differs", seed)
		}
		back := ipcRoundTrip(t, rec)
		rec.Release()
		got, err := LogsFromArrow([]arrow.RecordBatch{back})
		back.Release()
		if err != nil {
			t.Fatalf("seed %d: from arrow: %v", seed, err)
		}
		want := NormalizeLogs(in)
		if len(want) != len(got) {
			t.Fatalf("seed %d: %d resources, want %d", seed, len(got), len(want))
		}
		for i := range want {
			if !proto.Equal(want[i], got[i]) {
				t.Fatalf("seed %d: resource %d differs\n%s", seed, i, diffMsg(want[i], got[i]))
			}
		}
	}
}
