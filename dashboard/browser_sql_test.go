package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/otlp-arrow/otlp-arrow/dashboard"
	"github.com/otlp-arrow/otlp-arrow/query"
	"github.com/otlp-arrow/otlp-arrow/query/querytest"
)

// sqlDashboard serves a dashboard over files the writer wrote from
// querytest's known data.
func sqlDashboard(t *testing.T, d querytest.Data) string {
	t.Helper()
	dir := t.TempDir()
	querytest.Write(t, dir, "arrow", d)
	dash, err := dashboard.New(dashboard.Config{OutputDir: dir, Addr: "127.0.0.1:0", NoListen: true, IndexInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dash.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	srv := httptest.NewServer(dash)
	t.Cleanup(srv.Close)
	return srv.URL
}

// spansPerMinute counts the spans of d per (minute, service), as
// "2026-03-04T05:06:00Z service n" lines in order.
func spansPerMinute(d querytest.Data) []string {
	n := map[[2]string]int{}
	for _, r := range d.Traces {
		for _, rs := range r.ResourceSpans {
			svc := rs.Resource.Attributes[0].Value.GetStringValue()
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					m := time.Unix(0, int64(s.StartTimeUnixNano)).UTC().Truncate(time.Minute).Format(time.RFC3339)
					n[[2]string{m, svc}]++
				}
			}
		}
	}
	var out []string
	for k, v := range n {
		out = append(out, fmt.Sprintf("%s %s %d", k[0], k[1], v))
	}
	slices.Sort(out)
	return out
}

func postSQL(t *testing.T, base, sql string) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"sql": sql})
	resp, err := http.Post(base+"/api/sql", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("POST /api/sql %q: %d, %v", sql, resp.StatusCode, err)
	}
	return resp.StatusCode, v
}

// TestSQLAPI: POST /api/sql answers a result, and the status codes of the
// API for a bad query, a refused one and one past the row cap; the
// examples list equals the engine's.
func TestSQLAPI(t *testing.T) {
	if !query.Available {
		t.Skip("built without SQL")
	}
	d := querytest.Generate(21, 400)
	base := sqlDashboard(t, d)
	code, v := postSQL(t, base, "SELECT date_trunc('minute', start_time) AS minute, service_name, count(*) AS spans FROM traces GROUP BY ALL ORDER BY ALL")
	if code != http.StatusOK {
		t.Fatalf("%d %v", code, v)
	}
	var got []string
	for _, r := range v["rows"].([]any) {
		row := r.([]any)
		got = append(got, fmt.Sprintf("%s %s %v", row[0], row[1], row[2]))
	}
	if want := spansPerMinute(d); !slices.Equal(got, want) {
		t.Errorf("rows\n got %v\nwant %v", got, want)
	}
	if cols := fmt.Sprint(v["columns"]); cols != "[map[name:minute type:TIMESTAMPTZ] map[name:service_name type:VARCHAR] map[name:spans type:BIGINT]]" {
		t.Errorf("columns %s", cols)
	}
	for _, c := range []struct {
		sql  string
		code int
		want string
	}{
		{"SELECT nosuchcolumn FROM traces", http.StatusBadRequest, "nosuchcolumn"},
		{"DROP TABLE traces", http.StatusBadRequest, "only SELECT"},
		{"SELECT * FROM read_csv('/etc/passwd')", http.StatusBadRequest, "not allowed"},
		{"SELECT * FROM range(20000)", http.StatusUnprocessableEntity, "more than 10000 rows"},
	} {
		code, v := postSQL(t, base, c.sql)
		if code != c.code || !strings.Contains(fmt.Sprint(v["error"]), c.want) {
			t.Errorf("%s: %d %v, want %d %q", c.sql, code, v["error"], c.code, c.want)
		}
	}
	if _, v := postSQL(t, base, "SELECT * FROM range(20000)"); v["truncated"] != true || len(v["rows"].([]any)) != 10000 {
		t.Errorf("past the row cap: truncated %v, %d rows", v["truncated"], len(v["rows"].([]any)))
	}
	var ex struct {
		Examples []query.Example `json:"examples"`
	}
	if err := json.Unmarshal(getJSON(t, base, "/api/sql/examples"), &ex); err != nil || !slices.Equal(ex.Examples, query.Examples) {
		t.Errorf("examples %v %v", ex, err)
	}
}

// TestBrowserSQL: a query typed in the SQL box shows the expected rows
// and a chart of them; an example runs from the list; the history keeps
// the queries; a bad query shows the engine's error.
func TestBrowserSQL(t *testing.T) {
	if !query.Available {
		t.Skip("built without SQL")
	}
	d := querytest.Generate(22, 600)
	base := sqlDashboard(t, d)
	p := newPage(t, base)
	p.open("#/sql")
	p.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('sql-input').value = ''`))
	sql := "SELECT date_trunc('minute', start_time) AS minute, service_name, count(*) AS spans FROM traces GROUP BY ALL ORDER BY ALL"
	p.typeInto("#sql-input", sql)
	p.click("#sql-run")
	want := spansPerMinute(d)
	p.waitText("#sql-summary", fmt.Sprintf("%d rows", len(want)))
	rows := eval[[][]string](p, `[...document.querySelectorAll('#sql-results tbody tr')].map(tr => [...tr.children].map(td => td.innerText.trim()))`)
	var got []string
	for _, r := range rows {
		tm, err := time.Parse(time.RFC3339, r[0])
		if err != nil {
			t.Fatalf("time cell %q: %v", r[0], err)
		}
		got = append(got, fmt.Sprintf("%s %s %s", tm.UTC().Format(time.RFC3339), r[1], r[2]))
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows\n got %v\nwant %v", got, want)
	}
	// A chart: one line per service.
	services := map[string]bool{}
	for _, w := range want {
		services[strings.Fields(w)[1]] = true
	}
	series := p.attrs("#sql-chart svg g.series", "data-label")
	if len(series) != len(services) {
		t.Errorf("chart series %q, want one per service of %v", series, services)
	}
	for _, s := range series {
		if !services[strings.TrimSuffix(s, " · spans")] {
			t.Errorf("chart series %q", s)
		}
	}
	if hash := eval[string](p, `location.hash`); !strings.HasPrefix(hash, "#/sql?q=SELECT") {
		t.Errorf("the URL does not hold the query: %s", hash)
	}
	p.screenshot("sql")

	// An example from the list.
	p.do(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById('sql-examples');
		s.value = [...s.options].find(o => o.text === 'Slowest routes').value; s.dispatchEvent(new Event('change')); })()`))
	p.waitText("#sql-summary", fmt.Sprintf("%d rows", len(querytest.Routes)))
	if routes := p.texts("#sql-results tbody tr td:first-child"); len(routes) != len(querytest.Routes) {
		t.Errorf("slowest routes %q", routes)
	}
	history := eval[[]string](p, `JSON.parse(localStorage.getItem('otlp-arrow-sql-history'))`)
	if len(history) != 2 || history[1] != sql {
		t.Errorf("history %q", history)
	}
	p.noErrors()

	// A bad query says what is wrong.
	p.ignoreAPI = true
	p.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('sql-input').value = 'SELECT nosuchcolumn FROM traces'`))
	p.click("#sql-run")
	p.waitText("#sql-error", "nosuchcolumn")
	p.noErrors()
}
