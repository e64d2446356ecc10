package main

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// traceRequest is a request of one span per service; a trace id of other
// than 16 bytes makes that span invalid.
func traceRequest(spans map[string][]byte) *coltracepb.ExportTraceServiceRequest {
	req := &coltracepb.ExportTraceServiceRequest{}
	for svc, tid := range spans {
		req.ResourceSpans = append(req.ResourceSpans, &tracepb.ResourceSpans{
			Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{
				Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: svc}},
			}}},
			ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{TraceId: tid, SpanId: []byte("span0001"), Name: "span"}}}},
		})
	}
	return req
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeFormats(t *testing.T) {
	const js = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"a"}]}]}]}`
	// A protobuf request whose first resource is 123 bytes long starts with
	// "\n{": JSON's shape, but not JSON.
	var pb []byte
	for n := 1; n < 123 && !strings.HasPrefix(string(pb), "\n{"); n++ {
		pb = mustMarshal(t, traceRequest(map[string][]byte{strings.Repeat("s", n): []byte("0123456789abcdef")}))
	}
	if !strings.HasPrefix(string(pb), "\n{") {
		t.Fatalf("the request starts %q, want \"\\n{\"", pb[:2])
	}
	tests := []struct {
		name  string
		f     Format
		data  []byte
		spans int64
		err   bool
	}{
		{"json", JSON, []byte(js), 1, false},
		{"auto json", Auto, []byte("  \n" + js), 1, false},
		{"auto protobuf", Auto, mustMarshal(t, traceRequest(map[string][]byte{"a": []byte("0123456789abcdef")})), 1, false},
		{"auto protobuf shaped like json", Auto, pb, 1, false},
		{"protobuf", Protobuf, pb, 1, false},
		{"bad json", JSON, []byte(`{"resourceSpans": 5}`), 0, true},
		{"auto bad json", Auto, []byte(`{"resourceSpans": [`), 0, true},
		{"empty json", JSON, nil, 0, true},
		{"bad protobuf", Protobuf, []byte{0xff, 0xff}, 0, true},
		{"unknown format", Format(7), []byte(js), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, n, err := decodeTraces(tt.f, tt.data)
			if tt.err {
				if !errors.Is(err, errInvalidData) || kindOf(err) != kindInvalid {
					t.Fatalf("err = %v, want invalid data", err)
				}
				return
			}
			if err != nil || n != tt.spans {
				t.Fatalf("got %d spans, %v; want %d", n, err, tt.spans)
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	cfg, named, err := parseConfig([]byte(`{"output_dir": "out", "janitor": {"trace_retention": "1h"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != filepath.Join("out", ".bus") || cfg.Bus.Port != 0 || !named["janitor"] || named["log"] {
		t.Errorf("data_dir %q, bus.port %d, named %v", cfg.DataDir, cfg.Bus.Port, named)
	}
	if cfg.Janitor.TraceRetention != time.Hour {
		t.Errorf("trace_retention = %v", cfg.Janitor.TraceRetention)
	}
	cfg, _, err = parseConfig([]byte("output_dir: out\ndata_dir: store\n")) // YAML too
	if err != nil || cfg.DataDir != "store" {
		t.Errorf("data_dir %q, %v", cfg.DataDir, err)
	}
	for _, doc := range []string{`{"output_dir": "out", "writr": {}}`, `{"output_dir": "out", "writer": {"compression": "brotli"}}`, `{"output_dir": ""}`} {
		if _, _, err := parseConfig([]byte(doc)); kindOf(err) != kindConfig {
			t.Errorf("%s: err = %v, want a config error", doc, err)
		}
	}
}

// TestLifecycle runs a pipeline through the functions the library exports
// (less the C strings): start, export with a partial success, flush,
// listen, shutdown, and a handle used after.
func TestLifecycle(t *testing.T) {
	dir := t.TempDir()
	doc, _ := json.Marshal(map[string]any{
		"output_dir":    dir,
		"ingest_grpc":   map[string]any{"grpc_addr": "127.0.0.1:0", "http_addr": "127.0.0.1:0"},
		"ingest_flight": map[string]any{"enabled": false},
	})
	h, err := start(doc)
	if err != nil {
		t.Fatal(err)
	}
	req := traceRequest(map[string][]byte{"good": []byte("0123456789abcdef"), "bad": []byte("012")})
	got, err := export(h, schema.Traces, Protobuf, mustMarshal(t, req))
	if err != nil || got.Accepted != 1 || got.Rejected != 1 || !strings.Contains(got.Message, `"bad"`) {
		t.Fatalf("export = %+v, %v; want 1 accepted, 1 rejected", got, err)
	}
	_, err = export(h, schema.Traces, Protobuf, mustMarshal(t, traceRequest(map[string][]byte{"bad": []byte("012")})))
	if kindOf(err) != kindInvalid {
		t.Errorf("all invalid: err = %v, want invalid", err)
	}
	if err := flush(h, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	addrs, err := listen(h)
	if err != nil || addrs["grpc"] == "" || addrs["http"] == "" || addrs["flight"] != "" {
		t.Fatalf("listen = %v, %v; want grpc and http, no flight", addrs, err)
	}
	if err := shutdown(h, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := shutdown(h, time.Second); err != nil {
		t.Errorf("second shutdown: %v", err)
	}
	if _, err := export(h, schema.Traces, Protobuf, nil); kindOf(err) != kindClosed {
		t.Errorf("export after shutdown: %v, want closed", err)
	}
	if err := flush(h, time.Second); kindOf(err) != kindClosed {
		t.Errorf("flush after shutdown: %v, want closed", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "otlp", "traces", "*.arrows"))
	if len(files) != 1 {
		t.Errorf("trace files %v, want one", files)
	}
}

// BenchmarkExport is the Go side of one Python export call of one span,
// from decoding its OTLP JSON to the bus's acknowledgement.
func BenchmarkExport(b *testing.B) {
	doc, _ := json.Marshal(map[string]any{"output_dir": b.TempDir(), "bus": map[string]any{"sync_interval": "1m"}})
	h, err := start(doc)
	if err != nil {
		b.Fatal(err)
	}
	defer shutdown(h, time.Minute)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		// Each request differs: the bus drops a repeated one as a retry.
		js := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"span","startTimeUnixNano":"` + strconv.Itoa(i) + `"}]}]}]}`
		if _, err := export(h, schema.Traces, JSON, []byte(js)); err != nil {
			b.Fatal(err)
		}
	}
}
