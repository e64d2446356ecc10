package dashboard

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

func id16(b byte) []byte { return bytes.Repeat([]byte{b}, 16) }
func id8(b byte) []byte  { return bytes.Repeat([]byte{b}, 8) }

// span builds a span of trace tb starting at off for dur.
func span(tb, sb, parent byte, name string, off, dur time.Duration, attrs ...*commonpb.KeyValue) *tracepb.Span {
	s := &tracepb.Span{TraceId: id16(tb), SpanId: id8(sb), Name: name, Kind: tracepb.Span_SPAN_KIND_SERVER,
		StartTimeUnixNano: nanos(base.Add(off)), EndTimeUnixNano: nanos(base.Add(off + dur)), Attributes: attrs}
	if parent != 0 {
		s.ParentSpanId = id8(parent)
	}
	return s
}

func rs(svc string, spans ...*tracepb.Span) *tracepb.ResourceSpans {
	return &tracepb.ResourceSpans{Resource: resource(svc), ScopeSpans: []*tracepb.ScopeSpans{{
		Scope: &commonpb.InstrumentationScope{Name: "test", Version: "1"}, Spans: spans}}}
}

// fixture writes three traces (one in Parquet), logs and metrics.
//
//	trace 1: front "GET /a" 100 ms (http.route=/a) > db "query" 30 ms
//	trace 2: front "GET /b" 500 ms (http.route=/b) > db "query" 400 ms, error
//	trace 3: worker "job" 10 ms, at +1 h
func fixture(t testing.TB) string {
	dir := t.TempDir()
	bad := span(2, 4, 3, "query", 50*time.Millisecond, 400*time.Millisecond)
	bad.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "boom"}
	bad.Events = []*tracepb.Span_Event{{TimeUnixNano: nanos(base.Add(60 * time.Millisecond)), Name: "retry",
		Attributes: []*commonpb.KeyValue{kv("n", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 2}})}}}
	bad.Links = []*tracepb.Span_Link{{TraceId: id16(1), SpanId: id8(1)}}
	writeFile(t, dir, "traces", tracesRecord(t, []*tracepb.ResourceSpans{
		rs("front", span(1, 1, 0, "GET /a", 0, 100*time.Millisecond, kv("http.route", str("/a"))),
			span(2, 3, 0, "GET /b", 10*time.Millisecond, 500*time.Millisecond, kv("http.route", str("/b")))),
	}), false)
	writeFile(t, dir, "traces", tracesRecord(t, []*tracepb.ResourceSpans{
		rs("db", span(1, 2, 1, "query", 20*time.Millisecond, 30*time.Millisecond), bad),
	}), true)
	writeFile(t, dir, "traces", tracesRecord(t, []*tracepb.ResourceSpans{
		rs("worker", span(3, 5, 0, "job", time.Hour, 10*time.Millisecond)),
	}), false)

	kvBody := &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{
		Values: []*commonpb.KeyValue{kv("user", str("ada"))}}}}
	writeFile(t, dir, "logs", logsRecord(t, []*logspb.ResourceLogs{{Resource: resource("front"), ScopeLogs: []*logspb.ScopeLogs{{
		LogRecords: []*logspb.LogRecord{
			{TimeUnixNano: nanos(base.Add(5 * time.Millisecond)), SeverityNumber: 9, SeverityText: "INFO", Body: str("handling GET /a"),
				TraceId: id16(1), SpanId: id8(1)},
			{TimeUnixNano: nanos(base.Add(20 * time.Millisecond)), SeverityNumber: 17, SeverityText: "ERROR", Body: kvBody,
				TraceId: id16(2), SpanId: id8(4), Attributes: []*commonpb.KeyValue{kv("code", str("E42"))}},
			{TimeUnixNano: nanos(base.Add(time.Hour)), SeverityNumber: 5, Body: str("tick")},
		}}}}}), false)

	var sumPts, gaugePts []*metricspb.NumberDataPoint
	var histPts []*metricspb.HistogramDataPoint
	for i, v := range []int64{0, 10, 30} {
		at := nanos(base.Add(time.Duration(i) * 10 * time.Second))
		sumPts = append(sumPts, &metricspb.NumberDataPoint{StartTimeUnixNano: nanos(base.Add(-time.Second)), TimeUnixNano: at,
			Value: &metricspb.NumberDataPoint_AsInt{AsInt: v}, Attributes: []*commonpb.KeyValue{kv("route", str("/a"))}})
		gaugePts = append(gaugePts, &metricspb.NumberDataPoint{TimeUnixNano: at, Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: 1.5 * float64(i)}})
		histPts = append(histPts, &metricspb.HistogramDataPoint{StartTimeUnixNano: nanos(base.Add(-time.Second)), TimeUnixNano: at,
			Count: uint64(10 * (i + 1)), Sum: ptr(float64(100 * (i + 1))), ExplicitBounds: []float64{1, 10, 100},
			BucketCounts: []uint64{0, uint64(10 * (i + 1)), 0, 0},
			Exemplars:    []*metricspb.Exemplar{{TimeUnixNano: at, Value: &metricspb.Exemplar_AsDouble{AsDouble: 5}, TraceId: id16(1), SpanId: id8(1)}}})
	}
	writeFile(t, dir, "metrics", metricsRecord(t, []*metricspb.ResourceMetrics{{Resource: resource("front"), ScopeMetrics: []*metricspb.ScopeMetrics{{
		Metrics: []*metricspb.Metric{
			{Name: "requests", Unit: "1", Description: "requests served", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{
				IsMonotonic: true, AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, DataPoints: sumPts}}},
			{Name: "queue", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: gaugePts}}},
			{Name: "latency", Unit: "ms", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
				AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, DataPoints: histPts}}},
		}}}}}), false)
	return dir
}

func ptr[T any](v T) *T { return &v }

type tracesAnswer struct {
	Traces       []traceSummary `json:"traces"`
	ScannedFiles int            `json:"scanned_files"`
}

func traceIDs(a tracesAnswer) string {
	var ids []string
	for _, tr := range a.Traces {
		ids = append(ids, tr.TraceID[:2])
	}
	return strings.Join(ids, ",")
}

func TestTraceSearch(t *testing.T) {
	_, srv := newTestDashboard(t, fixture(t), nil)
	from := base.Add(-time.Minute).UnixMilli()
	for _, tt := range []struct{ query, want string }{
		{"", "03,02,01"},
		{"sort=start&order=asc", "01,02,03"},
		{"sort=duration", "02,01,03"},
		{"sort=spans&order=desc", "02,01,03"},
		{"service=db", "02,01"},
		{"service=worker", "03"},
		{"name=get", "02,01"},
		{"name=GET%20/a", "01"},
		{"attr=http.route=/b", "02"},
		{"attr=http.route=/b&attr=service.name=db", "02"},
		{"attr=http.route=/c", ""},
		{"errors=1", "02"},
		{"min_ms=200", "02"},
		{"max_ms=150", "03,01"},
		{"min_ms=50&max_ms=150", "01"},
		{"trace_id=" + hex.EncodeToString(id16(3)), "03"},
		{"trace_id=0101", "01"},
		{"to=" + itoa(base.Add(time.Minute).UnixMilli()), "02,01"},
		{"from=" + itoa(from) + "&to=" + base.Add(time.Minute).Format(time.RFC3339), "02,01"},
		{"from=" + itoa(base.Add(30*time.Minute).UnixMilli()), "03"},
		{"limit=1", "03"},
	} {
		var got tracesAnswer
		if code := fetchJSON(t, srv.URL+"/api/traces?"+tt.query, &got); code != 200 {
			t.Errorf("%s: status %d", tt.query, code)
			continue
		}
		if ids := traceIDs(got); ids != tt.want {
			t.Errorf("%s: traces %s, want %s", tt.query, ids, tt.want)
		}
	}
	var got tracesAnswer
	fetchJSON(t, srv.URL+"/api/traces?trace_id="+hex.EncodeToString(id16(2)), &got)
	tr := got.Traces[0]
	if tr.RootService != "front" || tr.RootName != "GET /b" || tr.SpanCount != 2 || tr.ErrorCount != 1 ||
		tr.DurationMs != 500 || tr.StartNs != itoa(base.Add(10*time.Millisecond).UnixNano()) ||
		strings.Join(tr.Services, ",") != "db,front" {
		t.Errorf("trace 2: %+v", tr)
	}
	// Only the files of the window are read.
	fetchJSON(t, srv.URL+"/api/traces?from="+itoa(base.Add(30*time.Minute).UnixMilli()), &got)
	if got.ScannedFiles != 1 {
		t.Errorf("window after the first two files: %d files scanned, want 1", got.ScannedFiles)
	}
	for _, q := range []string{"sort=name", "limit=0", "min_ms=x", "from=yesterday", "attr=novalue", "trace_id=xyz"} {
		if code := fetchJSON(t, srv.URL+"/api/traces?"+q, nil); code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", q, code)
		}
	}
}

func itoa(n int64) string { return nsString(n) }

func TestTraceDetail(t *testing.T) {
	_, srv := newTestDashboard(t, fixture(t), nil)
	var got traceJSON
	if code := fetchJSON(t, srv.URL+"/api/traces/"+hex.EncodeToString(id16(2)), &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(got.Spans) != 2 {
		t.Fatalf("spans %+v", got.Spans)
	}
	root, child := got.Spans[0], got.Spans[1]
	if root.Name != "GET /b" || root.ParentSpanID != "" || root.ServiceName != "front" || root.Kind != 2 ||
		root.Scope.Name != "test" || root.Scope.Version != "1" || len(root.Attributes) != 1 ||
		root.Attributes[0] != (attr{Key: "http.route", Type: "string", Value: "/b"}) {
		t.Errorf("root %+v", root)
	}
	if child.ParentSpanID != root.SpanID || child.StatusCode != 2 || child.StatusMessage != "boom" ||
		len(child.Events) != 1 || child.Events[0].Name != "retry" || child.Events[0].Attributes[0].Type != "int" ||
		len(child.Links) != 1 || child.Links[0].TraceID != hex.EncodeToString(id16(1)) || child.DurationMs != 400 {
		t.Errorf("child %+v", child)
	}
	if strings.Join(got.CriticalPath, ",") != root.SpanID+","+child.SpanID {
		t.Errorf("critical path %v", got.CriticalPath)
	}
	if len(got.Logs) != 1 || got.Logs[0].Body.Type != "kvlist" || got.Logs[0].SpanID != hex.EncodeToString(id8(4)) {
		t.Errorf("logs %+v", got.Logs)
	}
	if code := fetchJSON(t, srv.URL+"/api/traces/"+hex.EncodeToString(id16(9)), nil); code != http.StatusNotFound {
		t.Errorf("unknown trace: %d", code)
	}
	if code := fetchJSON(t, srv.URL+"/api/traces/0102", nil); code != http.StatusBadRequest {
		t.Errorf("short id: %d", code)
	}

	// OTLP JSON export: what pdata reads back is the trace's two spans.
	resp, err := http.Get(srv.URL + "/api/traces/" + hex.EncodeToString(id16(2)) + "/otlp")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
		t.Errorf("Content-Disposition %q", resp.Header.Get("Content-Disposition"))
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalJSON(body); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if n := req.Traces().SpanCount(); n != 2 {
		t.Errorf("exported %d spans", n)
	}
	if !strings.Contains(string(body), `"traceId":"`+hex.EncodeToString(id16(2))+`"`) {
		t.Errorf("ids not in hex: %s", body)
	}
}

func TestLogSearch(t *testing.T) {
	_, srv := newTestDashboard(t, fixture(t), nil)
	for _, tt := range []struct {
		query string
		want  []string // bodies' types, newest first
	}{
		{"", []string{"string", "kvlist", "string"}},
		{"severity_min=13", []string{"kvlist"}},
		{"q=GET", []string{"string"}},
		{"q=ada", []string{"kvlist"}},
		{"trace_id=" + hex.EncodeToString(id16(1)), []string{"string"}},
		{"attr=code=E42", []string{"kvlist"}},
		{"service=nobody", nil},
		{"from=" + itoa(base.Add(time.Minute).UnixMilli()), []string{"string"}},
		{"limit=1", []string{"string"}},
	} {
		var got logSearchResult
		if code := fetchJSON(t, srv.URL+"/api/logs?"+tt.query, &got); code != 200 {
			t.Errorf("%s: %d", tt.query, code)
			continue
		}
		var types []string
		for _, l := range got.Logs {
			types = append(types, l.Body.Type)
		}
		if strings.Join(types, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: %v, want %v", tt.query, types, tt.want)
		}
	}
	var got logSearchResult
	fetchJSON(t, srv.URL+"/api/logs?q=handling", &got)
	if l := got.Logs[0]; l.Body.Value != "handling GET /a" || l.SeverityNumber != 9 || l.SeverityText != "INFO" ||
		l.ServiceName != "front" || l.TraceID != hex.EncodeToString(id16(1)) || l.TimeNs != itoa(base.Add(5*time.Millisecond).UnixNano()) {
		t.Errorf("log %+v", l)
	}
}

func TestMetrics(t *testing.T) {
	_, srv := newTestDashboard(t, fixture(t), nil)
	var list struct{ Metrics []metricInfo }
	fetchJSON(t, srv.URL+"/api/metrics", &list)
	if len(list.Metrics) != 3 {
		t.Fatalf("metrics %+v", list.Metrics)
	}
	if m := list.Metrics[2]; m.Name != "requests" || m.Type != "sum" || !m.Monotonic || m.Temporality != "cumulative" ||
		m.Unit != "1" || m.Description != "requests served" || m.Points != 3 || strings.Join(m.Services, ",") != "front" {
		t.Errorf("requests %+v", m)
	}

	var sum seriesResult
	fetchJSON(t, srv.URL+"/api/metrics/series?name=requests", &sum)
	if sum.Display != "rate" || len(sum.Series) != 1 || sum.Series[0].Label != "front: route=/a" {
		t.Fatalf("requests %+v", sum)
	}
	// 0, 10, 30 at 0, 10, 20 s: 1/s then 2/s.
	if p := sum.Series[0].Points; len(p) != 2 || p[0][1] != 1 || p[1][1] != 2 || float64(p[1][0]) != ms(base.Add(20*time.Second).UnixNano()) {
		t.Errorf("rates %v", p)
	}
	var gauge seriesResult
	fetchJSON(t, srv.URL+"/api/metrics/series?name=queue", &gauge)
	if p := gauge.Series[0].Points; gauge.Display != "value" || len(p) != 3 || p[2][1] != 3 {
		t.Errorf("gauge %+v", gauge)
	}
	var hist seriesResult
	fetchJSON(t, srv.URL+"/api/metrics/series?name=latency&max_points=2", &hist)
	s := hist.Series[0]
	if hist.Display != "histogram" || hist.Heatmap == nil || len(hist.Heatmap.Bounds) != 3 || len(hist.Heatmap.Times) != 2 {
		t.Fatalf("histogram %+v", hist)
	}
	// Three points folded into two buckets: the first alone, the last two averaged.
	if len(s.Count) != 2 || s.Count[0][1] != 10 || s.Count[1][1] != 25 {
		t.Errorf("count %v", s.Count)
	}
	// Every observation is in (1, 10]: the median interpolates to 5.5.
	if q := s.Quantiles["p50"]; len(q) == 0 || math.Abs(float64(q[0][1])-5.5) > 1e-9 {
		t.Errorf("p50 %v", q)
	}
	var total float64
	for _, c := range hist.Heatmap.Counts {
		total += c[1]
	}
	if total != 30 { // 10, then 10 and 10 more
		t.Errorf("heatmap counts %v", hist.Heatmap.Counts)
	}
	if len(hist.Exemplars) != 3 || hist.Exemplars[0].TraceID != hex.EncodeToString(id16(1)) || hist.Exemplars[0].Value != 5 {
		t.Errorf("exemplars %+v", hist.Exemplars)
	}
	if code := fetchJSON(t, srv.URL+"/api/metrics/series?name=nothing", nil); code != http.StatusNotFound {
		t.Errorf("unknown metric: %d", code)
	}
}

func TestOverviewAndFiles(t *testing.T) {
	_, srv := newTestDashboard(t, fixture(t), nil)
	var ov struct {
		Services map[string][]string
		Rows     map[string]int64
		Files    int
		MinMs    float64 `json:"min_ms"`
	}
	fetchJSON(t, srv.URL+"/api/overview", &ov)
	if ov.Files != 5 || ov.Rows["traces"] != 5 || ov.Rows["logs"] != 3 || ov.Rows["metrics"] != 9 ||
		strings.Join(ov.Services["traces"], ",") != "db,front,worker" || ov.MinMs != ms(base.UnixNano()) {
		t.Errorf("overview %+v", ov)
	}
	var files struct {
		Files         []fileJSON
		Consumers     []consumerJSON
		OutputDirName string `json:"output_dir_name"`
	}
	fetchJSON(t, srv.URL+"/api/files", &files)
	if len(files.Files) != 5 || files.Consumers == nil {
		t.Fatalf("files %+v", files)
	}
	for _, f := range files.Files {
		resp, err := http.Get(srv.URL + "/files/" + f.Path)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n != f.Bytes {
			t.Errorf("download %s: %d, %d bytes, want %d", f.Path, resp.StatusCode, n, f.Bytes)
		}
	}
}

func TestAnyValueBody(t *testing.T) {
	for _, tt := range []struct {
		js, typ string
		want    any
	}{
		{`{"intValue":"42"}`, "int", int64(42)},
		{`{"intValue":"9007199254740993"}`, "int", "9007199254740993"},
		{`{"boolValue":true}`, "bool", "true"},
		{`{"arrayValue":{"values":[{"intValue":"1"}]}}`, "array", `{"arrayValue":{"values":[{"intValue":"1"}]}}`},
		{`{}`, "empty", nil},
	} {
		got := anyValueBody(tt.js)
		v := got.Value
		if raw, ok := v.(json.RawMessage); ok {
			v = string(raw)
		}
		if got.Type != tt.typ || v != tt.want {
			t.Errorf("%s: %s %v (%T)", tt.js, got.Type, got.Value, got.Value)
		}
	}
}
