//go:build cgo && !nosql

package query

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// The reference side of the tests: the rows of the files as arrow-go reads
// them, with no DuckDB involved.

type refSpan struct {
	svc, name, route  string
	hasRoute          bool
	status            int64 // -1: null
	start, end        int64
	traceID, parentID string
}

func (s refSpan) durMS() float64 { return float64(s.end-s.start) / 1e6 }

type refLog struct {
	time            int64
	svc, sev, body  string
	traceID, spanID string
}

type refPoint struct {
	time             int64
	svc, metric, typ string
	count            uint64
	hasCount         bool
	bounds           []float64
	counts           []uint64
}

// readFiles calls fn with every record batch of the signal's files in dir
// (finished and .partial Arrow files, finished Parquet files).
func readFiles(t *testing.T, dir, sig string, fn func(arrow.RecordBatch)) {
	t.Helper()
	root := filepath.Join(dir, "otlp", sig)
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range entries {
		p := filepath.Join(root, de.Name())
		switch {
		case strings.HasSuffix(p, ".parquet"):
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			pf, err := file.NewParquetReader(f)
			if err != nil {
				t.Fatal(err)
			}
			fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
			if err != nil {
				t.Fatal(err)
			}
			rr, err := fr.GetRecordReader(context.Background(), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			for rr.Next() {
				fn(rr.RecordBatch())
			}
			rr.Release()
			pf.Close()
		case strings.HasSuffix(p, ".arrows"), strings.HasSuffix(p, ".arrows.partial"):
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			r, err := ipc.NewReader(f)
			if err != nil {
				f.Close()
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					continue // a .partial file with no schema yet
				}
				t.Fatal(err)
			}
			for r.Next() {
				fn(r.RecordBatch())
			}
			r.Release()
			f.Close()
		}
	}
}

func col(rec arrow.RecordBatch, name string) arrow.Array {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return nil
	}
	return rec.Column(idx[0])
}

func strAt(a arrow.Array, i int) string {
	if a == nil || a.IsNull(i) {
		return ""
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i)
	case *array.Dictionary:
		return strAt(a.Dictionary(), a.GetValueIndex(i))
	}
	return a.ValueStr(i)
}

func hexAt(a arrow.Array, i int) string {
	if a == nil || a.IsNull(i) {
		return ""
	}
	return hex.EncodeToString(a.(*array.FixedSizeBinary).Value(i))
}

func tsAt(a arrow.Array, i int) int64 {
	if a == nil || a.IsNull(i) {
		return 0
	}
	return int64(a.(*array.Timestamp).Value(i))
}

func mapLookup(a arrow.Array, i int, key string) (string, bool) {
	m, ok := a.(*array.Map)
	if !ok || m.IsNull(i) {
		return "", false
	}
	start, end := m.ValueOffsets(i)
	for j := start; j < end; j++ {
		if strAt(m.Keys(), int(j)) == key {
			return strAt(m.Items(), int(j)), true
		}
	}
	return "", false
}

func refSpans(t *testing.T, dir string) []refSpan {
	var out []refSpan
	readFiles(t, dir, "traces", func(rec arrow.RecordBatch) {
		attrs, status := col(rec, "attributes_str"), col(rec, "status_code")
		for i := range int(rec.NumRows()) {
			s := refSpan{
				svc: strAt(col(rec, "service_name"), i), name: strAt(col(rec, "name"), i),
				start: tsAt(col(rec, "start_time"), i), end: tsAt(col(rec, "end_time"), i),
				traceID: hexAt(col(rec, "trace_id"), i), parentID: hexAt(col(rec, "parent_span_id"), i), status: -1,
			}
			s.route, s.hasRoute = mapLookup(attrs, i, "http.route")
			if !status.IsNull(i) {
				s.status = int64(status.(*array.Int32).Value(i))
			}
			out = append(out, s)
		}
	})
	return out
}

func refLogs(t *testing.T, dir string) []refLog {
	var out []refLog
	readFiles(t, dir, "logs", func(rec arrow.RecordBatch) {
		for i := range int(rec.NumRows()) {
			out = append(out, refLog{
				time: tsAt(col(rec, "time"), i), svc: strAt(col(rec, "service_name"), i),
				sev: strAt(col(rec, "severity_text"), i), body: strAt(col(rec, "body"), i),
				traceID: hexAt(col(rec, "trace_id"), i), spanID: hexAt(col(rec, "span_id"), i),
			})
		}
	})
	return out
}

func refPoints(t *testing.T, dir string) []refPoint {
	var out []refPoint
	readFiles(t, dir, "metrics", func(rec arrow.RecordBatch) {
		counts, bounds, cnt := col(rec, "bucket_counts"), col(rec, "explicit_bounds"), col(rec, "count")
		for i := range int(rec.NumRows()) {
			p := refPoint{time: tsAt(col(rec, "time"), i), svc: strAt(col(rec, "service_name"), i),
				metric: strAt(col(rec, "metric_name"), i), typ: strAt(col(rec, "metric_type"), i)}
			if !cnt.IsNull(i) {
				p.count, p.hasCount = cnt.(*array.Uint64).Value(i), true
			}
			if l := counts.(*array.List); !l.IsNull(i) {
				s, e := l.ValueOffsets(i)
				p.counts = slices.Clone(l.ListValues().(*array.Uint64).Uint64Values()[s:e])
			}
			if l := bounds.(*array.List); !l.IsNull(i) {
				s, e := l.ValueOffsets(i)
				p.bounds = slices.Clone(l.ListValues().(*array.Float64).Float64Values()[s:e])
			}
			out = append(out, p)
		}
	})
	return out
}

// quantileCont is DuckDB's quantile_cont: linear interpolation between the
// closest ranks.
func quantileCont(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := math.Floor(pos)
	hi := math.Ceil(pos)
	return s[int(lo)] + (s[int(hi)]-s[int(lo)])*(pos-lo)
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
