package dashboard

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// A .partial file is followed as it grows, keeps what was read when it is
// renamed, and is forgotten when it is removed.
func TestCacheFollowsPartialFile(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "otlp", "traces")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	var recs []arrow.RecordBatch
	for k := range 3 {
		recs = append(recs, tracesRecord(t, []*tracepb.ResourceSpans{rs("svc",
			span(byte(k+1), 1, 0, "root", time.Duration(k)*time.Second, time.Millisecond),
			span(byte(k+1), 2, 1, "child", time.Duration(k)*time.Second, time.Millisecond))}))
	}
	var stream bytes.Buffer
	w := ipc.NewWriter(&stream, ipc.WithSchema(recs[0].Schema()), ipc.WithZstd())
	var ends []int // where each batch's message ends
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, stream.Len())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b := stream.Bytes()
	partial := filepath.Join(sub, "traces-20261125T060102.000000000Z-w1-000001.arrows.partial")
	d, _ := newTestDashboard(t, dir, nil)
	search := func(wantSpans int) {
		t.Helper()
		if err := d.Index().Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		res, err := d.searchTraces(context.Background(), traceQuery{limit: 100, sort: "start"})
		if err != nil {
			t.Fatal(err)
		}
		if res.ScannedRows != int64(wantSpans) {
			t.Fatalf("scanned %d spans, want %d", res.ScannedRows, wantSpans)
		}
	}
	write := func(to int) {
		t.Helper()
		if err := os.WriteFile(partial, b[:to], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(ends[0] + 5) // the first batch and part of the next
	search(2)
	write(ends[1])
	search(4)
	// Rotation: the rest, the end-of-stream marker, the final name.
	write(len(b))
	final := filepath.Join(sub, "traces-20261125T060102.000000000Z-w1-000001.arrows")
	if err := os.Rename(partial, final); err != nil {
		t.Fatal(err)
	}
	search(6)
	search(6)
	key := "otlp/traces/traces-20261125T060102.000000000Z-w1-000001.arrows"
	d.cache.mu.Lock()
	e := d.cache.entries[key]
	d.cache.mu.Unlock()
	if e == nil || !e.done || len(e.recs) != 3 || e.rdr != nil {
		t.Fatalf("cache entry after the rename: %+v", e)
	}
	if err := os.Remove(final); err != nil {
		t.Fatal(err)
	}
	search(0)
	d.cache.mu.Lock()
	n, used := len(d.cache.entries), d.cache.used
	d.cache.mu.Unlock()
	if n != 0 || used != 0 {
		t.Errorf("after the removal: %d entries, %d bytes held", n, used)
	}
}

// Past its budget the cache drops the least recently used files.
func TestCacheEvicts(t *testing.T) {
	dir := fixture(t)
	d, _ := newTestDashboard(t, dir, func(c *Config) { c.CacheBytes = 1 })
	if _, err := d.searchTraces(context.Background(), traceQuery{limit: 100, sort: "start"}); err != nil {
		t.Fatal(err)
	}
	d.cache.mu.Lock()
	defer d.cache.mu.Unlock()
	held := 0
	for _, e := range d.cache.entries {
		if e.size > 0 {
			held++
		}
	}
	if held > searchWorkers {
		t.Errorf("%d files held over a 1-byte budget", held)
	}
}
