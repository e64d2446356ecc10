package pipeline

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otlp-arrow/otlp-arrow/deploy/config"
	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// arrowJSDir holds the Arrow JS reader (read.mjs) and its pinned npm
// packages; scripts/test.sh installs them (npm ci).
const arrowJSDir = "testdata/arrowjs"

// jsRow is what read.mjs reports of one row.
type jsRow struct {
	Service string  `json:"service_name"`
	Name    string  `json:"name"`
	TraceID string  `json:"trace_id"`
	SpanID  string  `json:"span_id"`
	Route   *string `json:"route"`
	Status  *int64  `json:"status"`
	Events  int     `json:"events"`
	// EventNames and ResService: strings inside a list of structs and a map
	// value, dictionary-encoded in a traces/v2 file.
	EventNames []string `json:"event_names"`
	ResService *string  `json:"resource_service"`
}

type jsFile struct {
	Error   string  `json:"error"`
	NumRows int     `json:"num_rows"`
	Batches int     `json:"batches"`
	Schema  string  `json:"schema"` // the schema metadata's otlp.schema
	Rows    []jsRow `json:"rows"`
}

// TestArrowJSReads checks that a second Arrow implementation, Arrow JS
// (apache-arrow from npm, with a ZSTD and an LZ4 decoder registered in its
// compressionRegistry), reads what the pipeline writes: spans sent over
// OTLP/gRPC, then the writer's files and a bus payload captured from NATS,
// for each file and payload compression, and files in the traces/v2 layout
// (dictionary-encoded map keys and values); every row is compared with what
// was sent.
func TestArrowJSReads(t *testing.T) {
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(arrowJSDir, "node_modules", "apache-arrow"))
	}
	if err != nil {
		if os.Getenv("TEST_ARROWJS_REQUIRED") == "1" {
			t.Fatalf("Arrow JS is not installed (scripts/test.sh runs npm ci in %s): %v", arrowJSDir, err)
		}
		t.Skipf("Arrow JS is not installed (npm ci in %s): %v", arrowJSDir, err)
	}
	sent := arrowJSRequests()
	want := map[string]*tracepb.Span{}
	service := map[string]string{}
	for _, req := range sent {
		for _, rs := range req.ResourceSpans {
			for _, s := range rs.ScopeSpans[0].Spans {
				want[hex.EncodeToString(s.SpanId)] = s
				service[hex.EncodeToString(s.SpanId)] = schema.ServiceName(rs.Resource)
			}
		}
	}

	var paths []string
	kinds := map[string]string{}     // path: what it is
	passthrough := map[string]bool{} // files written with writer.passthrough
	v2 := map[string]bool{}          // files in the traces/v2 layout
	for _, cc := range []jsCase{{"zstd", "lz4", false, false}, {"lz4", "zstd", false, false}, {"none", "none", false, false},
		{"zstd", "zstd", true, false}, {"zstd", "zstd", true, true}} {
		files, payload := arrowJSRun(t, cc, sent)
		for _, f := range files {
			kinds[f] = "file written with writer.compression " + cc.file
			switch {
			case cc.v2:
				kinds[f] += " and writer.traces_schema v2 (passthrough on, not applied)"
				v2[f] = true
			case cc.passthrough:
				kinds[f] += " and writer.passthrough (the payloads' batches appended as they are)"
				passthrough[f] = true
			}
		}
		kinds[payload] = "bus payload with bus.payload_compression " + cc.payload
		paths = append(paths, files...)
		paths = append(paths, payload)
	}

	cmd := exec.Command(node, append([]string{filepath.Join(arrowJSDir, "read.mjs")}, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node read.mjs: %v\n%s", err, stderr.String())
	}
	var got map[string]jsFile
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("read.mjs output: %v\n%s", err, out)
	}

	// The files of each run hold every span once; a payload holds the
	// spans of one publish, each one sent.
	fileRows := map[string]map[string]int{} // compression: span id: count
	for _, path := range paths {
		f, ok := got[path]
		if !ok {
			t.Errorf("%s (%s): not read", path, kinds[path])
			continue
		}
		if f.Error != "" {
			t.Errorf("%s (%s): Arrow JS: %s", path, kinds[path], f.Error)
			continue
		}
		if f.NumRows != len(f.Rows) || f.NumRows == 0 {
			t.Errorf("%s (%s): %d rows, %d listed", path, kinds[path], f.NumRows, len(f.Rows))
		}
		if passthrough[path] && f.Batches < 2 {
			t.Errorf("%s (%s): %d batches, want one per payload", path, kinds[path], f.Batches)
		}
		if wantSchema := map[bool]string{true: "traces/v2"}[v2[path]]; f.Schema != wantSchema {
			t.Errorf("%s (%s): schema metadata otlp.schema %q, want %q", path, kinds[path], f.Schema, wantSchema)
		}
		for _, r := range f.Rows {
			s, ok := want[r.SpanID]
			if !ok {
				t.Errorf("%s (%s): a row with span id %q that was not sent", path, kinds[path], r.SpanID)
				continue
			}
			checkJSRow(t, kinds[path], r, s, service[r.SpanID])
		}
		if strings.HasPrefix(kinds[path], "file") {
			m := fileRows[kinds[path]]
			if m == nil {
				m = map[string]int{}
				fileRows[kinds[path]] = m
			}
			for _, r := range f.Rows {
				m[r.SpanID]++
			}
		}
	}
	for kind, m := range fileRows {
		for id := range want {
			if m[id] != 1 {
				t.Errorf("%s: span %s read %d times, want once", kind, id, m[id])
			}
		}
	}
	if len(fileRows) != 5 {
		t.Errorf("files of %d kinds read, want 5", len(fileRows))
	}
}

func checkJSRow(t *testing.T, kind string, r jsRow, s *tracepb.Span, svc string) {
	t.Helper()
	var route string
	var status int64
	for _, kv := range s.Attributes {
		switch kv.Key {
		case "http.route":
			route = kv.Value.GetStringValue()
		case "http.response.status_code":
			status = kv.Value.GetIntValue()
		}
	}
	var events []string
	for _, e := range s.Events {
		events = append(events, e.Name)
	}
	if r.Service != svc || r.Name != s.Name || r.TraceID != hex.EncodeToString(s.TraceId) ||
		r.Route == nil || *r.Route != route || r.Status == nil || *r.Status != status || r.Events != len(s.Events) ||
		!slices.Equal(r.EventNames, events) || r.ResService == nil || *r.ResService != svc {
		t.Errorf("%s: span %s read as %+v (route %v, status %v, resource service %v); sent service %q name %q trace %x route %q status %d events %q",
			kind, r.SpanID, r, deref(r.Route), deref(r.Status), deref(r.ResService), svc, s.Name, s.TraceId, route, status, events)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// arrowJSRequests are two OTLP requests of three services each, 40 spans per
// service with distinct ids, names, routes and status codes, some events.
func arrowJSRequests() []*coltracepb.ExportTraceServiceRequest {
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	var reqs []*coltracepb.ExportTraceServiceRequest
	n := 0
	for r := range 2 {
		req := &coltracepb.ExportTraceServiceRequest{}
		for svc := range 3 {
			ss := &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: "arrowjs-test"}}
			for range 40 {
				n++
				id := make([]byte, 16)
				copy(id, fmt.Sprintf("trace-%010d", n))
				start := uint64(1_760_000_000_000_000_000 + n*1000)
				s := &tracepb.Span{
					TraceId: id, SpanId: []byte(fmt.Sprintf("s%07d", n)), Name: fmt.Sprintf("GET /route/%d", n%7),
					Kind: tracepb.Span_SPAN_KIND_SERVER, StartTimeUnixNano: start, EndTimeUnixNano: start + 500,
					Attributes: []*commonpb.KeyValue{
						{Key: "http.route", Value: str(fmt.Sprintf("/route/%d", n%7))},
						{Key: "http.response.status_code", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: int64(200 + n%5)}}},
					},
				}
				if n%3 == 0 {
					s.Events = []*tracepb.Span_Event{{TimeUnixNano: start + 10, Name: "cache.miss"}}
				}
				ss.Spans = append(ss.Spans, s)
			}
			req.ResourceSpans = append(req.ResourceSpans, &tracepb.ResourceSpans{
				Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: schema.ServiceNameKey, Value: str(fmt.Sprintf("svc-%d-%d", r, svc))}}},
				ScopeSpans: []*tracepb.ScopeSpans{ss},
			})
		}
		reqs = append(reqs, req)
	}
	return reqs
}

// jsCase is a pipeline's file and bus payload compression, whether
// writer.passthrough is on for every payload, and whether trace files take
// the v2 layout.
type jsCase struct {
	file, payload   string
	passthrough, v2 bool
}

// arrowJSRun runs a pipeline configured as cc says, sends reqs over
// OTLP/gRPC, and returns the signal's files and one captured bus payload
// (written to a file), once the pipeline is shut down.
func arrowJSRun(t *testing.T, cc jsCase, reqs []*coltracepb.ExportTraceServiceRequest) (files []string, payload string) {
	fileCompression, payloadCompression := cc.file, cc.payload
	t.Helper()
	dir := t.TempDir()
	c := config.Default()
	c.OutputDir = filepath.Join(dir, "out")
	c.DataDir = filepath.Join(dir, "data")
	c.Ingest.GRPCAddr = "127.0.0.1:0"
	c.Ingest.HTTPAddr = "127.0.0.1:0"
	c.Bus.Port = 0
	c.Bus.PayloadCompression = payloadCompression
	c.Writer.Compression = fileCompression
	c.Writer.Passthrough = cc.passthrough
	if cc.v2 {
		c.Writer.TracesSchema = "v2"
	}
	c.Writer.PassthroughRows = 1
	c.Writer.WriteInterval = 50 * time.Millisecond
	c.Janitor.Enabled = false
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := Start(ctx, WithConfig(c), WithIngest(true))
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			if err := p.Shutdown(context.Background()); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}
	}
	defer stop()
	sub, err := p.NATSConn().SubscribeSync(bus.SubjectFilter(schema.Traces))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := p.NATSConn().Flush(); err != nil {
		t.Fatal(err)
	}

	conn, err := grpc.NewClient(p.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := coltracepb.NewTraceServiceClient(conn)
	for _, req := range reqs {
		resp, err := client.Export(ctx, req)
		if err != nil {
			t.Fatalf("export: %v", err)
		}
		if ps := resp.GetPartialSuccess(); ps.GetRejectedSpans() != 0 {
			t.Fatalf("export: %d spans rejected: %s", ps.GetRejectedSpans(), ps.GetErrorMessage())
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}

	msg, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("no bus payload on %s: %v", bus.SubjectFilter(schema.Traces), err)
	}
	payload = filepath.Join(dir, "payload-"+payloadCompression+".arrows")
	if err := os.WriteFile(payload, msg.Data, 0o600); err != nil {
		t.Fatal(err)
	}
	// Shutting down finishes the files (a .partial file is renamed).
	stop()
	sigDir := filepath.Join(c.OutputDir, "otlp", string(schema.Traces))
	entries, err := os.ReadDir(sigDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".arrows") {
			files = append(files, filepath.Join(sigDir, e.Name()))
		}
	}
	if len(files) == 0 {
		t.Fatalf("no traces files in %s", sigDir)
	}
	return files, payload
}
