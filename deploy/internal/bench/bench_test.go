package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/deploy/config"
	"github.com/otlp-arrow/otlp-arrow/deploy/pipeline"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// rowsOf decodes an OTLP request and counts its rows.
func rowsOf(t *testing.T, sig schema.Signal, b []byte) int {
	t.Helper()
	n := 0
	switch sig {
	case schema.Traces:
		var r coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		for _, rs := range r.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				n += len(ss.Spans)
			}
		}
	case schema.Logs:
		var r collogspb.ExportLogsServiceRequest
		if err := proto.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		for _, rl := range r.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				n += len(sl.LogRecords)
			}
		}
	case schema.Metrics:
		var r colmetricspb.ExportMetricsServiceRequest
		if err := proto.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		rms := r.ResourceMetrics
		for _, rm := range rms {
			n += int(schema.CountDataPoints(rm))
		}
	}
	return n
}

// fakeStream replays Flight messages as a DoPut stream would deliver them.
type fakeStream struct{ msgs []*flight.FlightData }

func (f *fakeStream) Recv() (*flight.FlightData, error) {
	if len(f.msgs) == 0 {
		return nil, io.EOF
	}
	m := f.msgs[0]
	f.msgs = f.msgs[1:]
	return m, nil
}

func TestBuildRequests(t *testing.T) {
	for _, sig := range schema.Signals {
		for _, fl := range []bool{false, true} {
			name := string(sig)
			if fl {
				name += "/flight"
			}
			t.Run(name, func(t *testing.T) {
				reqs, schemaMsg, err := buildRequests(build{signal: sig, flight: fl, rows: 50, resources: 3, services: 5, seed: 7}, 4)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := len(reqs), 4; got != want {
					t.Fatalf("requests = %d, want %d", got, want)
				}
				for _, r := range reqs {
					if got, want := rowsOf(t, sig, r.pb), 50; got != want {
						t.Errorf("protobuf rows = %d, want %d", got, want)
					}
					if got, want := len(r.marks), 3; got != want {
						t.Errorf("markers = %d, want one per resource (%d)", got, want)
					}
				}
				// Two stamps give two different encodings of the same rows.
				r := reqs[0]
				encoding := func() []byte {
					if !fl {
						return bytes.Clone(r.pb)
					}
					return bytes.Clone(r.msgs[len(r.msgs)-1].DataBody)
				}
				r.stamp(1)
				a := encoding()
				r.stamp(2)
				b := encoding()
				if bytes.Equal(a, b) {
					t.Error("stamp did not change the request")
				}
				if !fl {
					if got, want := rowsOf(t, sig, r.pb), 50; got != want {
						t.Errorf("rows after stamp = %d, want %d", got, want)
					}
					return
				}
				// The Flight messages of several requests read back as one
				// stream of batches in the signal's schema.
				msgs := []*flight.FlightData{schemaMsg}
				for _, r := range reqs {
					msgs = append(msgs, r.msgs...)
				}
				rdr, err := flight.NewRecordReader(&fakeStream{msgs: msgs})
				if err != nil {
					t.Fatal(err)
				}
				defer rdr.Release()
				if got := rdr.LatestFlightDescriptor().GetPath(); len(got) != 1 || got[0] != string(sig) {
					t.Errorf("descriptor path = %q, want [%s]", got, sig)
				}
				if !rdr.Schema().Equal(schema.Schema(sig)) {
					t.Errorf("schema differs from schema.Schema(%s)", sig)
				}
				rows := int64(0)
				for rdr.Next() {
					rows += rdr.RecordBatch().NumRows()
				}
				if err := rdr.Err(); err != nil {
					t.Fatal(err)
				}
				if got, want := rows, int64(4*50); got != want {
					t.Errorf("flight rows = %d, want %d", got, want)
				}
			})
		}
	}
}

func TestParseMetrics(t *testing.T) {
	in := `# HELP process_cpu_seconds_total CPU
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
otlp_arrow_writer_rows_written_total{signal="traces"} 300
otlp_arrow_writer_rows_written_total{signal="logs"} 7
otlp_arrow_ingest_rows_received_total{protocol="grpc",signal="traces"} 200 1700000000000
otlp_arrow_ingest_rows_received_total{protocol="http",signal="traces"} 100
`
	m, err := parseMetrics(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		match []string
		want  float64
	}{
		{"process_cpu_seconds_total", nil, 12.5},
		{"otlp_arrow_writer_rows_written_total", []string{`signal="traces"`}, 300},
		{"otlp_arrow_writer_rows_written_total", nil, 307},
		{"otlp_arrow_ingest_rows_received_total", []string{`signal="traces"`}, 300},
		{"otlp_arrow_ingest_rows_received_total", []string{`protocol="http"`}, 100},
		{"missing", nil, 0},
	} {
		if got := sumSeries(m, tt.name, tt.match...); got != tt.want {
			t.Errorf("sumSeries(%s, %v) = %v, want %v", tt.name, tt.match, got, tt.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"defaults", nil, true},
		{"flight", []string{"-protocol", "flight", "-signal", "logs", "-rate", "1000"}, true},
		{"bad protocol", []string{"-protocol", "udp"}, false},
		{"bad signal", []string{"-signal", "profiles"}, false},
		{"bad batch", []string{"-batch", "0"}, false},
		{"resources above batch", []string{"-batch", "2", "-resources", "3"}, false},
		{"bad pid", []string{"-pid", "x"}, false},
		{"extra args", []string{"now"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFlags(tt.args, io.Discard)
			if got := err == nil; got != tt.ok {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// startPipeline runs the whole pipeline in-process on loopback ports, with
// a /metrics endpoint like the admin server's.
func startPipeline(t *testing.T) (*pipeline.Pipeline, string) {
	t.Helper()
	c := config.Default()
	c.OutputDir = t.TempDir()
	c.DataDir = t.TempDir()
	c.Ingest.GRPCAddr = "127.0.0.1:0"
	c.Ingest.HTTPAddr = "127.0.0.1:0"
	c.Flight.Addr = "127.0.0.1:0"
	c.Flight.Enabled = true
	c.Bus.Port = 0
	c.Writer.WriteInterval = 100 * time.Millisecond
	c.Janitor.Enabled = false
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := pipeline.Start(ctx, pipeline.WithConfig(c), pipeline.WithRegisterer(reg), pipeline.WithIngest(true), pipeline.WithFlight(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return p, srv.URL + "/metrics"
}

// TestRunAgainstPipeline sends each protocol's load for a moment to a real
// pipeline and checks that every accepted row was written.
func TestRunAgainstPipeline(t *testing.T) {
	p, metricsURL := startPipeline(t)
	for _, tt := range []struct {
		protocol string
		signal   string
		endpoint string
	}{
		{ProtoGRPC, "traces", p.GRPCAddr().String()},
		{ProtoHTTP, "logs", p.HTTPAddr().String()},
		{ProtoFlight, "metrics", p.FlightAddr().String()},
	} {
		t.Run(tt.protocol, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := []string{"-protocol", tt.protocol, "-signal", tt.signal, "-endpoint", tt.endpoint,
				"-connections", "2", "-workers", "2", "-batch", "20", "-resources", "2", "-rate", "2000",
				"-warmup", "0", "-duration", "700ms", "-settle", "0", "-drain", "20s",
				"-metrics-url", metricsURL, "-json", "-"}
			if err := Run(context.Background(), args, &stdout, &stderr); err != nil {
				t.Fatalf("run: %v\n%s", err, stderr.String())
			}
			var rep Report
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("report is not JSON: %v\n%s", err, stdout.String())
			}
			if rep.RowsAccepted == 0 || rep.RequestsOK == 0 {
				t.Fatalf("nothing accepted: %+v", rep)
			}
			if len(rep.Errors) > 0 {
				t.Errorf("errors = %v (last: %s)", rep.Errors, rep.LastError)
			}
			if got, want := rep.RowsAccepted, rep.RowsSent; got != want {
				t.Errorf("rows accepted = %d, want all sent (%d)", got, want)
			}
			if rep.Target == nil {
				t.Fatal("no target figures")
			}
			// Every accepted row is written: the stamps keep the bus from
			// deduplicating repeated requests.
			if got, want := rep.Target.RowsWritten, rep.RowsAccepted; got != want {
				t.Errorf("rows written = %d, want the rows accepted (%d)", got, want)
			}
			if rep.Target.BytesWritten <= 0 || rep.Latency.P50 <= 0 {
				t.Errorf("bytes written %d, p50 %v: want > 0", rep.Target.BytesWritten, rep.Latency.P50)
			}
		})
	}
}

// TestTable checks the human report names the key figures.
func TestTable(t *testing.T) {
	rep := &Report{Config: ReportConfig{Protocol: "grpc", Signal: "traces"}, Errors: map[string]int64{"Unavailable": 3},
		Target: &TargetFigures{CPUPerMillionRows: 4.2}}
	var b bytes.Buffer
	rep.WriteTable(&b)
	for _, want := range []string{"rows accepted", "latency ms", "Unavailable=3", "per million rows"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

// TestWorkloads checks that the requests of each workload hold what its flag
// says: rows, resources per request, and the services they come from.
func TestWorkloads(t *testing.T) {
	for _, tt := range []struct {
		name                      string
		args                      []string
		rows, resources, services int
		workers                   int
	}{
		{"sdk", nil, 100, 1, 8, 8},
		{"gateway", []string{"-workload", "gateway"}, 8192, 20, 20, 8},
		{"gateway, explicit batch", []string{"-workload", "gateway", "-batch", "500", "-connections", "3"}, 500, 20, 20, 12},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseFlags(tt.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Batch != tt.rows || cfg.Resources != tt.resources || cfg.Services != tt.services || cfg.Workers != tt.workers {
				t.Fatalf("batch %d, resources %d, services %d, workers %d; want %d, %d, %d, %d",
					cfg.Batch, cfg.Resources, cfg.Services, cfg.Workers, tt.rows, tt.resources, tt.services, tt.workers)
			}
			// As many requests as it takes to cycle through the services.
			n := (tt.services + tt.resources - 1) / tt.resources
			reqs, _, err := buildRequests(cfg.build(), n)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for i, r := range reqs {
				var req coltracepb.ExportTraceServiceRequest
				if err := proto.Unmarshal(r.pb, &req); err != nil {
					t.Fatal(err)
				}
				if got := len(req.ResourceSpans); got != tt.resources {
					t.Errorf("request %d: %d resources, want %d", i, got, tt.resources)
				}
				inReq := map[string]bool{}
				rows := 0
				for _, rs := range req.ResourceSpans {
					svc := schema.ServiceName(rs.Resource)
					if inReq[svc] {
						t.Errorf("request %d: service %q in two resources", i, svc)
					}
					inReq[svc], seen[svc] = true, true
					for _, ss := range rs.ScopeSpans {
						rows += len(ss.Spans)
					}
				}
				if len(r.ids) < 2*tt.rows {
					t.Errorf("request %d: %d trace and span ids to rewrite, want at least two per span", i, len(r.ids))
				}
				if rows != tt.rows || r.rows != tt.rows {
					t.Errorf("request %d: %d spans (counted %d), want %d", i, rows, r.rows, tt.rows)
				}
			}
			if got := len(seen); got != tt.services {
				t.Errorf("%d services over %d requests, want %d", got, n, tt.services)
			}
		})
	}
	if _, err := ParseFlags([]string{"-workload", "agent"}, io.Discard); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("-workload agent: err = %v, want ErrInvalidConfig", err)
	}
}
