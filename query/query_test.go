//go:build cgo && !nosql

package query

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otlp-arrow/otlp-arrow/query/querytest"
	"github.com/otlp-arrow/otlp-arrow/writer"
)

func open(t *testing.T, opts Options) *Engine {
	t.Helper()
	e, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

func run(t *testing.T, e *Engine, q string) *Result {
	t.Helper()
	res, err := e.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s\n-> %v", q, err)
	}
	return res
}

// byName returns a function giving row[i]'s value of the named column.
func byName(t *testing.T, res *Result) func(row []any, name string) any {
	idx := map[string]int{}
	for i, c := range res.Columns {
		idx[c.Name] = i
	}
	return func(row []any, name string) any {
		i, ok := idx[name]
		if !ok {
			t.Fatalf("no column %q in %v", name, res.Columns)
		}
		return row[i]
	}
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func example(t *testing.T, title string) string {
	t.Helper()
	for _, ex := range Examples {
		if ex.Title == title {
			return ex.SQL
		}
	}
	t.Fatalf("no example %q", title)
	return ""
}

// checkExamples runs every example on e and compares each answer with the
// same figure computed from the files in dir by arrow-go.
func checkExamples(t *testing.T, e *Engine, dir string) {
	t.Helper()
	spans, logs, points := refSpans(t, dir), refLogs(t, dir), refPoints(t, dir)
	if len(spans) == 0 || len(logs) == 0 || len(points) == 0 {
		t.Fatalf("no reference rows: %d spans, %d logs, %d points", len(spans), len(logs), len(points))
	}
	t.Run("slowest routes", func(t *testing.T) {
		durs := map[string][]float64{}
		for _, s := range spans {
			if s.hasRoute {
				durs[s.route] = append(durs[s.route], s.durMS())
			}
		}
		res := run(t, e, example(t, "Slowest routes"))
		v := byName(t, res)
		if len(res.Rows) != len(durs) {
			t.Fatalf("%d routes, want %d", len(res.Rows), len(durs))
		}
		last := math.Inf(1)
		for _, row := range res.Rows {
			d := durs[v(row, "route").(string)]
			var sum float64
			for _, x := range d {
				sum += x
			}
			if got := v(row, "spans").(int64); got != int64(len(d)) {
				t.Errorf("%v: spans %d, want %d", row, got, len(d))
			}
			for col, want := range map[string]float64{"avg_ms": sum / float64(len(d)), "p99_ms": quantileCont(d, 0.99), "max_ms": slices.Max(d)} {
				if got := v(row, col).(float64); !near(got, round(want, 3), 0.0011) {
					t.Errorf("%v: %s %v, want %v", row, col, got, want)
				}
			}
			p99 := v(row, "p99_ms").(float64)
			if p99 > last {
				t.Errorf("not by p99 descending: %v after %v", p99, last)
			}
			last = p99
		}
	})
	t.Run("error rate per service per minute", func(t *testing.T) {
		type key struct {
			minute time.Time
			svc    string
		}
		type agg struct{ spans, errors int64 }
		want := map[key]*agg{}
		for _, s := range spans {
			k := key{time.Unix(0, s.start).UTC().Truncate(time.Minute), s.svc}
			if want[k] == nil {
				want[k] = &agg{}
			}
			want[k].spans++
			if s.status == 2 {
				want[k].errors++
			}
		}
		res := run(t, e, example(t, "Error rate per service per minute"))
		v := byName(t, res)
		if len(res.Rows) != len(want) {
			t.Fatalf("%d rows, want %d", len(res.Rows), len(want))
		}
		var prev key
		for i, row := range res.Rows {
			k := key{v(row, "minute").(time.Time), v(row, "service_name").(string)}
			w := want[k]
			if w == nil {
				t.Fatalf("unexpected row %v", row)
			}
			if v(row, "spans").(int64) != w.spans || v(row, "errors").(int64) != w.errors {
				t.Errorf("%v: want %d spans, %d errors", row, w.spans, w.errors)
			}
			if got, pct := v(row, "error_pct").(float64), 100*float64(w.errors)/float64(w.spans); !near(got, round(pct, 2), 0.011) {
				t.Errorf("%v: error_pct want %v", row, pct)
			}
			if i > 0 && (k.minute.Before(prev.minute) || k.minute.Equal(prev.minute) && k.svc < prev.svc) {
				t.Errorf("row %v out of order", row)
			}
			prev = k
		}
	})
	t.Run("p50 and p99 per span name", func(t *testing.T) {
		durs := map[[2]string][]float64{}
		for _, s := range spans {
			k := [2]string{s.svc, s.name}
			durs[k] = append(durs[k], s.durMS())
		}
		res := run(t, e, example(t, "p50 and p99 duration per span name"))
		v := byName(t, res)
		if len(res.Rows) != len(durs) {
			t.Fatalf("%d rows, want %d", len(res.Rows), len(durs))
		}
		for _, row := range res.Rows {
			d := durs[[2]string{v(row, "service_name").(string), v(row, "name").(string)}]
			if v(row, "spans").(int64) != int64(len(d)) {
				t.Errorf("%v: want %d spans", row, len(d))
			}
			if got, want := v(row, "p50_ms").(float64), quantileCont(d, 0.5); !near(got, round(want, 3), 0.0011) {
				t.Errorf("%v: p50 want %v", row, want)
			}
			if got, want := v(row, "p99_ms").(float64), quantileCont(d, 0.99); !near(got, round(want, 3), 0.0011) {
				t.Errorf("%v: p99 want %v", row, want)
			}
		}
	})
	t.Run("log records of a trace", func(t *testing.T) {
		var slow *refSpan
		for i, s := range spans {
			if s.status != 2 {
				continue
			}
			if slow == nil || s.durMS() > slow.durMS() || s.durMS() == slow.durMS() && s.traceID < slow.traceID {
				slow = &spans[i]
			}
		}
		var want []refLog
		for _, l := range logs {
			if l.traceID == slow.traceID {
				want = append(want, l)
			}
		}
		slices.SortFunc(want, func(a, b refLog) int {
			if c := a.time - b.time; c != 0 {
				return int(c)
			}
			return strings.Compare(a.spanID, b.spanID)
		})
		res := run(t, e, example(t, "Log records of a trace"))
		v := byName(t, res)
		if len(res.Rows) != len(want) || len(want) == 0 {
			t.Fatalf("%d rows, want %d", len(res.Rows), len(want))
		}
		for i, row := range res.Rows {
			w := want[i]
			if got := v(row, "time").(time.Time).UnixMicro(); got != (w.time+500)/1000 {
				t.Errorf("row %d: time %d µs, want %d ns", i, got, w.time)
			}
			if v(row, "service_name") != w.svc || v(row, "severity_text") != w.sev || v(row, "body") != w.body || v(row, "span_id") != w.spanID {
				t.Errorf("row %d: %v, want %+v", i, row, w)
			}
		}
	})
	t.Run("histogram p99", func(t *testing.T) {
		var want []string
		for _, p := range points {
			if p.typ != "histogram" || !p.hasCount || p.count == 0 {
				continue
			}
			var cum uint64
			var le any
			for i, c := range p.counts {
				cum += c
				if float64(cum) >= 0.99*float64(p.count) {
					if i < len(p.bounds) {
						le = p.bounds[i]
					}
					break
				}
			}
			want = append(want, fmt.Sprint(p.metric, p.svc, p.time, p.count, le))
		}
		res := run(t, e, example(t, "A histogram's p99 from its buckets"))
		v := byName(t, res)
		var got []string
		for _, row := range res.Rows {
			got = append(got, fmt.Sprint(v(row, "metric_name"), v(row, "service_name"), v(row, "time").(time.Time).UnixNano(), v(row, "count"), v(row, "p99_le")))
		}
		slices.Sort(want)
		slices.Sort(got)
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("p99 per point:\n got %v\nwant %v", got, want)
		}
	})
	t.Run("rows per service", func(t *testing.T) {
		want := map[[2]string]int64{}
		for _, s := range spans {
			want[[2]string{s.svc, "traces"}]++
		}
		for _, p := range points {
			want[[2]string{p.svc, "metrics"}]++
		}
		for _, l := range logs {
			want[[2]string{l.svc, "logs"}]++
		}
		res := run(t, e, example(t, "Spans, data points and log records per service"))
		v := byName(t, res)
		if len(res.Rows) != len(want) {
			t.Fatalf("%d rows, want %d", len(res.Rows), len(want))
		}
		for _, row := range res.Rows {
			if got, w := v(row, "rows").(int64), want[[2]string{v(row, "service_name").(string), v(row, "signal").(string)}]; got != w {
				t.Errorf("%v: want %d", row, w)
			}
		}
	})
}

// TestExamples runs the examples over Arrow and Parquet files written by
// the writer, finished and still open, and again as an open file grows
// and is finished: every answer equals the one arrow-go computes. One
// trace file is in the traces/v2 layout, which arrow-go reads as it is.
func TestExamples(t *testing.T) {
	if len(Examples) < 5 {
		t.Fatalf("%d examples", len(Examples))
	}
	dir := t.TempDir()
	querytest.Write(t, dir, "arrow", querytest.Generate(1, 1500))
	querytest.Write(t, dir, "parquet", querytest.Generate(2, 800))
	querytest.WriteWith(t, dir, func(c *writer.Config) { c.TracesSchema = "v2" }, querytest.Generate(5, 600))
	live := querytest.Start(t, dir, "arrow")
	live.Publish(t, querytest.Generate(3, 400))
	if !hasPartial(t, dir) {
		t.Fatal("no .partial file: the test wants one")
	}
	e := open(t, Options{OutputDir: dir})
	t.Run("with an open file", func(t *testing.T) { checkExamples(t, e, dir) })
	live.Publish(t, querytest.Generate(4, 300))
	t.Run("after it grew", func(t *testing.T) { checkExamples(t, e, dir) })
	live.Stop(t)
	if hasPartial(t, dir) {
		t.Fatal("a .partial file is left after the writer stopped")
	}
	t.Run("after it was finished", func(t *testing.T) { checkExamples(t, e, dir) })
	// A file removed (the janitor) takes its rows with it.
	victim := firstFile(t, dir, "traces", ".parquet")
	if err := os.Remove(victim); err != nil {
		t.Fatal(err)
	}
	t.Run("after a file was removed", func(t *testing.T) { checkExamples(t, e, dir) })
}

func hasPartial(t *testing.T, dir string) bool {
	m, err := filepath.Glob(filepath.Join(dir, "otlp", "*", "*.partial"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m) > 0
}

func firstFile(t *testing.T, dir, sig, ext string) string {
	m, err := filepath.Glob(filepath.Join(dir, "otlp", sig, "*"+ext))
	if err != nil || len(m) == 0 {
		t.Fatalf("no %s file of %s: %v", ext, sig, err)
	}
	return m[0]
}

// TestAttributesAndSchema: one attribute is one expression, and the
// schema lists the files' columns plus duration_ms, with trace files in
// either layout.
func TestAttributesAndSchema(t *testing.T) {
	for _, v := range []string{"v1", "v2"} {
		t.Run("traces_schema="+v, func(t *testing.T) { attributesAndSchema(t, v) })
	}
}

func attributesAndSchema(t *testing.T, tracesSchema string) {
	dir := t.TempDir()
	querytest.WriteWith(t, dir, func(c *writer.Config) { c.TracesSchema = tracesSchema }, querytest.Generate(5, 200))
	e := open(t, Options{OutputDir: dir})
	run(t, e, "SELECT 1")
	if len(e.files) != 0 {
		t.Errorf("SELECT 1 loaded %d files", len(e.files))
	}
	res := run(t, e, `SELECT attributes_str['http.route'] AS route, attributes_int['http.response.status_code'] AS code,
		resource_attributes_str['service.name'] = service_name AS same, lower(hex(trace_id)) = trace_id::VARCHAR AS x
		FROM traces WHERE parent_span_id IS NULL LIMIT 1`)
	if len(res.Rows) != 1 {
		t.Fatalf("rows %v", res.Rows)
	}
	for key, l := range e.files { // a query over traces loads no other table
		if l.signal != "traces" {
			t.Errorf("a query of traces loaded %s", key)
		}
	}
	files := e.ix.Files("traces", time.Time{}, time.Time{})
	for _, f := range files {
		if f.SchemaVersion != "traces/"+tracesSchema {
			t.Errorf("%s: schema version %s, want traces/%s", f.Path, f.SchemaVersion, tracesSchema)
		}
	}
	if len(files) == 0 {
		t.Error("no trace file")
	}
	row := res.Rows[0]
	if !slices.Contains(querytest.Routes, row[0].(string)) || (row[1] != int64(200) && row[1] != int64(500)) || row[2] != true {
		t.Errorf("row %v", row)
	}
	for _, table := range Tables {
		cols, err := e.Schema(table)
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]string{}
		for _, c := range cols {
			names[c.Name] = c.Type
		}
		for _, want := range []string{"service_name", "attributes_str", "resource_attributes_int", "scope_name"} {
			if names[want] == "" {
				t.Errorf("%s: no column %s in %v", table, want, cols)
			}
		}
		if _, ok := names["_file"]; ok {
			t.Errorf("%s shows the internal _file column", table)
		}
	}
	cols, _ := e.Schema("traces")
	types := map[string]string{}
	for _, c := range cols {
		types[c.Name] = c.Type
	}
	if types["duration_ms"] != "DOUBLE" || types["start_time"] != "TIMESTAMP WITH TIME ZONE" || types["attributes_str"] != "MAP(VARCHAR, VARCHAR)" || types["trace_id"] != "BLOB" {
		t.Errorf("types %v", types)
	}
	if _, err := e.Schema("spans"); !errors.Is(err, ErrBadQuery) {
		t.Errorf("Schema(spans): %v", err)
	}
}

// TestHostile: statements that would write, reach files, change settings
// or load code are refused with a clear error, and the engine still
// answers afterwards.
func TestHostile(t *testing.T) {
	dir := t.TempDir()
	querytest.Write(t, dir, "parquet", querytest.Generate(6, 100))
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.csv")
	if err := os.WriteFile(secret, []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A link planted among the data files leads nowhere either.
	if err := os.Symlink(outside, filepath.Join(dir, "otlp", "link")); err != nil {
		t.Fatal(err)
	}
	e := open(t, Options{OutputDir: dir})
	want := run(t, e, "SELECT count(*) FROM traces").Rows[0][0]
	cases := []struct {
		sql  string
		want string // in the error text ("": any ErrNotAllowed)
	}{
		{"COPY (SELECT * FROM traces) TO '" + filepath.Join(dir, "x.csv") + "'", ""},
		{"COPY traces TO '" + filepath.Join(outside, "x.parquet") + "' (FORMAT parquet)", ""},
		{"EXPORT DATABASE '" + filepath.Join(dir, "export") + "'", ""},
		{"ATTACH '" + filepath.Join(dir, "x.db") + "' AS x", ""},
		{"ATTACH ':memory:' AS m", ""},
		{"DETACH memory", ""},
		{"INSTALL httpfs", ""},
		{"LOAD httpfs", ""},
		{"LOAD '" + filepath.Join(outside, "evil.duckdb_extension") + "'", ""},
		{"SET enable_external_access = true", ""},
		{"SET lock_configuration = false", ""},
		{"RESET allowed_directories", ""},
		{"PRAGMA enable_profiling", ""},
		{"SET VARIABLE x = 1", ""},
		{"CREATE TABLE t AS SELECT 1", ""},
		{"CREATE MACRO m(x) AS x", ""},
		{"CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')", ""},
		{"DROP TABLE _traces", ""},
		{"DROP VIEW traces", ""},
		{"DELETE FROM _traces", ""},
		{"INSERT INTO _traces (service_name) VALUES ('x')", ""},
		{"UPDATE _traces SET name = 'x'", ""},
		{"ALTER TABLE _traces ADD COLUMN y INTEGER", ""},
		{"CHECKPOINT", ""},
		{"VACUUM", ""},
		{"PREPARE p AS SELECT 1", ""},
		{"CALL enable_logging()", ""},
		{"EXPLAIN ANALYZE COPY (SELECT 1) TO '" + filepath.Join(dir, "y.csv") + "'", ""},
		{"BEGIN TRANSACTION", ""},
		{"USE memory", ""},
		{"SELECT 1; DROP TABLE _traces", "one statement"},
		{"SELECT * FROM read_csv('/etc/passwd')", "nothing else"},
		{"SELECT * FROM read_csv('" + secret + "')", "nothing else"},
		{"SELECT * FROM read_csv('" + filepath.Join(dir, "otlp", "link", "secret.csv") + "')", "nothing else"},
		{"SELECT * FROM read_text('" + dir + "/../../etc/passwd')", "nothing else"},
		{"SELECT * FROM read_blob('/proc/self/environ')", "nothing else"},
		{"SELECT * FROM '" + secret + "'", "nothing else"},
		{"SELECT * FROM glob('/*')", "nothing else"},
		{"SELECT * FROM sniff_csv('/etc/passwd')", "nothing else"},
		{"SELECT * FROM read_json('http://127.0.0.1:9/x.json')", "nothing else"},
		{"SELECT * FROM query('DROP TABLE _traces')", "single SELECT"},
		{"SELECT nonsense FROM traces", "nonsense"},
		{"SELECT * FROM spans", "spans"},
		{"SELECT $1", "parameters"},
		{"", "empty"},
	}
	for _, c := range cases {
		res, err := e.Query(context.Background(), c.sql)
		if err == nil {
			t.Errorf("%s: no error, %v", c.sql, res.Rows)
			continue
		}
		if c.want == "" && !errors.Is(err, ErrNotAllowed) || !errors.Is(err, ErrNotAllowed) && !errors.Is(err, ErrBadQuery) {
			t.Errorf("%s: %v", c.sql, err)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %q does not say %q", c.sql, err, c.want)
		}
		// The process is unharmed: the next query still works.
		if got := run(t, e, "SELECT count(*) FROM traces").Rows[0][0]; got != want {
			t.Fatalf("after %s: %v spans, want %v", c.sql, got, want)
		}
	}
	for _, f := range []string{"x.csv", "y.csv", "x.db", "export"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s was created", f)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(outside, "x*")); len(m) > 0 {
		t.Errorf("written outside: %v", m)
	}
	// Settings are locked.
	res := run(t, e, "SELECT current_setting('enable_external_access'), current_setting('lock_configuration'), current_setting('autoinstall_known_extensions')")
	if fmt.Sprint(res.Rows[0]) != "[false true false]" {
		t.Errorf("settings %v", res.Rows[0])
	}
}

// TestLimits: a query past the time limit is cancelled and says so, one
// past the row cap returns the first rows and says so; the next query
// works.
func TestLimits(t *testing.T) {
	dir := t.TempDir()
	querytest.Write(t, dir, "arrow", querytest.Generate(7, 50))
	// The limit is far above what the other queries take even on a busy
	// machine, and far below what the slow one would.
	e := open(t, Options{OutputDir: dir, Timeout: 3 * time.Second, MaxRows: 10})
	_, err := e.Query(context.Background(), "SELECT sum(hash(i)) FROM range(10000000000000) t(i)")
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "3s") {
		t.Errorf("slow query: %v", err)
	}
	res, err := e.Query(context.Background(), "SELECT * FROM range(10000000000000) t(i)")
	if !errors.Is(err, ErrTooManyRows) || !strings.Contains(err.Error(), "more than 10 rows") {
		t.Errorf("big result: %v", err)
	}
	if res == nil || !res.Truncated || len(res.Rows) != 10 || res.Rows[9][0] != int64(9) {
		t.Errorf("big result: %+v", res)
	}
	res = run(t, e, "SELECT * FROM range(10)")
	if res.Truncated || len(res.Rows) != 10 {
		t.Errorf("10 rows: %+v", res)
	}
	if got := run(t, e, "SELECT count(*) FROM traces").Rows[0][0]; got != int64(50) {
		t.Errorf("spans %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Query(ctx, "SELECT 1"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestWindow: Since and Until keep the rows of the window and read only
// the files that overlap it.
func TestWindow(t *testing.T) {
	dir := t.TempDir()
	day1, day2 := querytest.Base, querytest.Base.Add(24*time.Hour)
	querytest.Write(t, dir, "arrow", querytest.GenerateAt(8, 300, day1))
	querytest.Write(t, dir, "arrow", querytest.GenerateAt(9, 300, day2))
	from, to := day2.Add(time.Minute), day2.Add(3*time.Minute)
	var want int64
	for _, s := range refSpans(t, dir) {
		if s.start >= from.UnixNano() && s.start < to.UnixNano() {
			want++
		}
	}
	e := open(t, Options{OutputDir: dir, Since: from, Until: to})
	res := run(t, e, "SELECT count(*), min(start_time) >= TIMESTAMPTZ '"+from.Format(time.RFC3339)+"', max(start_time) < TIMESTAMPTZ '"+to.Format(time.RFC3339)+"' FROM traces")
	if fmt.Sprint(res.Rows[0]) != fmt.Sprintf("[%d true true]", want) || want == 0 {
		t.Errorf("window: %v, want %d spans", res.Rows[0], want)
	}
	for key := range e.files {
		if strings.Contains(key, day1.Format("20060102")) {
			t.Errorf("read %s, outside the window", key)
		}
	}
	all := open(t, Options{OutputDir: dir})
	if got := run(t, all, "SELECT count(*) FROM traces").Rows[0][0]; got != int64(600) {
		t.Errorf("all: %v spans", got)
	}
}
