package dashboard_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/prometheus/client_golang/prometheus"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"

	ingest "github.com/otlp-arrow/otlp-arrow/ingest-grpc"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/fileindex"
	"github.com/otlp-arrow/otlp-arrow/writer"
)

// The file index over files the real writer writes, Arrow (rotating every
// 300 ms, so .partial files are renamed while the index follows them) and
// Parquet: each file's rows equal what arrow-go's own readers count in it.
func TestIndexOverWriterFiles(t *testing.T) {
	for _, format := range []string{"arrow", "parquet"} {
		t.Run(format, func(t *testing.T) {
			_, _, js := bustest.RunJetStream(t)
			out := t.TempDir()
			log := slog.New(slog.DiscardHandler)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			defer wg.Wait()
			defer cancel()
			wcfg := writer.DefaultConfig()
			wcfg.OutputDir, wcfg.Format, wcfg.WriterID = out, format, "w1"
			wcfg.WriteInterval, wcfg.MaxFileAge, wcfg.ShutdownTimeout = 100*time.Millisecond, 300*time.Millisecond, 5*time.Second
			w, err := writer.New(wcfg, js, log, prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			icfg := ingest.DefaultConfig()
			icfg.GRPC.Addr, icfg.HTTP.Enabled = "127.0.0.1:0", false
			ing, err := ingest.New(icfg, js, log, prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			if err := ing.Listen(); err != nil {
				t.Fatal(err)
			}
			for _, run := range []func(context.Context) error{w.Run, ing.Run} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
						t.Error(err)
					}
				}()
			}
			ix := fileindex.New(out)
			client := coltracepb.NewTraceServiceClient(otlpClient(t, ing.GRPCAddr().String()))
			const requests, spans = 6, 20
			for r := range requests {
				if _, err := client.Export(ctx, spansRequest(r, spans, time.Now())); err != nil {
					t.Fatal(err)
				}
				if err := ix.Refresh(ctx); err != nil { // while files are written and renamed
					t.Fatal(err)
				}
				time.Sleep(150 * time.Millisecond)
			}
			for total := int64(0); total != requests*spans; {
				if err := ix.Refresh(ctx); err != nil {
					t.Fatal(err)
				}
				total = 0
				for _, f := range ix.Files("traces", time.Time{}, time.Time{}) {
					total += f.Rows
				}
				time.Sleep(20 * time.Millisecond)
			}
			files := ix.Files("traces", time.Time{}, time.Time{})
			if format == "arrow" && len(files) < 2 {
				t.Errorf("%d files: no rotation", len(files))
			}
			for _, f := range files {
				if f.Format != format || f.Signal != "traces" || f.SchemaVersion != "traces/v1" || f.MinTime.IsZero() {
					t.Errorf("%+v", f)
				}
				if f.State == fileindex.StatePartial {
					continue // may grow between the index and the count
				}
				if got := countRows(t, filepath.Join(out, filepath.FromSlash(f.Path)), format); got != f.Rows {
					t.Errorf("%s: index says %d rows, the file holds %d", f.Path, f.Rows, got)
				}
			}
		})
	}
}

// countRows counts a finished file's rows with arrow-go's readers.
func countRows(t *testing.T, path, format string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if format == "parquet" {
		pf, err := file.NewParquetReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer tbl.Release()
		return tbl.NumRows()
	}
	r, err := ipc.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	for r.Next() {
		n += r.RecordBatch().NumRows()
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	return n
}
