package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"testing"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func res(service string) *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{
		Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: service}},
	}}}
}

// resourceSpans builds n spans of service with the given trace id (random
// when nil) and a random (incompressible) attribute of attrBytes bytes.
func resourceSpans(service string, n int, traceID []byte, attrBytes int) *tracepb.ResourceSpans {
	ss := &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: "raw-test"}}
	for i := range n {
		tid := traceID
		if tid == nil {
			tid = randBytes(16)
		}
		s := &tracepb.Span{
			TraceId: tid, SpanId: randBytes(8), Name: service + "-span",
			Kind:              tracepb.Span_SPAN_KIND_CLIENT,
			StartTimeUnixNano: uint64(time.Now().UnixNano()) + uint64(i), EndTimeUnixNano: uint64(time.Now().UnixNano()) + 1000,
		}
		if attrBytes > 0 {
			s.Attributes = []*commonpb.KeyValue{{Key: "blob", Value: &commonpb.AnyValue{
				Value: &commonpb.AnyValue_StringValue{StringValue: hex.EncodeToString(randBytes(attrBytes / 2))}}}}
		}
		ss.Spans = append(ss.Spans, s)
	}
	return &tracepb.ResourceSpans{Resource: res(service), ScopeSpans: []*tracepb.ScopeSpans{ss}}
}

func traceRequest(rss ...*tracepb.ResourceSpans) *coltracepb.ExportTraceServiceRequest {
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: rss}
}

func metricRequest(service string) *colmetricspb.ExportMetricsServiceRequest {
	return &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: []*metricspb.ResourceMetrics{{
		Resource: res(service),
		ScopeMetrics: []*metricspb.ScopeMetrics{{Metrics: []*metricspb.Metric{{
			Name: "temperature",
			Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: []*metricspb.NumberDataPoint{
				{TimeUnixNano: 1, Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: 21.5}},
				{TimeUnixNano: 2, Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: 22.5}},
			}}},
		}}}},
	}}}
}

func logRequest(service string) *collogspb.ExportLogsServiceRequest {
	return &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
		Resource: res(service),
		ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{{
			TimeUnixNano: 1, Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "line"}},
		}}}},
	}}}
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// post sends body to the service's path and returns the response and its
// body.
func post(t *testing.T, s *Service, path, contentType, encoding string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+s.HTTPAddr().String()+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return resp, b
}

func grpcConn(t *testing.T, s *Service) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(s.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func exportTraces(t *testing.T, s *Service, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return coltracepb.NewTraceServiceClient(grpcConn(t, s)).Export(ctx, req)
}

// retryInfo returns the RetryInfo detail of err's status, or nil.
func retryInfo(err error) *errdetails.RetryInfo {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri
		}
	}
	return nil
}

// mustSucceed sends a small valid request over both protocols.
func mustSucceed(t *testing.T, s *Service) {
	t.Helper()
	if _, err := exportTraces(t, s, traceRequest(resourceSpans("ok", 1, nil, 0))); err != nil {
		t.Fatalf("well-behaved gRPC client: %v", err)
	}
	resp, _ := post(t, s, PathTraces, contentTypeProto, "", bytes.NewReader(mustMarshal(t, traceRequest(resourceSpans("ok", 1, nil, 0)))))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("well-behaved HTTP client: status %d", resp.StatusCode)
	}
}

// gzipBomb returns a multi-member gzip stream inflating to mib MiB of zeros:
// one compressed MiB repeated, which gzip readers read as one stream.
func gzipBomb(t *testing.T, mib int) *bytes.Buffer {
	t.Helper()
	member := gzipBytes(t, make([]byte, 1<<20))
	return bytes.NewBuffer(bytes.Repeat(member, mib))
}

func coltracepbClient(conn *grpc.ClientConn) coltracepb.TraceServiceClient {
	return coltracepb.NewTraceServiceClient(conn)
}
