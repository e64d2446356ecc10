package segment

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// readParquet reads a whole Parquet file with the Arrow reader; the table
// is released when the test ends.
func readParquet(t *testing.T, path string) arrow.Table {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	t.Cleanup(tbl.Release)
	return tbl
}

// readParquetRows reads the rows of a Parquet file of testSchema and checks
// its schema is the Arrow schema it was written with.
func readParquetRows(t *testing.T, path string) []row {
	t.Helper()
	tbl := readParquet(t, path)
	if !sameTypes(tbl.Schema(), testSchema) {
		t.Fatalf("schema of %s = %s, want %s", path, tbl.Schema(), testSchema)
	}
	tr := array.NewTableReader(tbl, 1024)
	defer tr.Release()
	var out []row
	for tr.Next() {
		out = appendRows(out, tr.RecordBatch())
	}
	return out
}

// sameTypes reports whether a and b have the same field names, types and
// nullability. A Parquet reader adds field ids to the fields' metadata and
// names list elements "element", which Arrow's type equality ignores.
func sameTypes(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.NumFields() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || fa.Nullable != fb.Nullable || !arrow.TypeEqual(fa.Type, fb.Type) {
			return false
		}
	}
	return true
}

func parquetFile(t *testing.T, dir string, seq int) *File {
	t.Helper()
	name := Name{Signal: "traces", Start: time.Now(), WriterID: "w1", Seq: seq, Format: Parquet}
	f, err := CreateParquet(dir, name, "traces/v1", testSchema, ParquetProperties(compress.Codecs.Zstd, 1<<17, memory.DefaultAllocator), memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestParquetFinalize(t *testing.T) {
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	f := parquetFile(t, dir, 1)
	if filepath.Ext(f.Path()) != PartialExt {
		t.Fatalf("open path %s, want a .partial", f.Path())
	}
	want := []row{{"a", 1}, {"b", 2}, {"a", 3}}
	for _, rows := range [][]row{want[:2], want[2:]} {
		rec := batch(t, mem, rows...)
		if err := f.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	path, err := f.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Ext(path) != ParquetExt {
		t.Fatalf("final path %s, want %s", path, ParquetExt)
	}
	equalRows(t, readParquetRows(t, path), want)
	mem.AssertSize(t, 0)
}

// TestParquetSyncSeals checks a synced Parquet file is whole (footer
// included), takes no more rows, and that Repair of the .partial left by a
// crash after the sync finishes it without touching its bytes.
func TestParquetSyncSeals(t *testing.T) {
	dir := t.TempDir()
	f := parquetFile(t, dir, 2)
	rec := batch(t, memory.DefaultAllocator, row{"x", 7}, row{"y", 8})
	defer rec.Release()
	if err := f.Write(rec); err != nil {
		t.Fatal(err)
	}
	off, err := f.Sync()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Write(rec); err == nil {
		t.Fatal("Write after Sync succeeded on a Parquet file")
	}
	partial := f.Path()
	f.Abandon() // the crash
	equalRows(t, readParquetRows(t, partial), []row{{"x", 7}, {"y", 8}})
	// A torn tail written after the sync is cut off.
	fh, err := os.OpenFile(partial, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Write([]byte("torn")); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	final, err := Repair(partial, off)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(final)
	if err != nil || st.Size() != off {
		t.Fatalf("repaired %s: size %v (err %v), want %d", final, st, err, off)
	}
	equalRows(t, readParquetRows(t, final), []row{{"x", 7}, {"y", 8}})
}

// TestParquetTypes writes the column types the signal schemas use and reads
// them back with the same Arrow types, thanks to the stored schema.
func TestParquetTypes(t *testing.T) {
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "trace_id", Type: &arrow.FixedSizeBinaryType{ByteWidth: 16}, Nullable: true},
		{Name: "start_time", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "flags", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
		{Name: "count", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
		{Name: "attributes_str", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), Nullable: true},
		{Name: "bounds", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64), Nullable: true},
	}, nil)
	dir := t.TempDir()
	name := Name{Signal: "metrics", Start: time.Now(), WriterID: "w1", Seq: 1, Format: Parquet}
	f, err := CreateParquet(dir, name, "metrics/v1", sch, ParquetProperties(compress.Codecs.Zstd, 1<<17, memory.DefaultAllocator), memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer b.Release()
	b.Field(0).(*array.FixedSizeBinaryBuilder).Append([]byte("0123456789abcdef"))
	b.Field(0).(*array.FixedSizeBinaryBuilder).AppendNull()
	b.Field(1).(*array.TimestampBuilder).Append(1_700_000_000_123_456_789)
	b.Field(1).(*array.TimestampBuilder).AppendNull()
	b.Field(2).(*array.Uint32Builder).Append(1 << 31)
	b.Field(2).(*array.Uint32Builder).Append(0)
	b.Field(3).(*array.Uint64Builder).Append(1 << 63)
	b.Field(3).(*array.Uint64Builder).AppendNull()
	mb := b.Field(4).(*array.MapBuilder)
	mb.Append(true)
	mb.KeyBuilder().(*array.StringBuilder).Append("k")
	mb.ItemBuilder().(*array.StringBuilder).Append("v")
	mb.AppendNull()
	lb := b.Field(5).(*array.ListBuilder)
	lb.Append(true) // an empty list, not a null
	lb.Append(true)
	lb.ValueBuilder().(*array.Float64Builder).Append(-0.5)
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := f.Write(rec); err != nil {
		t.Fatal(err)
	}
	path, err := f.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	tbl := readParquet(t, path)
	if !sameTypes(tbl.Schema(), sch) {
		t.Fatalf("schema read back:\n%s\nwant\n%s", tbl.Schema(), sch)
	}
	for i := range sch.NumFields() {
		got := tbl.Column(i).Data().Chunk(0)
		if !array.Equal(got, rec.Column(i)) {
			t.Errorf("column %s read back %v, want %v", sch.Field(i).Name, got, rec.Column(i))
		}
	}
}
