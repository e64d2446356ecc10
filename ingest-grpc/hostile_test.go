package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

const (
	goodToken   = "good-token-0123456789abcdef"
	traceMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
)

// answer is what a client got: the gRPC code (or the google.rpc.Status code
// of an HTTP body), the HTTP status (0 for gRPC) and the message.
type answer struct {
	code   codes.Code
	status int
	msg    string
	header http.Header
}

// hostileClient sends raw requests to one service.
type hostileClient struct {
	t    *testing.T
	s    *Service
	conn *grpc.ClientConn
}

// grpc sends b undecoded to the trace Export method with the given bearer
// token ("" for none).
func (c hostileClient) grpc(b []byte, token string, opts ...grpc.CallOption) answer {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	var out []byte
	err := c.conn.Invoke(ctx, traceMethod, &b, &out, append(opts, grpc.ForceCodecV2(bytesCodec{}))...)
	st := status.Convert(err)
	return answer{code: st.Code(), msg: st.Message()}
}

// http posts body to /v1/traces and decodes the google.rpc.Status answer.
func (c hostileClient) http(body io.Reader, contentType, encoding, authorization string) answer {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+c.s.HTTPAddr().String()+PathTraces, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode == http.StatusOK {
		return a
	}
	var st spb.Status
	switch resp.Header.Get("Content-Type") {
	case contentTypeProto:
		err = proto.Unmarshal(b, &st)
	case contentTypeJSON:
		err = protojson.Unmarshal(b, &st)
	default: // plain text (415 and the like)
		a.msg = strings.TrimSpace(string(b))
		return a
	}
	if err != nil {
		c.t.Fatalf("status body %q: %v", b, err)
	}
	a.code, a.msg = codes.Code(st.GetCode()), st.GetMessage()
	return a
}

func bearer(tok string) string { return "Bearer " + tok }

// spanWith is a valid one-span request of service "hostile" whose span has
// the given attributes.
func spanWith(attrs ...*commonpb.KeyValue) *coltracepb.ExportTraceServiceRequest {
	rs := resourceSpans("hostile", 1, nil, 0)
	rs.ScopeSpans[0].Spans[0].Name = "hostile-accepted"
	rs.ScopeSpans[0].Spans[0].Attributes = attrs
	return traceRequest(rs)
}

func strValue(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func nestedValue(depth int) *commonpb.AnyValue {
	v := strValue("leaf")
	for range depth - 1 {
		v = &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{
			Values: []*commonpb.KeyValue{{Key: "in", Value: v}}}}}
	}
	return v
}

// goodClient sends valid one-span requests over gRPC and HTTP, alternately,
// until stopped, and remembers the span names acknowledged.
type goodClient struct {
	mu     sync.Mutex
	acked  []string
	errs   []string
	cancel context.CancelFunc
	done   chan struct{}
}

func startGoodClient(t *testing.T, s *Service) *goodClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g := &goodClient{cancel: cancel, done: make(chan struct{})}
	client := coltracepb.NewTraceServiceClient(grpcConn(t, s))
	go func() {
		defer close(g.done)
		for i := 0; ctx.Err() == nil; i++ {
			name := fmt.Sprintf("good-%d", i)
			rs := resourceSpans("good", 1, nil, 64)
			rs.ScopeSpans[0].Spans[0].Name = name
			req := traceRequest(rs)
			var err error
			if i%2 == 0 {
				cctx, ccancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", bearer(goodToken)), 10*time.Second)
				_, err = client.Export(cctx, req)
				ccancel()
			} else {
				err = postGood(s, req)
			}
			g.mu.Lock()
			if err != nil {
				g.errs = append(g.errs, fmt.Sprintf("%s: %v", name, err))
			} else {
				g.acked = append(g.acked, name)
			}
			g.mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return g
}

func postGood(s *Service, req proto.Message) error {
	b, err := proto.Marshal(req)
	if err != nil {
		return err
	}
	hreq, err := http.NewRequest(http.MethodPost, "http://"+s.HTTPAddr().String()+PathTraces, bytes.NewReader(b))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", contentTypeProto)
	hreq.Header.Set("Authorization", bearer(goodToken))
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func (g *goodClient) stop() {
	g.cancel()
	<-g.done
}

// TestHostileInput sends every kind of bad input, checks the exact answer
// to each, and checks that a well-behaved client sending at the same time
// loses nothing.
func TestHostileInput(t *testing.T) {
	b := runBus(t)
	reg := prometheus.NewRegistry()
	const maxRequest = 1 << 20
	s := startServiceReg(t, b.js, reg, func(c *Config) {
		c.MaxRequestBytes = maxRequest
		c.MaxInflightBytes = 32 << 20
		c.Auth.Tokens = []string{"another-token", goodToken}
	})
	hc := hostileClient{t: t, s: s, conn: grpcConn(t, s)}
	good := startGoodClient(t, s)

	valid := mustMarshal(t, spanWith())
	badID := spanWith()
	badID.ResourceSpans[0].ScopeSpans[0].Spans[0].TraceId = []byte{1, 2, 3}
	invalidUTF8 := bytes.Replace(mustMarshal(t, spanWith(&commonpb.KeyValue{Key: "k", Value: strValue("AAAA")})),
		[]byte("AAAA"), []byte("\xff\xfe\xfd\xfc"), 1)
	oversize := mustMarshal(t, spanWith(&commonpb.KeyValue{Key: "k", Value: strValue(strings.Repeat("x", maxRequest))}))
	// Compresses to a few KiB, inflates to 2 MiB: a protobuf bomb for gRPC.
	grpcBomb := spanWith(&commonpb.KeyValue{Key: "k", Value: strValue(strings.Repeat("a", 2<<20))})
	huge := spanWith(&commonpb.KeyValue{Key: "huge", Value: strValue(strings.Repeat("h", 512<<10))})
	many := spanWith(func() []*commonpb.KeyValue {
		var kvs []*commonpb.KeyValue
		for i := range DefaultMaxAttributes + 10 {
			kvs = append(kvs, &commonpb.KeyValue{Key: fmt.Sprintf("k%d", i), Value: strValue("v")})
		}
		return kvs
	}()...)
	deep := spanWith(&commonpb.KeyValue{Key: "deep", Value: nestedValue(33)})

	tests := []struct {
		name   string
		send   func() answer
		want   answer
		prefix bool // want.msg is a prefix: the rest comes from a library
	}{
		{"grpc malformed protobuf", func() answer { return hc.grpc([]byte("\xff\xff\xff\xff"), goodToken) },
			answer{code: codes.InvalidArgument, msg: "decode traces request: publish: invalid request: unmarshal OTLP traces request: "}, true},
		{"http malformed protobuf", func() answer {
			return hc.http(strings.NewReader("\xff\xff\xff\xff"), contentTypeProto, "", bearer(goodToken))
		}, answer{code: codes.InvalidArgument, status: 400, msg: "decode traces request: publish: invalid request: unmarshal OTLP traces request: "}, true},
		{"grpc invalid trace id", func() answer { return hc.grpc(mustMarshal(t, badID), goodToken) },
			answer{code: codes.InvalidArgument, msg: `publish traces: publish: invalid request: rejected 1 spans of service "hostile": schema: invalid data: unmarshal: invalid TraceID length`}, false},
		{"grpc invalid UTF-8", func() answer { return hc.grpc(invalidUTF8, goodToken) },
			answer{code: codes.InvalidArgument, msg: `publish traces: publish: invalid request: rejected 1 spans of service "hostile": span "hostile-accepted": schema: invalid data: attribute "k" contains invalid UTF-8`}, false},
		{"http invalid UTF-8 in JSON", func() answer {
			return hc.http(strings.NewReader(strings.Replace(jsonTraces, "json-span", "json-\xff-span", 1)), contentTypeJSON, "", bearer(goodToken))
		}, answer{code: codes.InvalidArgument, status: 400, msg: `publish traces: publish: invalid request: rejected 1 spans of service "svc-json": span "json-\xff-span": schema: invalid data: name contains invalid UTF-8`}, false},
		{"http gzip bomb", func() answer {
			return hc.http(bytes.NewReader(gzipBomb(t, 64).Bytes()), contentTypeProto, "gzip", bearer(goodToken))
		}, answer{code: codes.ResourceExhausted, status: 413, msg: "read request: ingest: request too large: body above 1048576 bytes"}, false},
		{"grpc gzip bomb", func() answer {
			return hc.grpc(mustMarshal(t, grpcBomb), goodToken, grpc.UseCompressor("gzip"))
		}, answer{code: codes.ResourceExhausted, msg: "grpc: received message after decompression larger than max 1048576"}, false},
		{"grpc oversize", func() answer { return hc.grpc(oversize, goodToken) },
			answer{code: codes.ResourceExhausted, msg: fmt.Sprintf("grpc: received message larger than max (%d vs. 1048576)", len(oversize))}, false},
		{"http oversize", func() answer { return hc.http(bytes.NewReader(oversize), contentTypeProto, "", bearer(goodToken)) },
			answer{code: codes.ResourceExhausted, status: 413, msg: fmt.Sprintf("read request: ingest: request too large: content length %d above 1048576", len(oversize))}, false},
		{"grpc huge attribute truncated", func() answer { return hc.grpc(mustMarshal(t, huge), goodToken) },
			answer{code: codes.OK}, false},
		{"http too many attributes dropped", func() answer {
			return hc.http(bytes.NewReader(mustMarshal(t, many)), contentTypeProto, "", bearer(goodToken))
		}, answer{status: 200}, false},
		{"grpc deeply nested value", func() answer { return hc.grpc(mustMarshal(t, deep), goodToken) },
			answer{code: codes.InvalidArgument, msg: `publish traces: publish: invalid request: rejected 1 spans of service "hostile": schema: invalid data: attribute "deep" of span: value nested deeper than 32 levels`}, false},
		{"http bad JSON", func() answer {
			return hc.http(strings.NewReader(`{"resourceSpans":[`), contentTypeJSON, "", bearer(goodToken))
		}, answer{code: codes.InvalidArgument, status: 400, msg: "decode traces request: publish: invalid request: "}, true},
		{"http wrong content type", func() answer { return hc.http(bytes.NewReader(valid), "text/plain", "", bearer(goodToken)) },
			answer{status: 415, msg: `unsupported media type: content type "text/plain": want application/x-protobuf or application/json`}, false},
		{"grpc missing auth", func() answer { return hc.grpc(valid, "") },
			answer{code: codes.Unauthenticated, msg: "ingest: unauthenticated: missing bearer token (want authorization: Bearer <token>)"}, false},
		{"http missing auth", func() answer { return hc.http(bytes.NewReader(valid), contentTypeProto, "", "") },
			answer{code: codes.Unauthenticated, status: 401, msg: "ingest: unauthenticated: missing bearer token (want authorization: Bearer <token>)"}, false},
		{"grpc bad token", func() answer { return hc.grpc(valid, "good-token-0123456789abcdeX") },
			answer{code: codes.Unauthenticated, msg: "ingest: unauthenticated: invalid bearer token"}, false},
		{"http bad token", func() answer { return hc.http(bytes.NewReader(valid), contentTypeProto, "", bearer("nope")) },
			answer{code: codes.Unauthenticated, status: 401, msg: "ingest: unauthenticated: invalid bearer token"}, false},
		{"http basic auth", func() answer { return hc.http(bytes.NewReader(valid), contentTypeJSON, "", "Basic dXNlcjpwYXNz") },
			answer{code: codes.Unauthenticated, status: 401, msg: "ingest: unauthenticated: authorization is not a bearer token"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.send()
			if got.code != tt.want.code || got.status != tt.want.status {
				t.Fatalf("answer = %v / HTTP %d (%q), want %v / HTTP %d", got.code, got.status, got.msg, tt.want.code, tt.want.status)
			}
			if tt.prefix {
				if !strings.HasPrefix(got.msg, tt.want.msg) || len(got.msg) == len(tt.want.msg) {
					t.Errorf("message = %q, want %q and more", got.msg, tt.want.msg)
				}
			} else if got.msg != tt.want.msg {
				t.Errorf("message = %q\nwant      %q", got.msg, tt.want.msg)
			}
			if got.status == http.StatusUnauthorized {
				if got, want := got.header.Get("WWW-Authenticate"), wwwAuthenticate; got != want {
					t.Errorf("WWW-Authenticate = %q, want %q", got, want)
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond) // the good client keeps sending a little after the last attack
	good.stop()

	if len(good.errs) > 0 {
		t.Errorf("well-behaved client failed %d times: %v", len(good.errs), good.errs)
	}
	rss := bustest.Traces(t, bustest.ReadMessages(t, b.js, schema.Traces))
	got := map[string]int{}
	var accepted []*tracepb.Span
	for _, rs := range rss {
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				got[sp.GetName()]++
				if sp.GetName() == "hostile-accepted" {
					accepted = append(accepted, sp)
				}
			}
		}
	}
	for _, name := range good.acked {
		if got[name] != 1 {
			t.Errorf("good span %s stored %d times, want 1", name, got[name])
		}
	}
	t.Logf("well-behaved client: %d requests acknowledged", len(good.acked))
	if len(good.acked) == 0 {
		t.Error("well-behaved client got nothing through")
	}
	// Only the two accepted hostile requests were stored, limited.
	if got, want := len(accepted), 2; got != want {
		t.Fatalf("hostile spans stored = %d, want %d", got, want)
	}
	for _, sp := range accepted {
		switch len(sp.GetAttributes()) {
		case 1:
			if got, want := len(sp.GetAttributes()[0].GetValue().GetStringValue()), DefaultMaxAttributeValueLength; got != want {
				t.Errorf("huge attribute stored with %d bytes, want %d", got, want)
			}
		case DefaultMaxAttributes:
			if got, want := sp.GetDroppedAttributesCount(), uint32(10); got != want {
				t.Errorf("dropped attributes = %d, want %d", got, want)
			}
		default:
			t.Errorf("accepted span has %d attributes", len(sp.GetAttributes()))
		}
	}
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"otlp_arrow_ingest_auth_failures_total", map[string]string{"protocol": "grpc"}, 2},
		{"otlp_arrow_ingest_auth_failures_total", map[string]string{"protocol": "http"}, 3},
		{"otlp_arrow_ingest_requests_total", map[string]string{"protocol": "grpc", "signal": "traces", "code": "Unauthenticated"}, 2},
		{"otlp_arrow_ingest_requests_total", map[string]string{"protocol": "http", "signal": "traces", "code": "401"}, 3},
		{"otlp_arrow_ingest_attributes_truncated_total", map[string]string{"signal": "traces", "kind": "value_length"}, 1},
		{"otlp_arrow_ingest_attributes_truncated_total", map[string]string{"signal": "traces", "kind": "count"}, 10},
	} {
		if got := gatheredValue(t, reg, tt.name, tt.labels); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if got := s.limiter.InFlight(); got != 0 {
		t.Errorf("bytes in flight after the attacks = %d, want 0", got)
	}
}
