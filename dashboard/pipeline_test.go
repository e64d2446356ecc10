package dashboard_test

// Handler tests against the real pipeline: OTLP sent over gRPC to the
// receiver, through JetStream and the writer into files; the dashboard
// reads the files and the bus.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otlp-arrow/otlp-arrow/dashboard"
)

// otlpClient connects to the stack's OTLP/gRPC receiver.
func otlpClient(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func sattr(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func res(svc string) *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{sattr("service.name", svc)}}
}

// spansRequest is one request of n spans of trace number tr (traces of
// three services, every fourth span an error), starting at start.
func spansRequest(tr, n int, start time.Time) *coltracepb.ExportTraceServiceRequest {
	tid := make([]byte, 16)
	binary.BigEndian.PutUint64(tid[8:], uint64(tr+1))
	req := &coltracepb.ExportTraceServiceRequest{}
	bySvc := map[int]*tracepb.ScopeSpans{}
	for s := range n {
		sp := &tracepb.Span{TraceId: tid, SpanId: binary.BigEndian.AppendUint64(nil, uint64(tr*10000+s+1)),
			Name: fmt.Sprintf("op-%d", s%5), StartTimeUnixNano: uint64(start.Add(time.Duration(s) * time.Millisecond).UnixNano()),
			EndTimeUnixNano: uint64(start.Add(time.Duration(2*s+3) * time.Millisecond).UnixNano()),
			Attributes:      []*commonpb.KeyValue{sattr("http.route", fmt.Sprintf("/r/%d", tr%3))}}
		if s > 0 {
			sp.ParentSpanId = binary.BigEndian.AppendUint64(nil, uint64(tr*10000+1))
		}
		if s%4 == 3 {
			sp.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR}
		}
		ss := bySvc[s%3]
		if ss == nil {
			ss = &tracepb.ScopeSpans{}
			bySvc[s%3] = ss
			req.ResourceSpans = append(req.ResourceSpans, &tracepb.ResourceSpans{Resource: res(fmt.Sprintf("svc-%d", s%3)),
				ScopeSpans: []*tracepb.ScopeSpans{ss}})
		}
		ss.Spans = append(ss.Spans, sp)
	}
	return req
}

// fileCounts reads every finished or partial file of the output directory
// with arrow-go's own IPC reader (not the dashboard's) and counts rows per
// signal, spans per trace and service, and log records per service.
type fileCounts struct {
	rows          map[string]int64
	tracesSpans   map[string]int64
	logsBySvc     map[string]int64
	pointsByName  map[string]int64
	errorsByTrace map[string]int64
}

func countFiles(t *testing.T, out string) fileCounts {
	t.Helper()
	fc := fileCounts{rows: map[string]int64{}, tracesSpans: map[string]int64{}, logsBySvc: map[string]int64{},
		pointsByName: map[string]int64{}, errorsByTrace: map[string]int64{}}
	for _, sig := range []string{"traces", "metrics", "logs"} {
		paths, _ := filepath.Glob(filepath.Join(out, "otlp", sig, sig+"-*.arrows*"))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				continue // rotated meanwhile: its new name is in the glob's next run
			}
			r, err := ipc.NewReader(bytes.NewReader(b))
			if err != nil {
				continue // no complete schema yet
			}
			for r.Next() {
				rec := r.RecordBatch()
				fc.add(sig, rec)
			}
			r.Release()
		}
	}
	return fc
}

func strAt(a arrow.Array, i int) string {
	if d, ok := a.(*array.Dictionary); ok {
		return d.Dictionary().(*array.String).Value(d.GetValueIndex(i))
	}
	return a.(*array.String).Value(i)
}

func column(rec arrow.RecordBatch, name string) arrow.Array {
	return rec.Column(rec.Schema().FieldIndices(name)[0])
}

func (fc fileCounts) add(sig string, rec arrow.RecordBatch) {
	fc.rows[sig] += rec.NumRows()
	for i := range int(rec.NumRows()) {
		switch sig {
		case "traces":
			id := hex.EncodeToString(column(rec, "trace_id").(*array.FixedSizeBinary).Value(i))
			fc.tracesSpans[id]++
			if st := column(rec, "status_code").(*array.Int32); st.IsValid(i) && st.Value(i) == 2 {
				fc.errorsByTrace[id]++
			}
		case "logs":
			fc.logsBySvc[strAt(column(rec, "service_name"), i)]++
		case "metrics":
			fc.pointsByName[strAt(column(rec, "metric_name"), i)]++
		}
	}
}

// waitRows polls the overview until the files hold want rows of each signal.
func waitRows(t *testing.T, url string, want map[string]int64) {
	t.Helper()
	for {
		var ov struct{ Rows map[string]int64 }
		if err := json.Unmarshal(getJSON(t, url, "/api/overview"), &ov); err != nil {
			t.Fatal(err)
		}
		done := true
		for sig, n := range want {
			if ov.Rows[sig] < n {
				done = false
			}
		}
		if done {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The counts the dashboard shows equal the counts computed from the files
// by arrow-go directly.
func TestCountsEqualFiles(t *testing.T) {
	st := startStack(t)
	cc := otlpClient(t, st.OTLPGRPC)
	ctx := context.Background()
	start := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	const traces, spans = 12, 7
	for tr := range traces {
		if _, err := coltracepb.NewTraceServiceClient(cc).Export(ctx, spansRequest(tr, spans, start.Add(time.Duration(tr)*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	var logs []*logspb.LogRecord
	for i := range 30 {
		logs = append(logs, &logspb.LogRecord{TimeUnixNano: uint64(start.Add(time.Duration(i) * time.Millisecond).UnixNano()),
			SeverityNumber: logspb.SeverityNumber(1 + i%24), Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: fmt.Sprintf("line %d", i)}}})
	}
	if _, err := collogspb.NewLogsServiceClient(cc).Export(ctx, &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{
		{Resource: res("a"), ScopeLogs: []*logspb.ScopeLogs{{LogRecords: logs[:10]}}},
		{Resource: res("b"), ScopeLogs: []*logspb.ScopeLogs{{LogRecords: logs[10:]}}},
	}}); err != nil {
		t.Fatal(err)
	}
	var pts []*metricspb.NumberDataPoint
	for i := range 9 {
		pts = append(pts, &metricspb.NumberDataPoint{TimeUnixNano: uint64(start.Add(time.Duration(i) * time.Second).UnixNano()),
			Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: float64(i)}, Attributes: []*commonpb.KeyValue{sattr("k", fmt.Sprint(i%3))}})
	}
	if _, err := colmetricspb.NewMetricsServiceClient(cc).Export(ctx, &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: []*metricspb.ResourceMetrics{
		{Resource: res("a"), ScopeMetrics: []*metricspb.ScopeMetrics{{Metrics: []*metricspb.Metric{
			{Name: "temperature", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: pts}}}}}}},
	}}); err != nil {
		t.Fatal(err)
	}
	waitRows(t, st.URL, map[string]int64{"traces": traces * spans, "logs": 30, "metrics": 9})
	fc := countFiles(t, st.OutputDir)

	var ov struct{ Rows map[string]int64 }
	json.Unmarshal(getJSON(t, st.URL, "/api/overview"), &ov)
	for sig, n := range fc.rows {
		if ov.Rows[sig] != n {
			t.Errorf("overview rows of %s: %d, files hold %d", sig, ov.Rows[sig], n)
		}
	}
	var tr struct {
		Traces []struct {
			TraceID    string `json:"trace_id"`
			SpanCount  int64  `json:"span_count"`
			ErrorCount int64  `json:"error_count"`
		}
	}
	json.Unmarshal(getJSON(t, st.URL, "/api/traces?limit=1000"), &tr)
	if len(tr.Traces) != len(fc.tracesSpans) || len(tr.Traces) != traces {
		t.Errorf("%d traces listed, files hold %d", len(tr.Traces), len(fc.tracesSpans))
	}
	for _, x := range tr.Traces {
		if x.SpanCount != fc.tracesSpans[x.TraceID] || x.ErrorCount != fc.errorsByTrace[x.TraceID] {
			t.Errorf("trace %s: %d spans %d errors, files hold %d and %d", x.TraceID, x.SpanCount, x.ErrorCount,
				fc.tracesSpans[x.TraceID], fc.errorsByTrace[x.TraceID])
		}
		var one struct{ Spans []json.RawMessage }
		json.Unmarshal(getJSON(t, st.URL, "/api/traces/"+x.TraceID), &one)
		if int64(len(one.Spans)) != fc.tracesSpans[x.TraceID] {
			t.Errorf("trace %s shows %d spans, files hold %d", x.TraceID, len(one.Spans), fc.tracesSpans[x.TraceID])
		}
	}
	for svc, n := range fc.logsBySvc {
		var lg struct{ Logs []json.RawMessage }
		json.Unmarshal(getJSON(t, st.URL, "/api/logs?limit=10000&service="+svc), &lg)
		if int64(len(lg.Logs)) != n {
			t.Errorf("logs of %s: %d, files hold %d", svc, len(lg.Logs), n)
		}
	}
	var ms struct {
		Metrics []struct {
			Name   string
			Points int64
		}
	}
	json.Unmarshal(getJSON(t, st.URL, "/api/metrics"), &ms)
	if len(ms.Metrics) != 1 || ms.Metrics[0].Points != fc.pointsByName["temperature"] {
		t.Errorf("metrics %+v, files hold %v", ms.Metrics, fc.pointsByName)
	}
	var series struct {
		Series []struct{ Points [][2]float64 }
	}
	json.Unmarshal(getJSON(t, st.URL, "/api/metrics/series?name=temperature"), &series)
	total := 0
	for _, s := range series.Series {
		total += len(s.Points)
	}
	if len(series.Series) != 3 || int64(total) != fc.pointsByName["temperature"] {
		t.Errorf("series %+v", series)
	}
}

// sseEvent is one event of the live tail.
type sseEvent struct {
	name string
	data []byte
}

// readEvents parses an event stream into ch until it ends.
func readEvents(r io.Reader, ch chan<- sseEvent) {
	defer close(ch)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.name != "" {
				ch <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = []byte(strings.TrimPrefix(line, "data: "))
		}
	}
}

// A browser that reads nothing while the pipeline takes 5 000 spans: the
// pipeline keeps its pace (every span lands in the files), the client's
// queue drops its oldest rows, and once it reads again it gets the rows
// that were kept and the count of those dropped, which add up to what was
// sent.
func TestTailSlowClient(t *testing.T) {
	st := startStack(t)
	d, err := dashboard.New(dashboard.Config{OutputDir: st.OutputDir, Addr: "127.0.0.1:0", NoListen: true, Conn: st.Conn, TailQueue: 50})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	srv := newServer(t, d)

	// The client: a small receive buffer, and nothing read past the first line.
	resp, err := smallBufferClient().Get(srv + "/api/tail?signal=traces")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("tail: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil { // the opening comment: the consumer runs
		t.Fatal(err)
	}

	cc := otlpClient(t, st.OTLPGRPC)
	const requests, perRequest = 10, 500
	start := time.Now().Add(-time.Minute)
	for tr := range requests {
		if _, err := coltracepb.NewTraceServiceClient(cc).Export(context.Background(), spansRequest(tr, perRequest, start)); err != nil {
			t.Fatal(err)
		}
	}
	waitRows(t, st.URL, map[string]int64{"traces": requests * perRequest})
	if got := countFiles(t, st.OutputDir).rows["traces"]; got != requests*perRequest {
		t.Fatalf("files hold %d spans, want %d", got, requests*perRequest)
	}

	events := make(chan sseEvent)
	go readEvents(br, events)
	var rows, dropped int64
	for rows+dropped < requests*perRequest {
		ev, ok := <-events
		if !ok {
			t.Fatalf("stream ended after %d rows, %d dropped", rows, dropped)
		}
		switch ev.name {
		case "rows":
			var b struct {
				Signal string
				Rows   []struct {
					TraceID string `json:"trace_id"`
					SpanID  string `json:"span_id"`
				}
			}
			if err := json.Unmarshal(ev.data, &b); err != nil || b.Signal != "traces" {
				t.Fatalf("rows event %s: %v", ev.data, err)
			}
			rows += int64(len(b.Rows))
		case "dropped":
			var b struct{ Dropped int64 }
			if err := json.Unmarshal(ev.data, &b); err != nil {
				t.Fatal(err)
			}
			dropped = b.Dropped
		}
	}
	if dropped == 0 || rows+dropped != requests*perRequest {
		t.Errorf("%d rows received and %d dropped, want some dropped and %d in all", rows, dropped, requests*perRequest)
	}
	t.Logf("%d rows received, %d dropped", rows, dropped)
}

// The live tail's filters.
func TestTailFilters(t *testing.T) {
	st := startStack(t)
	resp, err := http.Get(st.URL + "/api/tail?signal=traces&service=svc-1&attr=http.route=/r/2&q=OP-1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cc := otlpClient(t, st.OTLPGRPC)
	// Trace 2 has route /r/2; its spans 1, 4, ... are of svc-1; of those,
	// span 1 is op-1 (and 16, 31, ... are too).
	for tr := range 3 {
		if _, err := coltracepb.NewTraceServiceClient(cc).Export(context.Background(), spansRequest(tr, 20, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	events := make(chan sseEvent)
	go readEvents(br, events)
	ev := <-events
	var b struct {
		Rows []struct {
			Name        string `json:"name"`
			ServiceName string `json:"service_name"`
			SpanID      string `json:"span_id"`
		}
	}
	if err := json.Unmarshal(ev.data, &b); err != nil || ev.name != "rows" {
		t.Fatalf("%s %s %v", ev.name, ev.data, err)
	}
	if len(b.Rows) != 2 || b.Rows[0].Name != "op-1" || b.Rows[0].ServiceName != "svc-1" {
		t.Errorf("rows %+v", b.Rows)
	}
	if resp, err := http.Get(st.URL + "/api/tail?signal=nope"); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad signal: %v %v", resp.StatusCode, err)
	}
}
