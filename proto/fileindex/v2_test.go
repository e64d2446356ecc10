package fileindex

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// TestReadV2File reads a traces/v2 file (two batches, each with its own
// dictionaries) through the index and ReadFile: the index says traces/v2
// and summarizes it like a v1 file, and the batches come back in the v1
// schema, equal to the v1 batches the file was made from.
func TestReadV2File(t *testing.T) {
	dir := t.TempDir()
	tdir := filepath.Join(dir, "otlp", "traces")
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	v1 := []arrow.RecordBatch{spans(t, "a", t0, 3), spans(t, "b", t0.Add(time.Minute), 2)}
	var v2 []arrow.RecordBatch
	for _, r := range v1 {
		c, err := schema.ToV2(memory.DefaultAllocator, schema.Traces, r)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Release)
		v2 = append(v2, c)
	}
	name := "traces-20261125T060000.000000000Z-w1-000001.arrows"
	if err := os.WriteFile(filepath.Join(tdir, name), arrowStream(t, v2...), 0o644); err != nil {
		t.Fatal(err)
	}
	files := refresh(t, New(dir))
	if len(files) != 1 {
		t.Fatalf("files: %+v", files)
	}
	if f := files[0]; f.SchemaVersion != "traces/v2" || f.Rows != 5 || !f.MinTime.Equal(t0) ||
		!f.MaxTime.Equal(t0.Add(time.Minute+time.Second)) || !slices.Equal(f.Services, []string{"a", "b"}) {
		t.Errorf("v2 file: %+v", f)
	}
	var i int
	err := ReadFile(context.Background(), filepath.Join(tdir, name), nil, func(rec arrow.RecordBatch) error {
		if !rec.Schema().Equal(schema.Schema(schema.Traces)) {
			t.Errorf("batch %d: schema is not v1:\n%s", i, rec.Schema())
		}
		if !array.RecordEqual(rec, v1[i]) {
			t.Errorf("batch %d differs from the v1 batch written", i)
		}
		i++
		return nil
	})
	if err != nil || i != 2 {
		t.Fatalf("read %d batches: %v", i, err)
	}
}

// TestReadUnknownVersion checks that a file declaring a later layout fails
// to read, at every call, with schema.ErrUnknownVersion.
func TestReadUnknownVersion(t *testing.T) {
	rec := spans(t, "a", t0, 2)
	md := arrow.NewMetadata([]string{schema.SchemaKey}, []string{"traces/v9"})
	later := array.NewRecordBatch(arrow.NewSchema(rec.Schema().Fields(), &md), rec.Columns(), rec.NumRows())
	defer later.Release()
	path := filepath.Join(t.TempDir(), "traces-20261125T060000.000000000Z-w1-000001.arrows")
	if err := os.WriteFile(path, arrowStream(t, later), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for range 2 {
		err := r.ReadNew(func(arrow.RecordBatch) error {
			t.Fatal("a batch of an unknown version was handed over")
			return nil
		})
		if !errors.Is(err, schema.ErrUnknownVersion) {
			t.Fatalf("ReadNew: %v, want ErrUnknownVersion", err)
		}
	}
}
