package fileindex

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

var t0 = time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)

// spans returns a batch of n spans of service svc starting at start, one a
// second.
func spans(t *testing.T, svc string, start time.Time, n int) arrow.RecordBatch {
	t.Helper()
	ss := &tracepb.ScopeSpans{}
	for i := range n {
		st := start.Add(time.Duration(i) * time.Second)
		ss.Spans = append(ss.Spans, &tracepb.Span{
			TraceId: bytes.Repeat([]byte{byte(i + 1)}, 16), SpanId: bytes.Repeat([]byte{byte(i + 1)}, 8),
			Name: "op", StartTimeUnixNano: uint64(st.UnixNano()), EndTimeUnixNano: uint64(st.Add(time.Millisecond).UnixNano()),
		})
	}
	rs := &tracepb.ResourceSpans{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name",
			Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: svc}}}}},
		ScopeSpans: []*tracepb.ScopeSpans{ss},
	}
	rec, err := schema.TracesToArrow(memory.DefaultAllocator, []*tracepb.ResourceSpans{rs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Release)
	return rec
}

// arrowStream returns the bytes of an Arrow IPC stream of recs, compressed
// as the writer does, and the offsets where each record batch message ends.
func arrowStream(t *testing.T, recs ...arrow.RecordBatch) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(recs[0].Schema()), ipc.WithZstd())
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeParquet(t *testing.T, path string, recs ...arrow.RecordBatch) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(recs[0].Schema(), f,
		parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func refresh(t *testing.T, ix *Index) []File {
	t.Helper()
	if err := ix.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ix.Files("", time.Time{}, time.Time{})
}

func TestIndexLifecycle(t *testing.T) {
	dir := t.TempDir()
	tdir := filepath.Join(dir, "otlp", "traces")
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	ix := New(dir)
	if got := refresh(t, ix); len(got) != 0 {
		t.Fatalf("empty dir: %v", got)
	}

	// A finished Arrow file and a finished Parquet file.
	a := spans(t, "a", t0, 3)
	if err := os.WriteFile(filepath.Join(tdir, "traces-20261125T060000.000000000Z-w1-000001.arrows"), arrowStream(t, a), 0o644); err != nil {
		t.Fatal(err)
	}
	writeParquet(t, filepath.Join(tdir, "traces-20261125T070000.000000000Z-w1-000002.parquet"), spans(t, "p", t0.Add(time.Hour), 4))
	// Junk that is not an output file, and a Parquet file without its footer yet.
	if err := os.WriteFile(filepath.Join(tdir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tdir, "traces-20261125T080000.000000000Z-w1-000003.parquet.partial"), []byte("PAR1"), 0o644); err != nil {
		t.Fatal(err)
	}
	files := refresh(t, ix)
	if len(files) != 3 {
		t.Fatalf("got %d files, want 3: %+v", len(files), files)
	}
	// The partial Parquet file has no time range yet: it sorts first.
	if f := files[0]; f.Format != FormatParquet || f.State != StatePartial || f.Rows != 0 {
		t.Errorf("partial parquet: %+v", f)
	}
	if f := files[1]; f.Format != FormatArrow || f.State != StateFinished || f.Rows != 3 ||
		!f.MinTime.Equal(t0) || !f.MaxTime.Equal(t0.Add(2*time.Second)) || !slices.Equal(f.Services, []string{"a"}) ||
		f.SchemaVersion != "traces/v1" || f.Signal != "traces" || f.Path != "otlp/traces/traces-20261125T060000.000000000Z-w1-000001.arrows" {
		t.Errorf("arrow: %+v", f)
	}
	if f := files[2]; f.Format != FormatParquet || f.State != StateFinished || f.Rows != 4 ||
		!f.MinTime.Equal(t0.Add(time.Hour)) || !slices.Equal(f.Services, []string{"p"}) {
		t.Errorf("parquet: %+v", f)
	}
	if got := ix.Files("traces", t0.Add(30*time.Minute), time.Time{}); len(got) != 2 || got[1].Rows != 4 {
		t.Errorf("window after the arrow file: %+v", got)
	}
	if got := ix.Files("logs", time.Time{}, time.Time{}); len(got) != 0 {
		t.Errorf("logs: %+v", got)
	}

	// A .partial Arrow file grows a byte at a time across the refreshes
	// (the writer appends whole messages, but a refresh may see half of
	// one), is renamed when rotated, then removed.
	stream := arrowStream(t, spans(t, "b", t0.Add(2*time.Hour), 2), spans(t, "c", t0.Add(3*time.Hour), 5))
	partial := filepath.Join(tdir, "traces-20261125T090000.000000000Z-w1-000004.arrows.partial")
	f, err := os.Create(partial)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var seen []int64
	step := len(stream)/40 + 1
	for off := 0; off < len(stream)-8; off += step {
		end := min(off+step, len(stream)-8) // without the end-of-stream marker
		if _, err := f.Write(stream[off:end]); err != nil {
			t.Fatal(err)
		}
		got, ok := ix.lookupRefreshed(t, "otlp/traces/traces-20261125T090000.000000000Z-w1-000004.arrows.partial")
		if !ok {
			t.Fatal("partial file not indexed")
		}
		if len(seen) == 0 || seen[len(seen)-1] != got.Rows {
			seen = append(seen, got.Rows)
		}
	}
	if !slices.Equal(seen, []int64{0, 2, 7}) {
		t.Errorf("rows seen while the file grew: %v, want [0 2 7]", seen)
	}
	if _, err := f.Write(stream[len(stream)-8:]); err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(tdir, "traces-20261125T090000.000000000Z-w1-000004.arrows")
	if err := os.Rename(partial, final); err != nil {
		t.Fatal(err)
	}
	got, ok := ix.lookupRefreshed(t, "otlp/traces/traces-20261125T090000.000000000Z-w1-000004.arrows")
	if !ok || got.State != StateFinished || got.Rows != 7 || !slices.Equal(got.Services, []string{"b", "c"}) ||
		!got.MinTime.Equal(t0.Add(2*time.Hour)) || !got.MaxTime.Equal(t0.Add(3*time.Hour+4*time.Second)) {
		t.Errorf("renamed: %v %+v", ok, got)
	}
	if n := len(ix.Files("", time.Time{}, time.Time{})); n != 4 {
		t.Errorf("after the rename: %d files, want 4", n)
	}
	if err := os.Remove(final); err != nil {
		t.Fatal(err)
	}
	v := ix.Version()
	files = refresh(t, ix)
	if len(files) != 3 || ix.Version() == v {
		t.Errorf("after the removal: %d files (version %d -> %d)", len(files), v, ix.Version())
	}
	// Nothing changed: the version stays.
	v = ix.Version()
	refresh(t, ix)
	if ix.Version() != v {
		t.Error("a refresh that found nothing new changed the version")
	}
}

func (ix *Index) lookupRefreshed(t *testing.T, rel string) (File, bool) {
	t.Helper()
	refresh(t, ix)
	return ix.Lookup(rel)
}

func TestRunStops(t *testing.T) {
	ix := New(t.TempDir(), WithInterval(time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- ix.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A directory whose modification time has not changed is not listed again;
// its .partial files are still followed.
func TestRefreshUnchangedDirectory(t *testing.T) {
	dir := t.TempDir()
	tdir := filepath.Join(dir, "otlp", "traces")
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	stream := arrowStream(t, spans(t, "a", t0, 2), spans(t, "a", t0.Add(time.Hour), 3))
	partial := filepath.Join(tdir, "traces-20261125T090000.000000000Z-w1-000001.arrows.partial")
	half := len(stream) / 2
	if err := os.WriteFile(partial, stream[:half], 0o644); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	if err := os.Chtimes(tdir, past, past); err != nil {
		t.Fatal(err)
	}
	ix := New(dir)
	first := refresh(t, ix)[0].Rows
	f, err := os.OpenFile(partial, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(stream[half:]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Chtimes(tdir, past, past); err != nil { // unchanged, as appending leaves it
		t.Fatal(err)
	}
	if got := refresh(t, ix); len(got) != 1 || got[0].Rows != 5 || first >= 5 {
		t.Errorf("after the partial file grew: %+v (first %d rows)", got, first)
	}
	// A new file under an unchanged time is not seen; once the directory's
	// time moves, it is.
	if err := os.WriteFile(filepath.Join(tdir, "traces-20261125T100000.000000000Z-w1-000002.arrows"), stream, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tdir, past, past); err != nil {
		t.Fatal(err)
	}
	if got := refresh(t, ix); len(got) != 1 {
		t.Errorf("unchanged directory listed again: %d files", len(got))
	}
	later := past.Add(time.Second)
	if err := os.Chtimes(tdir, later, later); err != nil {
		t.Fatal(err)
	}
	if got := refresh(t, ix); len(got) != 2 {
		t.Errorf("changed directory: %d files, want 2", len(got))
	}
}
