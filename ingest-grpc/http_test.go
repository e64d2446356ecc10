package ingest

import (
	"bytes"
	"encoding/hex"
	"github.com/otlp-arrow/otlp-arrow/proto/otlpstatus"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func TestHTTPProtobufEverySignal(t *testing.T) {
	b := runBus(t)
	s := startService(t, b.js, nil)
	tests := []struct {
		path string
		sig  schema.Signal
		req  proto.Message
		resp proto.Message
		rows string
	}{
		{PathTraces, schema.Traces, traceRequest(resourceSpans("svc-p", 3, nil, 0)), &coltracepb.ExportTraceServiceResponse{}, "3"},
		{PathMetrics, schema.Metrics, metricRequest("svc-p"), &colmetricspb.ExportMetricsServiceResponse{}, "2"},
		{PathLogs, schema.Logs, logRequest("svc-p"), &collogspb.ExportLogsServiceResponse{}, "1"},
	}
	for _, tt := range tests {
		t.Run(string(tt.sig), func(t *testing.T) {
			resp, body := post(t, s, tt.path, "application/x-protobuf", "", bytes.NewReader(mustMarshal(t, tt.req)))
			if got, want := resp.StatusCode, http.StatusOK; got != want {
				t.Fatalf("status = %d, want %d (%s)", got, want, body)
			}
			if got, want := resp.Header.Get("Content-Type"), contentTypeProto; got != want {
				t.Errorf("content type = %q, want %q", got, want)
			}
			if err := proto.Unmarshal(body, tt.resp); err != nil {
				t.Fatalf("response: %v", err)
			}
			msgs := bustest.ReadMessages(t, b.js, tt.sig)
			if got, want := len(msgs), 1; got != want {
				t.Fatalf("messages = %d, want %d", got, want)
			}
			if got, want := msgs[0].Subject, "otlp."+string(tt.sig)+".svc-p"; got != want {
				t.Errorf("subject = %q, want %q", got, want)
			}
			if got, want := msgs[0].Header.Get(bus.HeaderRows), tt.rows; got != want {
				t.Errorf("rows = %q, want %q", got, want)
			}
		})
	}
}

const jsonTraces = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc-json"}}]},
 "scopeSpans":[{"scope":{"name":"json-scope"},"spans":[{
  "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","parentSpanId":"eee19b7ec3c1b173",
  "name":"json-span","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000",
  "attributes":[{"key":"big","value":{"intValue":"9007199254740993"}}],
  "status":{"code":2,"message":"boom"}}]}]}]}`

func TestHTTPJSON(t *testing.T) {
	b := runBus(t)
	s := startService(t, b.js, nil)
	resp, body := post(t, s, PathTraces, "application/json; charset=utf-8", "", strings.NewReader(jsonTraces))
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("status = %d, want %d (%s)", got, want, body)
	}
	if got, want := resp.Header.Get("Content-Type"), contentTypeJSON; got != want {
		t.Errorf("content type = %q, want %q", got, want)
	}
	er := ptraceotlp.NewExportResponse()
	if err := er.UnmarshalJSON(body); err != nil {
		t.Fatalf("response %q: %v", body, err)
	}
	spans := allSpans(bustest.Traces(t, bustest.ReadMessages(t, b.js, schema.Traces)))
	sp, ok := spans["json-span"]
	if !ok {
		t.Fatalf("json-span missing: %v", spans)
	}
	if got, want := hex.EncodeToString(sp.GetTraceId()), "5b8efff798038103d269b633813fc60c"; got != want {
		t.Errorf("trace id = %s, want %s", got, want)
	}
	if got, want := hex.EncodeToString(sp.GetParentSpanId()), "eee19b7ec3c1b173"; got != want {
		t.Errorf("parent span id = %s, want %s", got, want)
	}
	if got, want := sp.GetKind(), tracepb.Span_SPAN_KIND_SERVER; got != want {
		t.Errorf("kind = %v, want %v", got, want)
	}
	if got, want := sp.GetStartTimeUnixNano(), uint64(1544712660000000000); got != want {
		t.Errorf("start = %d, want %d", got, want)
	}
	if got, want := sp.GetAttributes()[0].GetValue().GetIntValue(), int64(9007199254740993); got != want {
		t.Errorf("big = %d, want %d", got, want)
	}
	if got, want := sp.GetStatus().GetCode(), tracepb.Status_STATUS_CODE_ERROR; got != want {
		t.Errorf("status = %v, want %v", got, want)
	}
}

func TestHTTPGzip(t *testing.T) {
	b := runBus(t)
	s := startService(t, b.js, nil)
	body := gzipBytes(t, mustMarshal(t, traceRequest(resourceSpans("svc-gz", 4, nil, 100))))
	resp, rb := post(t, s, PathTraces, contentTypeProto, "gzip", bytes.NewReader(body))
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("status = %d, want %d (%s)", got, want, rb)
	}
	if got, want := len(allSpans(bustest.Traces(t, bustest.ReadMessages(t, b.js, schema.Traces)))), 1; got != want {
		t.Fatalf("distinct span names = %d, want %d", got, want)
	}
	resp, _ = post(t, s, PathTraces, contentTypeJSON, "gzip", bytes.NewReader(gzipBytes(t, []byte(jsonTraces))))
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("gzip JSON status = %d, want %d", got, want)
	}
}

// checkStatusBody decodes a google.rpc.Status answer in the given encoding.
func checkStatusBody(t *testing.T, resp *http.Response, body []byte, isJSON bool, want codes.Code) {
	t.Helper()
	var st spb.Status
	var err error
	if isJSON {
		if got, want := resp.Header.Get("Content-Type"), contentTypeJSON; got != want {
			t.Errorf("content type = %q, want %q", got, want)
		}
		err = protojson.Unmarshal(body, &st)
	} else {
		if got, want := resp.Header.Get("Content-Type"), contentTypeProto; got != want {
			t.Errorf("content type = %q, want %q", got, want)
		}
		err = proto.Unmarshal(body, &st)
	}
	if err != nil {
		t.Fatalf("status body %q: %v", body, err)
	}
	if got := codes.Code(st.GetCode()); got != want {
		t.Errorf("status code = %v, want %v", got, want)
	}
	if st.GetMessage() == "" {
		t.Errorf("status message is empty")
	}
}

func TestHTTPErrors(t *testing.T) {
	b := runBus(t)
	s := startService(t, b.js, func(c *Config) { c.MaxRequestBytes = 64 << 10 })
	big := mustMarshal(t, traceRequest(resourceSpans("big", 1, nil, 100<<10)))
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		encoding    string
		body        func() io.Reader
		status      int
		statusCode  codes.Code // google.rpc.Status code in the body; OK: no body check
		isJSON      bool
	}{
		{"malformed protobuf", http.MethodPost, PathTraces, contentTypeProto, "", func() io.Reader { return strings.NewReader("\xff\xff\xff\xff") }, 400, codes.InvalidArgument, false},
		{"bad JSON", http.MethodPost, PathMetrics, contentTypeJSON, "", func() io.Reader { return strings.NewReader(`{"resourceMetrics":[`) }, 400, codes.InvalidArgument, true},
		{"bad hex id in JSON", http.MethodPost, PathTraces, contentTypeJSON, "", func() io.Reader {
			return strings.NewReader(strings.Replace(jsonTraces, "5b8efff798038103d269b633813fc60c", "zz", 1))
		}, 400, codes.InvalidArgument, true},
		{"corrupt gzip", http.MethodPost, PathLogs, contentTypeProto, "gzip", func() io.Reader { return strings.NewReader("not gzip at all") }, 400, codes.InvalidArgument, false},
		{"wrong content type", http.MethodPost, PathTraces, "text/plain", "", func() io.Reader { return strings.NewReader("x") }, 415, codes.OK, false},
		{"missing content type", http.MethodPost, PathTraces, "", "", func() io.Reader { return strings.NewReader("x") }, 415, codes.OK, false},
		{"unknown encoding", http.MethodPost, PathTraces, contentTypeProto, "br", func() io.Reader { return strings.NewReader("x") }, 415, codes.OK, false},
		{"wrong method", http.MethodGet, PathTraces, contentTypeProto, "", func() io.Reader { return nil }, 405, codes.OK, false},
		{"unknown path", http.MethodPost, "/v1/profiles", contentTypeProto, "", func() io.Reader { return nil }, 404, codes.OK, false},
		{"oversize", http.MethodPost, PathTraces, contentTypeProto, "", func() io.Reader { return bytes.NewReader(big) }, 413, codes.ResourceExhausted, false},
		{"oversize without length", http.MethodPost, PathTraces, contentTypeProto, "", func() io.Reader { return io.MultiReader(bytes.NewReader(big)) }, 413, codes.ResourceExhausted, false},
		{"oversize gzip", http.MethodPost, PathTraces, contentTypeJSON, "gzip", func() io.Reader {
			return bytes.NewReader(gzipBytes(t, bytes.Repeat([]byte(" "), 65<<10)))
		}, 413, codes.ResourceExhausted, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://"+s.HTTPAddr().String()+tt.path, tt.body())
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got, want := resp.StatusCode, tt.status; got != want {
				t.Fatalf("status = %d, want %d (%s)", got, want, body)
			}
			if tt.status == http.StatusMethodNotAllowed {
				if got, want := resp.Header.Get("Allow"), http.MethodPost; got != want {
					t.Errorf("Allow = %q, want %q", got, want)
				}
			}
			if resp.Header.Get("Retry-After") != "" {
				t.Errorf("Retry-After = %q on a permanent error", resp.Header.Get("Retry-After"))
			}
			if tt.statusCode != codes.OK {
				checkStatusBody(t, resp, body, tt.isJSON, tt.statusCode)
			}
		})
	}
	if got := bustest.ReadMessages(t, b.js, schema.Traces); len(got) != 0 {
		t.Errorf("%d trace messages published by failed requests", len(got))
	}
	if got, want := s.limiter.InFlight(), int64(0); got != want {
		t.Errorf("bytes in flight after the requests = %d, want %d", got, want)
	}
	mustSucceed(t, s)
}

func TestHTTPGzipBomb(t *testing.T) {
	b := runBus(t)
	s := startService(t, b.js, func(c *Config) { c.MaxRequestBytes = 1 << 20 })
	// 256 MiB of zeros in about 256 KiB: under the compressed limit, far
	// above the decompressed one.
	bomb := gzipBomb(t, 256)
	if bomb.Len() >= 1<<20 {
		t.Fatalf("bomb is %d bytes compressed, want < 1 MiB", bomb.Len())
	}
	resp, body := post(t, s, PathTraces, contentTypeProto, "gzip", bytes.NewReader(bomb.Bytes()))
	if got, want := resp.StatusCode, http.StatusRequestEntityTooLarge; got != want {
		t.Fatalf("status = %d, want %d (%s)", got, want, body)
	}
	checkStatusBody(t, resp, body, false, codes.ResourceExhausted)
	mustSucceed(t, s)
}

// The reader inflates at most limit+1 bytes of a bomb.
func TestReadBodyStopsInflating(t *testing.T) {
	bomb := gzipBomb(t, 64)
	req, _ := http.NewRequest(http.MethodPost, "/", bytes.NewReader(bomb.Bytes()))
	body, err := readBody(nil, req, true, 1<<17)
	if err == nil || classify(err) != otlpstatus.TooLarge {
		t.Fatalf("readBody = %d bytes, %v; want ErrRequestTooLarge", len(body), err)
	}
}

func TestHTTPEmptyRequest(t *testing.T) {
	b := runBus(t)
	s := startService(t, b.js, nil)
	for _, tt := range []struct {
		contentType, body string
	}{{contentTypeProto, ""}, {contentTypeJSON, ""}, {contentTypeJSON, "{}"}, {contentTypeJSON, `{"resourceSpans":[]}`}} {
		resp, body := post(t, s, PathTraces, tt.contentType, "", strings.NewReader(tt.body))
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Fatalf("%s %q: status = %d, want %d (%s)", tt.contentType, tt.body, got, want, body)
		}
		if tt.contentType == contentTypeProto {
			var r coltracepb.ExportTraceServiceResponse
			if err := proto.Unmarshal(body, &r); err != nil || r.GetPartialSuccess() != nil {
				t.Errorf("response = %v, %v; want empty", &r, err)
			}
		} else {
			r := ptraceotlp.NewExportResponse()
			if err := r.UnmarshalJSON(body); err != nil || r.PartialSuccess().RejectedSpans() != 0 {
				t.Errorf("response %q: %v; want empty", body, err)
			}
		}
	}
	if got := bustest.ReadMessages(t, b.js, schema.Traces); len(got) != 0 {
		t.Errorf("empty requests published %d messages", len(got))
	}
}
