//go:build cgo && !nosql

package query

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/otlp-arrow/otlp-arrow/query/querytest"
)

// benchDirs hold the benchmark's data, by format.
var benchDirs = map[string]string{}

// benchDir writes OTLP_SQL_BENCH_SPANS (default 1 000 000) spans, their
// logs and metrics through the writer in format, once per format.
func benchDir(b *testing.B, format string) string {
	if d, ok := benchDirs[format]; ok {
		return d
	}
	n := 1_000_000
	if s := os.Getenv("OTLP_SQL_BENCH_SPANS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dir, err := os.MkdirTemp("", "sql-bench-")
	if err != nil {
		b.Fatal(err)
	}
	benchDirs[format] = dir // removed by BenchmarkSQL, even if the write fails
	start := time.Now()
	querytest.Write(b, dir, format, querytest.Generate(1, n))
	b.Logf("wrote %d spans as %s in %s", n, format, time.Since(start))
	return dir
}

// BenchmarkSQL: the time to the first result (opening the engine and
// loading every file, then one query), and each example once the files
// are loaded, over a million spans (OTLP_SQL_BENCH_SPANS) in Arrow and in
// Parquet files.
func BenchmarkSQL(b *testing.B) {
	defer func() {
		for _, d := range benchDirs {
			os.RemoveAll(d)
		}
		clear(benchDirs)
	}()
	for _, format := range []string{"arrow", "parquet"} {
		b.Run(format+"/first-result", func(b *testing.B) {
			dir := benchDir(b, format)
			for b.Loop() {
				e, err := Open(context.Background(), Options{OutputDir: dir, Timeout: 10 * time.Minute})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.Query(context.Background(), "SELECT count(*) FROM traces"); err != nil {
					b.Fatal(err)
				}
				e.Close()
			}
		})
		dir := benchDir(b, format)
		e, err := Open(context.Background(), Options{OutputDir: dir, Timeout: 10 * time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := e.Sync(context.Background()); err != nil { // every table loaded
			b.Fatal(err)
		}
		res, err := e.Query(context.Background(), "SELECT (SELECT count(*) FROM traces), (SELECT count(*) FROM logs), (SELECT count(*) FROM metrics)")
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: %v spans, %v log records, %v points loaded in %s", format, res.Rows[0][0], res.Rows[0][1], res.Rows[0][2], time.Since(start))
		for _, ex := range Examples {
			b.Run(format+"/"+ex.Title, func(b *testing.B) {
				for b.Loop() {
					if _, err := e.Query(context.Background(), ex.SQL); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		e.Close()
	}
}
