package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// fileSeq numbers the test files.
var fileSeq int

// writeFile writes rec to <dir>/otlp/<signal>/ under a writer's file name,
// as an Arrow IPC stream compressed with zstd (as the writer does) or as
// Parquet holding the Arrow schema.
func writeFile(t testing.TB, dir, signal string, rec arrow.RecordBatch, parquetFormat bool) string {
	t.Helper()
	sub := filepath.Join(dir, "otlp", signal)
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	fileSeq++
	ext := ".arrows"
	if parquetFormat {
		ext = ".parquet"
	}
	name := fmt.Sprintf("%s-20261125T060102.000000000Z-w1-%06d%s", signal, fileSeq, ext)
	f, err := os.Create(filepath.Join(sub, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if parquetFormat {
		w, err := pqarrow.NewFileWriter(rec.Schema(), f, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd)),
			pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return name
	}
	w := ipc.NewWriter(f, ipc.WithSchema(rec.Schema()), ipc.WithZstd())
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return name
}

func str(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

func resource(svc string) *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("service.name", str(svc))}}
}

func tracesRecord(t testing.TB, rss []*tracepb.ResourceSpans) arrow.RecordBatch {
	t.Helper()
	rec, err := schema.TracesToArrow(memory.DefaultAllocator, rss)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Release)
	return rec
}

func logsRecord(t testing.TB, rls []*logspb.ResourceLogs) arrow.RecordBatch {
	t.Helper()
	rec, err := schema.LogsToArrow(memory.DefaultAllocator, rls)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Release)
	return rec
}

func metricsRecord(t testing.TB, rms []*metricspb.ResourceMetrics) arrow.RecordBatch {
	t.Helper()
	rec, err := schema.MetricsToArrow(memory.DefaultAllocator, rms)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Release)
	return rec
}

// newTestDashboard returns a dashboard over dir (index refreshed) and a
// test server for it.
func newTestDashboard(t testing.TB, dir string, mod func(*Config)) (*Dashboard, *httptest.Server) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.OutputDir, cfg.Addr, cfg.NoListen = dir, "127.0.0.1:0", true
	if mod != nil {
		mod(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Index().Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	t.Cleanup(d.cache.close)
	return d, srv
}

// fetchJSON GETs url and decodes the JSON answer into v; it returns the status.
func fetchJSON(t testing.TB, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
	}
	return resp.StatusCode
}

var base = time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)

func nanos(t time.Time) uint64 { return uint64(t.UnixNano()) }

// httptestRequest is a GET of /?query.
func httptestRequest(query string) *http.Request {
	return httptest.NewRequest("GET", "/?"+query, nil)
}
