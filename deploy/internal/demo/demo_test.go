package demo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/deploy/config"
	"github.com/otlp-arrow/otlp-arrow/deploy/pipeline"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// readFiles reads every file of a signal; after the demo stopped none may
// be left open.
func readFiles(t *testing.T, out string, sig schema.Signal) []arrow.RecordBatch {
	t.Helper()
	dir := filepath.Join(out, "otlp", string(sig))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var recs []arrow.RecordBatch
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".partial") {
			t.Errorf("left open: %s", e.Name())
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		r, err := ipc.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		for r.Next() {
			rec := r.RecordBatch()
			rec.Retain()
			recs = append(recs, rec)
		}
		if err := r.Err(); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
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

// checkOutput finds rows of every signal in out, as the demo makes them.
func checkOutput(t *testing.T, out string) {
	t.Helper()
	rss, err := schema.TracesFromArrow(readFiles(t, out, schema.Traces))
	if err != nil {
		t.Fatal(err)
	}
	services := map[string]bool{}
	kinds := map[tracepb.Span_SpanKind]int{}
	spans := map[string]*tracepb.Span{}
	var errorSpans, events int
	for _, rs := range rss {
		services[schema.ServiceName(rs.Resource)] = true
		for _, ss := range rs.ScopeSpans {
			if ss.Scope.GetName() != scopeName {
				t.Errorf("scope = %q", ss.Scope.GetName())
			}
			for _, s := range ss.Spans {
				spans[string(s.SpanId)] = s
				kinds[s.Kind]++
				events += len(s.Events)
				if s.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
					errorSpans++
				}
			}
		}
	}
	for _, name := range serviceNames {
		if !services[name] {
			t.Errorf("no spans of service %s (have %v)", name, services)
		}
	}
	for _, k := range []tracepb.Span_SpanKind{tracepb.Span_SPAN_KIND_SERVER, tracepb.Span_SPAN_KIND_CLIENT, tracepb.Span_SPAN_KIND_PRODUCER, tracepb.Span_SPAN_KIND_CONSUMER} {
		if kinds[k] == 0 {
			t.Errorf("no spans of kind %v (have %v)", k, kinds)
		}
	}
	roots := 0
	for _, s := range spans {
		if len(s.ParentSpanId) == 0 {
			roots++
		} else if p, ok := spans[string(s.ParentSpanId)]; !ok || string(p.TraceId) != string(s.TraceId) {
			t.Errorf("span %s: parent %x not in its trace", s.Name, s.ParentSpanId)
		}
	}
	if roots == 0 || len(spans) <= roots {
		t.Errorf("%d spans with %d roots: want traces with children", len(spans), roots)
	}
	if errorSpans == 0 || events == 0 {
		t.Errorf("%d error spans and %d events, want some", errorSpans, events)
	}

	rms, err := schema.MetricsFromArrow(readFiles(t, out, schema.Metrics))
	if err != nil {
		t.Fatal(err)
	}
	metrics := map[string]bool{}
	for _, rm := range rms {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				switch m.Data.(type) {
				case *metricspb.Metric_Sum, *metricspb.Metric_Gauge, *metricspb.Metric_Histogram:
					metrics[m.Name] = true
				}
			}
		}
	}
	for _, name := range []string{"http.server.requests", "http.server.request.duration", "process.cpu.utilization", "orders.inflight", "orders.value", "inventory.stock"} {
		if !metrics[name] {
			t.Errorf("metric %s missing (have %v)", name, metrics)
		}
	}

	rls, err := schema.LogsFromArrow(readFiles(t, out, schema.Logs))
	if err != nil {
		t.Fatal(err)
	}
	nlogs := 0
	severities := map[logspb.SeverityNumber]bool{}
	for _, rl := range rls {
		for _, sl := range rl.ScopeLogs {
			for _, r := range sl.LogRecords {
				nlogs++
				severities[r.SeverityNumber] = true
				s, ok := spans[string(r.SpanId)]
				if !ok || string(s.TraceId) != string(r.TraceId) {
					t.Errorf("log %q: span %x of trace %x not in the files", schema.AnyValueString(r.Body), r.SpanId, r.TraceId)
				}
			}
		}
	}
	if nlogs == 0 || !severities[logspb.SeverityNumber_SEVERITY_NUMBER_INFO] || !severities[logspb.SeverityNumber_SEVERITY_NUMBER_ERROR] {
		t.Errorf("%d logs with severities %v, want info and error", nlogs, severities)
	}
}

func TestRunEmbedded(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	// 1000 spans/s for a second is about 100 orders: one in ten fails, so
	// errors are all but certain.
	err := Run(context.Background(), []string{"--output-dir", out, "--data-dir", filepath.Join(dir, "data"),
		"--rate", "1000", "--duration", "1s"}, noEnv, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	t.Logf("stdout:\n%s", &stdout)
	for _, want := range []string{"demo: writing to", "otlp-arrow cat " + filepath.Join(out, "otlp"), "traces files in"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, &stdout)
		}
	}
	checkOutput(t, out)
}

func TestRunStopsOnCancel(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := Run(ctx, []string{"--output-dir", filepath.Join(dir, "out"), "--data-dir", filepath.Join(dir, "data")}, noEnv, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, &stderr)
	}
	if !strings.Contains(stdout.String(), "running until Ctrl+C") || !strings.Contains(stdout.String(), "demo: sent ") {
		t.Errorf("stdout:\n%s", &stdout)
	}
}

func TestRunToEndpoint(t *testing.T) {
	dir := t.TempDir()
	c := config.Default()
	c.OutputDir, c.DataDir = filepath.Join(dir, "out"), filepath.Join(dir, "data")
	c.Ingest.GRPCAddr, c.Ingest.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	c.Bus.Port = 0
	ctx := context.Background()
	p, err := pipeline.Start(ctx, pipeline.WithConfig(c), pipeline.WithIngest(true))
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err = Run(ctx, []string{"--endpoint", p.GRPCAddr().String(), "--rate", "1000", "--duration", "1s"}, noEnv, &stdout, &stderr)
	if serr := p.Shutdown(ctx); serr != nil {
		t.Errorf("pipeline shutdown: %v", serr)
	}
	if err != nil {
		t.Fatalf("run: %v\n%s", err, &stderr)
	}
	if !strings.Contains(stdout.String(), "sending OTLP/gRPC to "+p.GRPCAddr().String()) {
		t.Errorf("stdout:\n%s", &stdout)
	}
	checkOutput(t, c.OutputDir)
}

func TestRunFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"zero rate", []string{"--rate", "0"}, "--rate"},
		{"negative duration", []string{"--duration", "-1s"}, "--duration"},
		{"arguments", []string{"extra"}, "unexpected arguments"},
		{"unknown flag", []string{"--nope"}, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), tt.args, noEnv, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

// noEnv keeps the process's OTLP_* variables out of a test's demo.
var noEnv = []string{}

// The demo's pipeline takes --config and the OTLP_* variables as run does,
// its own --output-dir over them.
func TestRunTakesTheConfiguration(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	yaml := "output_dir: " + filepath.Join(dir, "from-file") + "\nwriter:\n  writer_id: from-file\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		env      []string
		out      string // where the files must be
		writerID string
	}{
		{"environment", nil, []string{"OTLP_OUTPUT_DIR=" + filepath.Join(dir, "from-env"), "OTLP_WRITER_ID=from-env"}, "from-env", "from-env"},
		{"file, environment over it", []string{"--config", file}, []string{"OTLP_OUTPUT_DIR=" + filepath.Join(dir, "env-over-file")}, "env-over-file", "from-file"},
		{"flag over both", []string{"--config", file, "--output-dir", filepath.Join(dir, "from-flag")}, []string{"OTLP_OUTPUT_DIR=" + filepath.Join(dir, "x")}, "from-flag", "from-file"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := append([]string{"OTLP_DATA_DIR=" + filepath.Join(dir, "data", strconv.Itoa(i))}, tt.env...)
			var stdout, stderr bytes.Buffer
			args := append(tt.args, "--rate", "200", "--duration", "300ms")
			if err := Run(context.Background(), args, env, &stdout, &stderr); err != nil {
				t.Fatalf("run: %v\n%s", err, &stderr)
			}
			out := filepath.Join(dir, tt.out)
			if !strings.Contains(stdout.String(), "demo: writing to "+filepath.Join(out, "otlp")) {
				t.Errorf("stdout does not name %s:\n%s", out, &stdout)
			}
			entries, err := os.ReadDir(filepath.Join(out, "otlp", "traces"))
			if err != nil || len(entries) == 0 {
				t.Fatalf("no trace files in %s: %v", out, err)
			}
			for _, e := range entries {
				if !strings.Contains(e.Name(), "-"+tt.writerID+"-") {
					t.Errorf("file %s is not the configured writer %s's", e.Name(), tt.writerID)
				}
			}
		})
	}
	if _, err := os.Stat("output_dir"); err == nil {
		t.Errorf("the demo wrote to ./output_dir")
	}
}

func TestRunBadConfiguration(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := Run(context.Background(), []string{"--duration", "1ms"}, []string{"OTLP_LOG_FORMAT=xml"}, &stdout, &stderr)
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "log.format") {
		t.Errorf("err = %v, want one naming log.format", err)
	}
}
