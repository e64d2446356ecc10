package schema

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// TestTracesV2RoundTripProperty checks on generated data that v1 -> v2 ->
// Arrow IPC -> v1 gives back the spans, that v2 holds no plain string at any
// depth, and that the v1 batch FromV2 returns equals the one ToV2 took.
func TestTracesV2RoundTripProperty(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	for seed := range uint64(propertySeeds) {
		in := newGen(seed).traces()
		rec, err := TracesToArrow(mem, in)
		if err != nil {
			t.Fatalf("seed %d: to arrow: %v", seed, err)
		}
		v2, err := ToV2(mem, Traces, rec)
		if err != nil {
			t.Fatalf("seed %d: to v2: %v", seed, err)
		}
		if got, want := SchemaVersion(Traces, v2.Schema()), "traces/v2"; got != want {
			t.Fatalf("seed %d: schema version %q, want %q", seed, got, want)
		}
		for _, f := range v2.Schema().Fields() {
			if hasPlainString(f.Type) {
				t.Fatalf("seed %d: v2 column %s is %s: a plain string is left", seed, f.Name, f.Type)
			}
		}
		read := ipcRoundTrip(t, v2)
		v2.Release()
		back, err := FromV2(mem, read)
		read.Release()
		if err != nil {
			t.Fatalf("seed %d: from v2: %v", seed, err)
		}
		if !back.Schema().Equal(tracesSchema) {
			t.Fatalf("seed %d: v1 schema from v2 differs:\n%s", seed, back.Schema())
		}
		for c := range rec.Columns() {
			if !array.ApproxEqual(rec.Column(c), back.Column(c), array.WithNaNsEqual(true), array.WithAbsTolerance(0)) {
				t.Fatalf("seed %d: v1 column %s from v2 differs from the one written", seed, rec.ColumnName(c))
			}
		}
		rec.Release()
		got, err := TracesFromArrow([]arrow.RecordBatch{back})
		back.Release()
		if err != nil {
			t.Fatalf("seed %d: from arrow: %v", seed, err)
		}
		equalNormalized(t, seed, in, got)
	}
}

// TestFromV2KeepsV1 checks that a v1 batch passes FromV2 untouched and that a
// v1 schema reads as v1.
func TestFromV2KeepsV1(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	rec, err := TracesToArrow(mem, newGen(1).traces())
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	out, err := FromV2(mem, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if out != rec {
		t.Fatal("FromV2 of a v1 batch made a new batch")
	}
	if got, want := SchemaVersion(Traces, rec.Schema()), "traces/v1"; got != want {
		t.Fatalf("version %q, want %q", got, want)
	}
	if _, ok := IsV2(rec.Schema()); ok {
		t.Fatal("a v1 schema reads as v2")
	}
}

// hasPlainString reports whether dt holds a utf8 outside a dictionary.
func hasPlainString(dt arrow.DataType) bool {
	switch t := dt.(type) {
	case *arrow.StringType:
		return true
	case *arrow.DictionaryType:
		return false
	case arrow.NestedType:
		for _, f := range t.Fields() {
			if hasPlainString(f.Type) {
				return true
			}
		}
	}
	return false
}

// TestUnknownVersion checks that a batch declaring a later layout is
// refused, not read as v1.
func TestUnknownVersion(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	rec, err := TracesToArrow(mem, newGen(2).traces())
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	md := arrow.NewMetadata([]string{SchemaKey}, []string{"traces/v9"})
	later := array.NewRecordBatch(arrow.NewSchema(rec.Schema().Fields(), &md), rec.Columns(), rec.NumRows())
	defer later.Release()
	if err := CheckVersion(later.Schema()); !errors.Is(err, ErrUnknownVersion) || !strings.Contains(err.Error(), "traces/v9") {
		t.Fatalf("CheckVersion: %v, want ErrUnknownVersion naming traces/v9", err)
	}
	if out, err := FromV2(mem, later); !errors.Is(err, ErrUnknownVersion) {
		if out != nil {
			out.Release()
		}
		t.Fatalf("FromV2: %v, want ErrUnknownVersion", err)
	}
}

// TestV2Slices checks the conversions on sliced batches (array offsets not
// zero) and on an empty one.
func TestV2Slices(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	var in []*tracepb.ResourceSpans
	for seed := range uint64(6) {
		in = append(in, newGen(seed).traces()...)
	}
	rec, err := TracesToArrow(mem, in)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	n := rec.NumRows()
	if n < 4 {
		t.Fatalf("%d rows generated, want 4 or more", n)
	}
	for _, r := range [][2]int64{{0, 0}, {1, n / 2}, {n / 3, n}, {n - 1, n}} {
		part := rec.NewSlice(r[0], r[1])
		v2, err := ToV2(mem, Traces, part)
		if err != nil {
			t.Fatal(err)
		}
		back, err := FromV2(mem, v2)
		if err != nil {
			t.Fatal(err)
		}
		if back.NumRows() != r[1]-r[0] {
			t.Errorf("rows %v: %d back", r, back.NumRows())
		}
		for c := range part.Columns() {
			if !array.ApproxEqual(part.Column(c), back.Column(c), array.WithNaNsEqual(true), array.WithAbsTolerance(0)) {
				t.Errorf("rows %v: column %s differs after v2 and back", r, part.ColumnName(c))
			}
		}
		back.Release()
		v2.Release()
		part.Release()
	}
}
