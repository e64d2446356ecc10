package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/otlp-arrow/otlp-arrow/query"
	"github.com/otlp-arrow/otlp-arrow/query/querytest"
)

func runQuery(t *testing.T, environ []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = mainEnv(context.Background(), append([]string{"query"}, args...), &cmdEnv{stdout: &out, stderr: &errb, environ: environ})
	return out.String(), errb.String(), code
}

// TestQueryCommand: the query subcommand over files written by the
// writer, in every output format, with the schema listing, a time window,
// the configured output dir and the errors a user sees.
func TestQueryCommand(t *testing.T) {
	if !query.Available {
		t.Skip("built without SQL")
	}
	dir := t.TempDir()
	querytest.Write(t, dir, "arrow", querytest.Generate(1, 300))
	q := "SELECT service_name, count(*) AS spans, max(start_time) AS last, round(avg(duration_ms), 3) AS avg_ms FROM traces GROUP BY ALL ORDER BY service_name"

	out, errs, code := runQuery(t, nil, "--output-dir", dir, q)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[0], "service_name | spans | last") || !strings.HasPrefix(lines[1], "-----") ||
		!strings.HasPrefix(lines[len(lines)-1], "(") || !strings.HasSuffix(lines[len(lines)-1], ")") {
		t.Errorf("table:\n%s", out)
	}
	// Aligned: every line has its column separators at the same places.
	sep := strings.Index(lines[0], " | ")
	for _, l := range lines[1 : len(lines)-1] {
		if strings.Index(l, " | ") != sep && !strings.HasPrefix(l, "---") {
			t.Errorf("not aligned:\n%s", out)
		}
	}

	// JSON lines, with the flags after the query; the output dir from the configuration.
	out, errs, code = runQuery(t, []string{"OTLP_OUTPUT_DIR=" + dir}, q, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var total int64
	var services []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var row struct {
			Service string    `json:"service_name"`
			Spans   int64     `json:"spans"`
			Last    time.Time `json:"last"`
			Avg     float64   `json:"avg_ms"`
		}
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		if row.Last.Before(querytest.Base) || row.Avg <= 0 {
			t.Errorf("row %+v", row)
		}
		total += row.Spans
		services = append(services, row.Service)
	}
	if total != 300 || len(services) == 0 {
		t.Errorf("json: %d spans of %v", total, services)
	}

	out, errs, code = runQuery(t, nil, "--output-dir", dir, "--format", "csv", q)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(recs) != len(services)+1 || strings.Join(recs[0], ",") != "service_name,spans,last,avg_ms" {
		t.Errorf("csv (exit %d, %v): %s %s", code, err, out, errs)
	}

	out, errs, code = runQuery(t, nil, "--output-dir", dir, "--format", "arrow", q)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r, err := ipc.NewReader(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var arrowSpans int64
	for r.Next() {
		rec := r.RecordBatch()
		if rec.Schema().Field(2).Type.String() != "timestamp[ns, tz=UTC]" {
			t.Errorf("arrow schema %v", rec.Schema())
		}
		for _, v := range rec.Column(1).(*array.Int64).Int64Values() {
			arrowSpans += v
		}
	}
	r.Release()
	if arrowSpans != 300 {
		t.Errorf("arrow: %d spans", arrowSpans)
	}

	out, _, code = runQuery(t, nil, "--output-dir", dir, "--schema", "traces")
	if code != 0 || !strings.Contains(out, "attributes_str") || !strings.Contains(out, "MAP(VARCHAR, VARCHAR)") || !strings.Contains(out, "duration_ms") {
		t.Errorf("schema (exit %d):\n%s", code, out)
	}

	// A time window: the spans of the second minute.
	from := querytest.Base.Add(time.Minute)
	out, errs, code = runQuery(t, nil, "--output-dir", dir, "--since", from.Format(time.RFC3339), "--until", from.Add(time.Minute).Format(time.RFC3339),
		"--format", "csv", "SELECT count(*) AS n, min(start_time) >= TIMESTAMPTZ '"+from.Format(time.RFC3339)+"' AS ok FROM traces")
	if code != 0 || !strings.Contains(out, ",true") || strings.Contains(out, "\n300,") {
		t.Errorf("window (exit %d): %s %s", code, out, errs)
	}

	for _, c := range []struct{ args []string }{
		{[]string{"--output-dir", dir, "SELECT nosuchcolumn FROM traces"}},
		{[]string{"--output-dir", dir, "SELECT * FROM nosuchtable"}},
		{[]string{"--output-dir", dir, "DROP TABLE traces"}},
		{[]string{"--output-dir", dir, "--format", "yaml", "SELECT 1"}},
		{[]string{"--output-dir", dir, "--since", "yesterday", "SELECT 1"}},
		{[]string{"--output-dir", dir + "/nonexistent", "SELECT 1"}},
		{[]string{"--output-dir", dir}},
	} {
		_, errs, code := runQuery(t, nil, c.args...)
		last := c.args[len(c.args)-1]
		word := map[string]string{"SELECT nosuchcolumn FROM traces": "nosuchcolumn", "SELECT * FROM nosuchtable": "nosuchtable",
			"DROP TABLE traces": "only SELECT", dir: "give one SQL query"}[last]
		if code == 0 || !strings.Contains(errs, word) {
			t.Errorf("%v: exit %d, stderr %q (want %q)", c.args, code, errs, word)
		}
	}

	// A query that starts with a comment is not a flag.
	out, errs, code = runQuery(t, nil, "--output-dir", dir, "--format", "csv", "-- spans\nSELECT count(*) AS n FROM traces")
	if code != 0 || out != "n\n300\n" {
		t.Errorf("commented query (exit %d): %q %q", code, out, errs)
	}

	// Past the row cap: the first rows, then an error.
	out, errs, code = runQuery(t, nil, "--output-dir", dir, "--max-rows", "5", "--format", "csv", "SELECT * FROM range(100)")
	if code == 0 || strings.Count(out, "\n") != 6 || !strings.Contains(errs, "more than 5 rows") {
		t.Errorf("row cap (exit %d): %q %q", code, out, errs)
	}
}
