package ingest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

const metricMethod = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"

// TestMetricsInvalidInput sends metrics requests that pdata decodes but the
// conversion must refuse (strings that are not UTF-8, which pdata does not
// check) or that pdata refuses (an exemplar id of the wrong length), over
// gRPC and OTLP/HTTP, and checks each answer names what is wrong; a request
// mixing valid and invalid resources publishes the valid one and reports
// the others as rejected.
func TestMetricsInvalidInput(t *testing.T) {
	b := runBus(t)
	s := startService(t, b.js, nil)
	conn := grpcConn(t, s)
	badName := func(service string) *colmetricspb.ExportMetricsServiceRequest {
		req := metricRequest(service)
		req.ResourceMetrics[0].ScopeMetrics[0].Metrics[0].Name = "tempAAAA"
		return req
	}
	invalid := func(req *colmetricspb.ExportMetricsServiceRequest) []byte {
		return bytes.Replace(mustMarshal(t, req), []byte("AAAA"), []byte("\xff\xfe\xfd\xfc"), 1)
	}
	badID := metricRequest("bad-id")
	badID.ResourceMetrics[0].ScopeMetrics[0].Metrics[0].GetGauge().DataPoints[0].Exemplars = []*metricspb.Exemplar{{SpanId: []byte{1, 2, 3}}}
	grpcCall := func(in []byte) (*colmetricspb.ExportMetricsServiceResponse, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var out []byte
		if err := conn.Invoke(ctx, metricMethod, &in, &out, grpc.ForceCodecV2(bytesCodec{})); err != nil {
			return nil, err
		}
		resp := &colmetricspb.ExportMetricsServiceResponse{}
		return resp, proto.Unmarshal(out, resp)
	}

	for _, tt := range []struct {
		name string
		in   []byte
		want string
	}{
		{"invalid UTF-8 metric name", invalid(badName("bad-name")),
			`publish metrics: publish: invalid request: rejected 2 data points of service "bad-name": metric "temp\xff\xfe\xfd\xfc": schema: invalid data: metric name contains invalid UTF-8`},
		{"short exemplar span id", mustMarshal(t, badID),
			`publish metrics: publish: invalid request: rejected 2 data points of service "bad-id": schema: invalid data: unmarshal: invalid SpanID length`},
	} {
		t.Run("grpc "+tt.name, func(t *testing.T) {
			_, err := grpcCall(tt.in)
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument || !strings.HasPrefix(st.Message(), tt.want) {
				t.Errorf("got %s %q, want InvalidArgument %q", st.Code(), st.Message(), tt.want)
			}
		})
		t.Run("http "+tt.name, func(t *testing.T) {
			resp, body := post(t, s, PathMetrics, contentTypeProto, "", bytes.NewReader(tt.in))
			var st spb.Status
			if err := proto.Unmarshal(body, &st); err != nil {
				t.Fatalf("status body %q: %v", body, err)
			}
			if resp.StatusCode != 400 || codes.Code(st.GetCode()) != codes.InvalidArgument || !strings.HasPrefix(st.GetMessage(), tt.want) {
				t.Errorf("got %d %s %q, want 400 InvalidArgument %q", resp.StatusCode, codes.Code(st.GetCode()), st.GetMessage(), tt.want)
			}
		})
	}

	t.Run("http invalid UTF-8 in JSON", func(t *testing.T) {
		js := `{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"t` + "\xff" + `","gauge":{"dataPoints":[{"asDouble":1}]}}]}]}]}`
		resp, body := post(t, s, PathMetrics, contentTypeJSON, "", strings.NewReader(js))
		if resp.StatusCode != 400 || !strings.Contains(string(body), "invalid UTF-8") {
			t.Errorf("got %d %q, want 400 naming invalid UTF-8", resp.StatusCode, body)
		}
	})

	t.Run("grpc two invalid resources of three", func(t *testing.T) {
		req := metricRequest("good")
		req.ResourceMetrics = append(req.ResourceMetrics, badName("bad").ResourceMetrics[0], badID.ResourceMetrics[0])
		resp, err := grpcCall(invalid(req))
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.GetPartialSuccess().GetRejectedDataPoints(); got != 4 {
			t.Errorf("rejected = %d, want 4", got)
		}
		for _, want := range []string{"metric name contains invalid UTF-8", "invalid SpanID length"} {
			if msg := resp.GetPartialSuccess().GetErrorMessage(); !strings.Contains(msg, want) {
				t.Errorf("message %q does not say %q", msg, want)
			}
		}
		msgs := bustest.ReadMessages(t, b.js, schema.Metrics)
		var names []string
		for _, rm := range bustest.Metrics(t, msgs) {
			names = append(names, schema.ServiceName(rm.GetResource()))
		}
		if len(names) != 1 || names[0] != "good" {
			t.Errorf("services on the bus = %q, want [good]", names)
		}
	})
}

// jsonMetrics uses the OTLP/JSON forms a sender may write: enums by name
// and by number, 64-bit integers as strings, hex exemplar ids, an
// exponential histogram without negative buckets.
const jsonMetrics = `{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc-mjson"}}]},
 "scopeMetrics":[{"scope":{"name":"json-scope"},"metrics":[
  {"name":"requests","unit":"{request}","sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_DELTA","isMonotonic":true,
   "dataPoints":[{"asInt":"9007199254740993","timeUnixNano":"1544712660000000000",
    "attributes":[{"key":"route","value":{"stringValue":"/x"}}],
    "exemplars":[{"asDouble":2.5,"timeUnixNano":"1544712659000000000","spanId":"eee19b7ec3c1b174","traceId":"5b8efff798038103d269b633813fc60c"}]}]}},
  {"name":"latency","exponentialHistogram":{"aggregationTemporality":2,
   "dataPoints":[{"count":"3","sum":1.5,"scale":2,"zeroCount":"1","positive":{"offset":-1,"bucketCounts":["1","1"]},"timeUnixNano":"1544712660000000000"}]}}
 ]}]}]}`

// TestHTTPJSONMetrics posts OTLP/JSON metrics and checks what the bus holds,
// field by field.
func TestHTTPJSONMetrics(t *testing.T) {
	b := runBus(t)
	s := startService(t, b.js, nil)
	resp, body := post(t, s, PathMetrics, contentTypeJSON, "", strings.NewReader(jsonMetrics))
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d (%s)", resp.StatusCode, body)
	}
	got := map[string]*metricspb.Metric{}
	for _, rm := range bustest.Metrics(t, bustest.ReadMessages(t, b.js, schema.Metrics)) {
		if name := schema.ServiceName(rm.GetResource()); name != "svc-mjson" {
			t.Errorf("service = %q, want svc-mjson", name)
		}
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				got[m.GetName()] = m
			}
		}
	}
	sum := got["requests"].GetSum()
	if sum.GetAggregationTemporality() != metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA || !sum.GetIsMonotonic() {
		t.Errorf("sum = %v, want delta and monotonic", sum)
	}
	if got["requests"].GetUnit() != "{request}" {
		t.Errorf("unit = %q", got["requests"].GetUnit())
	}
	p := sum.GetDataPoints()[0]
	if p.GetAsInt() != 9007199254740993 || p.GetTimeUnixNano() != 1544712660000000000 {
		t.Errorf("point = %v", p)
	}
	if kv := p.GetAttributes()[0]; kv.GetKey() != "route" || kv.GetValue().GetStringValue() != "/x" {
		t.Errorf("attribute = %v", kv)
	}
	ex := p.GetExemplars()[0]
	if fmt.Sprintf("%x %x", ex.GetSpanId(), ex.GetTraceId()) != "eee19b7ec3c1b174 5b8efff798038103d269b633813fc60c" || ex.GetAsDouble() != 2.5 {
		t.Errorf("exemplar = %v", ex)
	}
	eh := got["latency"].GetExponentialHistogram()
	if eh.GetAggregationTemporality() != metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE {
		t.Errorf("temporality = %v", eh.GetAggregationTemporality())
	}
	ep := eh.GetDataPoints()[0]
	if ep.GetCount() != 3 || ep.GetSum() != 1.5 || ep.GetScale() != 2 || ep.GetZeroCount() != 1 {
		t.Errorf("exponential point = %v", ep)
	}
	if pos := ep.GetPositive(); pos.GetOffset() != -1 || fmt.Sprint(pos.GetBucketCounts()) != "[1 1]" {
		t.Errorf("positive = %v", pos)
	}
	// Absent negative buckets are stored as empty ones (pdata cannot tell).
	if neg := ep.GetNegative(); neg == nil || neg.GetOffset() != 0 || len(neg.GetBucketCounts()) != 0 {
		t.Errorf("negative = %v, want empty buckets", neg)
	}
}
