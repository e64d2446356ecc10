package segment

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "service_name", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}},
	{Name: "value", Type: arrow.PrimitiveTypes.Int64},
}, nil)

type row struct {
	service string
	value   int64
}

// batch builds a record whose dictionary holds only its own services, as
// every payload on the bus does.
func batch(t *testing.T, mem memory.Allocator, rows ...row) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(mem, testSchema)
	defer b.Release()
	for _, r := range rows {
		if err := b.Field(0).(*array.BinaryDictionaryBuilder).AppendString(r.service); err != nil {
			t.Fatal(err)
		}
		b.Field(1).(*array.Int64Builder).Append(r.value)
	}
	return b.NewRecordBatch()
}

func readRows(t *testing.T, path string) []row {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ipc.NewReader(f)
	if err != nil {
		t.Fatalf("open reader %s: %v", path, err)
	}
	defer r.Release()
	var out []row
	for r.Next() {
		out = appendRows(out, r.RecordBatch())
	}
	if err := r.Err(); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("read %s: %v", path, err)
	}
	return out
}

// appendRows appends the rows of a record of testSchema to out.
func appendRows(out []row, rec arrow.RecordBatch) []row {
	dict := rec.Column(0).(*array.Dictionary)
	vals := dict.Dictionary().(*array.String)
	for i := 0; i < int(rec.NumRows()); i++ {
		out = append(out, row{vals.Value(dict.GetValueIndex(i)), rec.Column(1).(*array.Int64).Value(i)})
	}
	return out
}

func equalRows(t *testing.T, got, want []row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d rows %v, want %d rows %v", len(got), got, len(want), want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("row %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestFileWriteFinalize(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []ipc.Option
	}{
		{"zstd", []ipc.Option{ipc.WithZstd()}},
		{"lz4", []ipc.Option{ipc.WithLZ4()}},
		{"none", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			dir := t.TempDir()
			name := Name{Signal: "traces", Start: time.Now(), WriterID: "w1", Seq: 1}
			f, err := Create(dir, name, "traces/v1", testSchema, mem, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			batches := [][]row{
				{{"a", 1}, {"b", 2}},
				{{"c", 3}},           // replacement dictionary
				{{"c", 4}, {"a", 5}}, // another replacement
				{{"c", 6}, {"a", 7}}, // same dictionary, no replacement
			}
			var want []row
			for _, rows := range batches {
				rec := batch(t, mem, rows...)
				if err := f.Write(rec); err != nil {
					t.Fatal(err)
				}
				rec.Release()
				want = append(want, rows...)
			}
			if _, err := os.Stat(filepath.Join(dir, name.Partial())); err != nil {
				t.Fatalf("partial file: %v", err)
			}
			off, err := f.Sync()
			if err != nil {
				t.Fatal(err)
			}
			if off != f.Size() || off == 0 {
				t.Fatalf("Sync offset = %d, size %d", off, f.Size())
			}
			if got, want := f.Rows(), int64(len(want)); got != want {
				t.Fatalf("Rows() = %d, want %d", got, want)
			}
			path, err := f.Finalize()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := path, filepath.Join(dir, name.String()); got != want {
				t.Fatalf("Finalize path = %q, want %q", got, want)
			}
			if _, err := os.Stat(filepath.Join(dir, name.Partial())); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("partial still there: %v", err)
			}
			f.Abandon() // harmless after Finalize
			equalRows(t, readRows(t, path), want)
		})
	}
}

func TestRepairTruncatesTornTail(t *testing.T) {
	mem := memory.DefaultAllocator
	dir := t.TempDir()
	name := Name{Signal: "logs", Start: time.Now(), WriterID: "w1", Seq: 7}
	f, err := Create(dir, name, "logs/v1", testSchema, mem, ipc.WithZstd())
	if err != nil {
		t.Fatal(err)
	}
	rec := batch(t, mem, row{"a", 1}, row{"b", 2})
	defer rec.Release()
	if err := f.Write(rec); err != nil {
		t.Fatal(err)
	}
	off, err := f.Sync()
	if err != nil {
		t.Fatal(err)
	}
	// Written but never journaled: must disappear.
	rec2 := batch(t, mem, row{"z", 99})
	defer rec2.Release()
	if err := f.Write(rec2); err != nil {
		t.Fatal(err)
	}
	f.Abandon()
	partial := filepath.Join(dir, name.Partial())
	// And a torn tail on top.
	fh, err := os.OpenFile(partial, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Write([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0x10, 0, 0, 0, 1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	fh.Close()

	path, err := Repair(partial, off)
	if err != nil {
		t.Fatal(err)
	}
	equalRows(t, readRows(t, path), []row{{"a", 1}, {"b", 2}})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Size(), off+8; got != want {
		t.Fatalf("size after repair = %d, want %d", got, want)
	}
}

func TestRepairErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Repair(filepath.Join(dir, "x.arrows"), 0); !errors.Is(err, ErrNotPartial) {
		t.Fatalf("Repair non-partial: %v, want ErrNotPartial", err)
	}
	p := filepath.Join(dir, "x.arrows.partial")
	if err := os.WriteFile(p, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Repair(p, 10); !errors.Is(err, ErrShort) {
		t.Fatalf("Repair short: %v, want ErrShort", err)
	}
	if _, err := Repair(filepath.Join(dir, "missing.arrows.partial"), 0); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Repair missing: %v, want ErrNotExist", err)
	}
}
