package schema

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// ipcRoundTrip writes rec as an Arrow IPC stream and reads it back, so the
// property tests also cover what the bus and the files do to a batch.
func ipcRoundTrip(t testing.TB, rec arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()), ipc.WithZstd())
	if err := w.Write(rec); err != nil {
		t.Fatalf("ipc write: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("ipc close: %v", err)
	}
	r, err := ipc.NewReader(&buf)
	if err != nil {
		t.Fatalf("ipc reader: %v", err)
	}
	defer r.Release()
	if !r.Next() {
		t.Fatalf("ipc: no batch: %v", r.Err())
	}
	out := r.RecordBatch()
	out.Retain()
	return out
}

// diffMsg reports the first differing pair as text, for a readable failure.
func diffMsg(want, got proto.Message) string {
	return "want:\n" + prototext.Format(want) + "\ngot:\n" + prototext.Format(got)
}

// equalNormalized fails unless got, read back from Arrow, equals in
// normalized, field by field.
func equalNormalized(t *testing.T, seed uint64, in, got []*tracepb.ResourceSpans) {
	t.Helper()
	want := NormalizeTraces(in)
	if len(want) != len(got) {
		t.Fatalf("seed %d: %d resources, want %d", seed, len(got), len(want))
	}
	for i := range want {
		if !proto.Equal(want[i], got[i]) {
			t.Fatalf("seed %d: resource %d differs\n%s", seed, i, diffMsg(want[i], got[i]))
		}
	}
}

func TestTracesRoundTripProperty(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	for seed := range uint64(propertySeeds) {
		g := newGen(seed)
		in := g.traces()
		rec, err := TracesToArrow(mem, in)
		if err != nil {
			t.Fatalf("seed %d: to arrow: %v", seed, err)
		}
		if err := rec.Schema().Equal(tracesSchema); !err {
			t.Fatalf("seed %d: schema differs", seed)
		}
		back := ipcRoundTrip(t, rec)
		rec.Release()
		got, err := TracesFromArrow([]arrow.RecordBatch{back})
		back.Release()
		if err != nil {
			t.Fatalf("seed %d: from arrow: %v", seed, err)
		}
		equalNormalized(t, seed, in, got)
	}
}
