package cli

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"google.golang.org/protobuf/encoding/prototext"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// testPipeline is one `otlp-arrow run` started in-process.
type testPipeline struct {
	out, data             string
	grpcPort, httpPort    int
	adminPort             int
	flightPort            int
	cancel                context.CancelFunc
	done                  chan int
	stderr                *lockedBuffer
	grpcAddr, httpAddr    string
	adminURL              string
	env                   []string
	grpcEndpoint, httpURL string
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startRun starts `run` with its own directories and ports; extra are more
// OTLP_* variables.
func startRun(t *testing.T, extra ...string) *testPipeline {
	t.Helper()
	dir := t.TempDir()
	p := &testPipeline{
		out: filepath.Join(dir, "out"), data: filepath.Join(dir, "data"),
		grpcPort: freePort(t), httpPort: freePort(t), adminPort: freePort(t), flightPort: freePort(t),
		done: make(chan int, 1), stderr: &lockedBuffer{},
	}
	p.env = append([]string{
		"OTLP_OUTPUT_DIR=" + p.out,
		"OTLP_DATA_DIR=" + p.data,
		"OTLP_PROTOBUF_PORT=" + strconv.Itoa(p.grpcPort),
		"OTLP_HTTP_PORT=" + strconv.Itoa(p.httpPort),
		"OTLP_ADMIN_PORT=" + strconv.Itoa(p.adminPort),
		"OTLP_ARROW_FLIGHT_PORT=" + strconv.Itoa(p.flightPort),
		"OTLP_NATS_PORT=0",
		"OTLP_WRITE_INTERVAL_SECS=0.2",
		"OTLP_LOG_LEVEL=debug",
	}, extra...)
	p.grpcEndpoint = "127.0.0.1:" + strconv.Itoa(p.grpcPort)
	p.httpURL = "127.0.0.1:" + strconv.Itoa(p.httpPort)
	p.adminURL = "http://127.0.0.1:" + strconv.Itoa(p.adminPort)
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() {
		p.done <- mainEnv(ctx, []string{"run"}, &cmdEnv{stdout: p.stderr, stderr: p.stderr, environ: p.env})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(60 * time.Second):
			t.Errorf("run did not stop")
		}
	})
	waitReady(t, p.adminURL, p.done, p.stderr)
	return p
}

func waitReady(t *testing.T, adminURL string, done chan int, logs fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("run exited with %d before ready:\n%s", code, logs)
		default:
		}
		resp, err := http.Get(adminURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("not ready after 30s:\n%s", logs)
}

// stop cancels run and waits for exit code 0.
func (p *testPipeline) stop(t *testing.T) {
	t.Helper()
	p.cancel()
	select {
	case code := <-p.done:
		p.done <- code
		if code != 0 {
			t.Fatalf("run exited with %d:\n%s", code, p.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("run did not stop:\n%s", p.stderr)
	}
}

// readFiles reads every finished file of a signal; it fails on .partial
// leftovers.
func readFiles(t *testing.T, out string, sig schema.Signal) []arrow.RecordBatch {
	t.Helper()
	dir := filepath.Join(out, "otlp", string(sig))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	var recs []arrow.RecordBatch
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".partial") {
			t.Errorf("left behind: %s", e.Name())
			continue
		}
		if strings.HasSuffix(e.Name(), ".parquet") {
			recs = append(recs, readParquet(t, filepath.Join(dir, e.Name()))...)
			continue
		}
		if !strings.HasSuffix(e.Name(), ".arrows") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		r, err := ipc.NewReader(f)
		if err != nil {
			f.Close()
			t.Fatalf("%s: %v", e.Name(), err)
		}
		for r.Next() {
			rec, err := schema.FromV2(memory.DefaultAllocator, r.RecordBatch()) // v1 as it is
			if err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			recs = append(recs, rec)
		}
		if err := r.Err(); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
		}
		want := sig.Version()
		if sig == schema.Traces && fileTracesVersion != "" {
			want = fileTracesVersion
		}
		if got := schema.SchemaVersion(sig, r.Schema()); got != want {
			t.Errorf("%s: schema version %s, want %s", e.Name(), got, want)
		}
		r.Release()
		f.Close()
	}
	t.Cleanup(func() {
		for _, r := range recs {
			r.Release()
		}
	})
	return recs
}

// readParquet reads a Parquet file's rows with the Arrow schema stored in it.
func readParquet(t *testing.T, path string) []arrow.RecordBatch {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 1<<16)
	defer tr.Release()
	var recs []arrow.RecordBatch
	for tr.Next() {
		rec := tr.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	return recs
}

// attrMap renders OTLP attributes as key -> prototext of the value.
func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[kv.Key] = prototext.Format(kv.Value)
	}
	return m
}

// sdkAttrMap renders SDK attributes the same way, through the OTLP value
// each kind maps to.
func sdkAttrMap(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		var v *commonpb.AnyValue
		switch kv.Value.Type() {
		case attribute.STRING:
			v = &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: kv.Value.AsString()}}
		case attribute.INT64:
			v = &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: kv.Value.AsInt64()}}
		case attribute.FLOAT64:
			v = &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: kv.Value.AsFloat64()}}
		case attribute.BOOL:
			v = &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: kv.Value.AsBool()}}
		case attribute.STRINGSLICE:
			arr := &commonpb.ArrayValue{}
			for _, s := range kv.Value.AsStringSlice() {
				arr.Values = append(arr.Values, &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}})
			}
			v = &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: arr}}
		default:
			panic("test uses an attribute kind it does not map: " + kv.Value.Type().String())
		}
		m[string(kv.Key)] = prototext.Format(v)
	}
	return m
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestRunSDKEndToEnd sends every signal with the OpenTelemetry SDK's
// exporters and compares the files with what was sent, with the bus
// payloads uncompressed (the default) and LZ4-compressed.
func TestRunSDKEndToEnd(t *testing.T) {
	for _, c := range []string{"none", "lz4"} {
		t.Run("payload_compression="+c, func(t *testing.T) {
			runSDKEndToEnd(t, "OTLP_BUS_PAYLOAD_COMPRESSION="+c)
		})
	}
	t.Run("writer_format=parquet", func(t *testing.T) {
		runSDKEndToEnd(t, "OTLP_WRITER_FORMAT=parquet")
	})
	// Trace files in the v2 layout, read back through schema.FromV2.
	t.Run("writer_traces_schema=v2", func(t *testing.T) {
		fileTracesVersion = "traces/v2"
		defer func() { fileTracesVersion = "" }()
		runSDKEndToEnd(t, "OTLP_WRITER_TRACES_SCHEMA=v2")
	})
}

// fileTracesVersion, when set, is the schema version readFiles wants in
// trace files instead of traces/v1.
var fileTracesVersion string

func runSDKEndToEnd(t *testing.T, env ...string) {
	p := startRun(t, env...)
	ctx := context.Background()
	res := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName("checkout"), attribute.String("deployment.environment", "test"))

	// Traces through gRPC and HTTP, recorded on the side by an in-memory
	// exporter so the files can be compared with what the SDK sent.
	rec := tracetest.NewSpanRecorder()
	grpcExp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(p.grpcEndpoint), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	httpExp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(p.httpURL), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	for i, exp := range []sdktrace.SpanExporter{grpcExp, httpExp} {
		tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res),
			sdktrace.WithSpanProcessor(sdktrace.NewBatchSpanProcessor(exp)),
			sdktrace.WithSpanProcessor(rec))
		tr := tp.Tracer("e2e", trace.WithInstrumentationVersion("1.2.3"))
		for j := range 25 {
			_, parent := tr.Start(ctx, fmt.Sprintf("parent-%d-%d", i, j), trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.route", "/cart"), attribute.Int("n", j), attribute.Float64("f", 1.5), attribute.Bool("b", true), attribute.StringSlice("tags", []string{"x", "y"})))
			pctx := trace.ContextWithSpan(ctx, parent)
			_, child := tr.Start(pctx, "child", trace.WithSpanKind(trace.SpanKindClient))
			child.AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", 2)))
			child.SetStatus(codes.Error, "boom")
			child.End()
			parent.End()
		}
		if err := tp.Shutdown(ctx); err != nil {
			t.Fatalf("trace provider %d shutdown: %v", i, err)
		}
	}

	// Metrics through gRPC.
	mexp, err := otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(p.grpcEndpoint), otlpmetricgrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewPeriodicReader(mexp, sdkmetric.WithInterval(time.Hour))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(reader))
	meter := mp.Meter("e2e-meter")
	counter, _ := meter.Int64Counter("orders")
	hist, _ := meter.Float64Histogram("latency", metric.WithUnit("ms"))
	counter.Add(ctx, 5, metricAttr("region", "eu"))
	counter.Add(ctx, 7, metricAttr("region", "us"))
	hist.Record(ctx, 12.5)
	hist.Record(ctx, 99)
	if err := mp.Shutdown(ctx); err != nil {
		t.Fatalf("meter provider shutdown: %v", err)
	}

	// Logs through HTTP.
	lexp, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(p.httpURL), otlploghttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(lexp)))
	lg := lp.Logger("e2e-logger")
	for i := range 10 {
		var rec otellog.Record
		rec.SetTimestamp(time.Unix(1_700_000_000, int64(i)))
		rec.SetSeverity(otellog.SeverityWarn)
		rec.SetSeverityText("WARN")
		rec.SetBody(attribute.StringValue(fmt.Sprintf("log line %d", i)))
		rec.AddAttributes(attribute.Int("i", i), attribute.String("k", "v"))
		lg.Emit(ctx, rec)
	}
	if err := lp.Shutdown(ctx); err != nil {
		t.Fatalf("logger provider shutdown: %v", err)
	}

	p.stop(t)

	// Traces: every span the SDK ended is in the files, field by field.
	got, err := schema.TracesFromArrow(readFiles(t, p.out, schema.Traces))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[trace.SpanID]*tracepb.Span{}
	for _, rs := range got {
		if schema.ServiceName(rs.Resource) != "checkout" {
			t.Errorf("resource service = %q", schema.ServiceName(rs.Resource))
		}
		if rs.SchemaUrl != semconv.SchemaURL {
			t.Errorf("resource schema url = %q", rs.SchemaUrl)
		}
		for _, ss := range rs.ScopeSpans {
			if ss.Scope.Name != "e2e" || ss.Scope.Version != "1.2.3" {
				t.Errorf("scope = %v", ss.Scope)
			}
			for _, s := range ss.Spans {
				byID[trace.SpanID(s.SpanId)] = s
			}
		}
	}
	want := rec.Ended()
	if len(want) != 100 {
		t.Fatalf("recorded %d spans, want 100", len(want))
	}
	if len(byID) != len(want) {
		t.Errorf("files hold %d spans, want %d", len(byID), len(want))
	}
	for _, w := range want {
		g, ok := byID[w.SpanContext().SpanID()]
		if !ok {
			t.Errorf("span %s (%s) missing", w.Name(), w.SpanContext().SpanID())
			continue
		}
		if trace.TraceID(g.TraceId) != w.SpanContext().TraceID() || g.Name != w.Name() ||
			int(g.Kind) != int(w.SpanKind()) || g.StartTimeUnixNano != uint64(w.StartTime().UnixNano()) ||
			g.EndTimeUnixNano != uint64(w.EndTime().UnixNano()) {
			t.Errorf("span %s differs: got %v", w.Name(), g)
		}
		if w.Parent().IsValid() != (len(g.ParentSpanId) == 8) || (w.Parent().IsValid() && trace.SpanID(g.ParentSpanId) != w.Parent().SpanID()) {
			t.Errorf("span %s parent = %x, want %s", w.Name(), g.ParentSpanId, w.Parent().SpanID())
		}
		if !sameMap(attrMap(g.Attributes), sdkAttrMap(w.Attributes())) {
			t.Errorf("span %s attributes = %v, want %v", w.Name(), attrMap(g.Attributes), sdkAttrMap(w.Attributes()))
		}
		if len(g.Events) != len(w.Events()) {
			t.Errorf("span %s has %d events, want %d", w.Name(), len(g.Events), len(w.Events()))
		} else {
			for i, e := range w.Events() {
				if g.Events[i].Name != e.Name || g.Events[i].TimeUnixNano != uint64(e.Time.UnixNano()) || !sameMap(attrMap(g.Events[i].Attributes), sdkAttrMap(e.Attributes)) {
					t.Errorf("span %s event %d = %v, want %v", w.Name(), i, g.Events[i], e)
				}
			}
		}
		if w.Status().Code == codes.Error && (g.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || g.Status.GetMessage() != w.Status().Description) {
			t.Errorf("span %s status = %v, want error %q", w.Name(), g.Status, w.Status().Description)
		}
	}

	// `cat` prints every span as one JSON object: ids in hex, times in RFC 3339.
	catSpans(t, p.out, byID)

	// Metrics: the counter's points and the histogram.
	rms, err := schema.MetricsFromArrow(readFiles(t, p.out, schema.Metrics))
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	var histCount uint64
	var histSum float64
	for _, rm := range rms {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				switch d := m.Data.(type) {
				case *metricspb.Metric_Sum:
					if !d.Sum.IsMonotonic || d.Sum.AggregationTemporality != metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE {
						t.Errorf("sum %s: monotonic=%v temporality=%v", m.Name, d.Sum.IsMonotonic, d.Sum.AggregationTemporality)
					}
					for _, dp := range d.Sum.DataPoints {
						for _, kv := range dp.Attributes {
							if kv.Key == "region" {
								sums[kv.Value.GetStringValue()] = dp.GetAsInt()
							}
						}
					}
				case *metricspb.Metric_Histogram:
					if m.Unit != "ms" {
						t.Errorf("histogram unit = %q", m.Unit)
					}
					for _, dp := range d.Histogram.DataPoints {
						histCount, histSum = dp.Count, dp.GetSum()
					}
				}
			}
		}
	}
	if sums["eu"] != 5 || sums["us"] != 7 {
		t.Errorf("counter points = %v, want eu=5 us=7", sums)
	}
	if histCount != 2 || histSum != 111.5 {
		t.Errorf("histogram count=%d sum=%v, want 2 and 111.5", histCount, histSum)
	}

	// Logs: every record with its body, severity and attributes.
	rls, err := schema.LogsFromArrow(readFiles(t, p.out, schema.Logs))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, rl := range rls {
		for _, sl := range rl.ScopeLogs {
			if sl.Scope.GetName() != "e2e-logger" {
				t.Errorf("log scope = %q", sl.Scope.GetName())
			}
			for _, r := range sl.LogRecords {
				if r.SeverityNumber != logspb.SeverityNumber_SEVERITY_NUMBER_WARN || r.SeverityText != "WARN" {
					t.Errorf("log severity = %v %q", r.SeverityNumber, r.SeverityText)
				}
				a := attrMap(r.Attributes)
				want := sdkAttrMap([]attribute.KeyValue{attribute.Int("i", int(r.TimeUnixNano-1_700_000_000_000_000_000)), attribute.String("k", "v")})
				if !sameMap(a, want) {
					t.Errorf("log attributes = %v", a)
				}
				lines = append(lines, r.Body.GetStringValue())
			}
		}
	}
	sort.Strings(lines)
	if len(lines) != 10 || lines[0] != "log line 0" || lines[9] != "log line 9" {
		t.Errorf("log bodies = %v", lines)
	}
}

func metricAttr(k, v string) metric.AddOption {
	return metric.WithAttributes(attribute.String(k, v))
}

// catSpans runs `cat` over the trace files and checks each line against the
// span of the same id.
func catSpans(t *testing.T, out string, byID map[trace.SpanID]*tracepb.Span) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(out, "otlp", "traces", "*.arrows"))
	pq, _ := filepath.Glob(filepath.Join(out, "otlp", "traces", "*.parquet"))
	files = append(files, pq...)
	var stdout, stderr bytes.Buffer
	if code := mainEnv(context.Background(), append([]string{"cat"}, files...), &cmdEnv{stdout: &stdout, stderr: &stderr}); code != 0 {
		t.Fatalf("cat exited %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != len(byID) {
		t.Fatalf("cat printed %d lines, want %d", len(lines), len(byID))
	}
	for _, line := range lines {
		var row struct {
			TraceID      string            `json:"trace_id"`
			SpanID       string            `json:"span_id"`
			Name         string            `json:"name"`
			StartTime    string            `json:"start_time"`
			ServiceName  string            `json:"service_name"`
			AttributesSt map[string]string `json:"attributes_str"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("cat line is not JSON: %v: %s", err, line)
		}
		id, err := hex.DecodeString(row.SpanID)
		if err != nil || len(id) != 8 {
			t.Fatalf("span_id %q is not 8 bytes of hex", row.SpanID)
		}
		s := byID[trace.SpanID(id)]
		if s == nil {
			t.Fatalf("cat printed unknown span %s", row.SpanID)
		}
		start, err := time.Parse(time.RFC3339Nano, row.StartTime)
		if err != nil || uint64(start.UnixNano()) != s.StartTimeUnixNano {
			t.Errorf("start_time %q, want %d (%v)", row.StartTime, s.StartTimeUnixNano, err)
		}
		if row.TraceID != hex.EncodeToString(s.TraceId) || row.Name != s.Name || row.ServiceName != "checkout" {
			t.Errorf("cat row %s differs from span %v", line, s)
		}
	}
}

// scrapeRun returns one series' value from a run's /metrics, or -1.
func scrapeRun(t *testing.T, p *testPipeline, series string) float64 {
	t.Helper()
	resp, err := http.Get(p.adminURL + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return -1
}
