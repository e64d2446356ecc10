package otlpwire

import (
	"fmt"
	"testing"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// The benchmark requests look like what an instrumented HTTP service sends:
// one resource with a dozen attributes, one scope, and n items with 10-20
// attributes of mixed types; every fourth span has two events.

func strAttr(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func intAttr(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}

func benchResource() *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
		strAttr("service.name", "checkout"), strAttr("service.version", "1.42.0"),
		strAttr("service.namespace", "shop"), strAttr("service.instance.id", "3f2a9c1e-7d4b-4e8a-9b1f-2c6d8e0a4b7f"),
		strAttr("deployment.environment.name", "production"), strAttr("host.name", "ip-10-0-12-34.ec2.internal"),
		strAttr("host.arch", "amd64"), strAttr("os.type", "linux"), strAttr("process.runtime.name", "go"),
		strAttr("process.runtime.version", "go1.26.8"), intAttr("process.pid", 4242),
		strAttr("telemetry.sdk.name", "opentelemetry"), strAttr("telemetry.sdk.language", "go"),
		strAttr("telemetry.sdk.version", "1.47.0"),
	}}
}

// spanAttrs returns 10 to 20 attributes for item i: strings, ints, a
// double, a bool, sometimes an array.
func spanAttrs(i int) []*commonpb.KeyValue {
	kvs := []*commonpb.KeyValue{
		strAttr("http.request.method", []string{"GET", "POST", "PUT"}[i%3]),
		strAttr("http.route", "/api/v1/orders/{id}"),
		strAttr("url.path", fmt.Sprintf("/api/v1/orders/%d", 100000+i)),
		strAttr("url.scheme", "https"),
		intAttr("http.response.status_code", int64([]int{200, 200, 201, 404, 500}[i%5])),
		strAttr("server.address", "orders.shop.svc.cluster.local"),
		intAttr("server.port", 8443),
		strAttr("network.protocol.version", "1.1"),
		strAttr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"),
		{Key: "http.server.request.duration", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: float64(i%97) * 0.0137}}},
		{Key: "app.cache_hit", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: i%2 == 0}}},
		intAttr("http.request.body.size", int64(100+i%4000)),
	}
	for j := range i % 9 {
		kvs = append(kvs, strAttr(fmt.Sprintf("app.attr.%d", j), fmt.Sprintf("value-%d-%d", i, j)))
	}
	if i%5 == 0 {
		kvs = append(kvs, &commonpb.KeyValue{Key: "app.tags", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{
			Values: []*commonpb.AnyValue{{Value: &commonpb.AnyValue_StringValue{StringValue: "a"}}, {Value: &commonpb.AnyValue_StringValue{StringValue: "b"}}},
		}}}})
	}
	return kvs
}

func id(n, i int) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(i*31 + j*7 + 1)
	}
	return b
}

func benchTraces(n int) *coltracepb.ExportTraceServiceRequest {
	ss := &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", Version: "0.62.0"}}
	const t0 = 1_760_000_000_000_000_000
	for i := range n {
		s := &tracepb.Span{
			TraceId: id(16, i/10), SpanId: id(8, i), ParentSpanId: id(8, i-1),
			Name: "GET /api/v1/orders/{id}", Kind: tracepb.Span_SPAN_KIND_SERVER, Flags: 0x301,
			StartTimeUnixNano: t0 + uint64(i)*1_000_000, EndTimeUnixNano: t0 + uint64(i)*1_000_000 + 750_000,
			Attributes: spanAttrs(i),
			Status:     &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK},
		}
		if i%4 == 0 {
			s.Events = []*tracepb.Span_Event{
				{TimeUnixNano: s.StartTimeUnixNano + 1000, Name: "cache.miss", Attributes: []*commonpb.KeyValue{strAttr("cache.key", fmt.Sprintf("order:%d", i))}},
				{TimeUnixNano: s.StartTimeUnixNano + 5000, Name: "exception", Attributes: []*commonpb.KeyValue{
					strAttr("exception.type", "*net.OpError"), strAttr("exception.message", "dial tcp 10.0.3.7:5432: connect: connection refused"),
				}},
			}
		}
		if i%10 == 3 {
			s.Links = []*tracepb.Span_Link{{TraceId: id(16, i+1000), SpanId: id(8, i+1000), Flags: 0x100}}
		}
		ss.Spans = append(ss.Spans, s)
	}
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: benchResource(), ScopeSpans: []*tracepb.ScopeSpans{ss}, SchemaUrl: "https://opentelemetry.io/schemas/1.26.0",
	}}}
}

func benchLogs(n int) *collogspb.ExportLogsServiceRequest {
	sl := &logspb.ScopeLogs{Scope: &commonpb.InstrumentationScope{Name: "go.opentelemetry.io/contrib/bridges/otelslog"}}
	const t0 = 1_760_000_000_000_000_000
	for i := range n {
		sl.LogRecords = append(sl.LogRecords, &logspb.LogRecord{
			TimeUnixNano: t0 + uint64(i)*1000, ObservedTimeUnixNano: t0 + uint64(i)*1000 + 17,
			SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_INFO, SeverityText: "INFO",
			Body:       &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: fmt.Sprintf("order %d accepted for customer %d after %d ms", 100000+i, i*7, i%250)}},
			Attributes: spanAttrs(i), TraceId: id(16, i/10), SpanId: id(8, i), Flags: 1,
		})
	}
	return &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
		Resource: benchResource(), ScopeLogs: []*logspb.ScopeLogs{sl},
	}}}
}

func mustMarshal(tb testing.TB, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		tb.Fatalf("marshal: %v", err)
	}
	return b
}

// Run: go test -run '^$' -bench 'Unmarshal' -benchmem ./otlpwire/
func BenchmarkUnmarshalTraces(b *testing.B) {
	for _, n := range []int{100, 1000} {
		in := mustMarshal(b, benchTraces(n))
		b.Run(fmt.Sprintf("spans=%d/proto", n), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				var req coltracepb.ExportTraceServiceRequest
				if err := proto.Unmarshal(in, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("spans=%d/otlpwire", n), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				var req coltracepb.ExportTraceServiceRequest
				if err := UnmarshalTraces(in, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUnmarshalLogs(b *testing.B) {
	for _, n := range []int{100, 1000} {
		in := mustMarshal(b, benchLogs(n))
		b.Run(fmt.Sprintf("records=%d/proto", n), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				var req collogspb.ExportLogsServiceRequest
				if err := proto.Unmarshal(in, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("records=%d/otlpwire", n), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				var req collogspb.ExportLogsServiceRequest
				if err := UnmarshalLogs(in, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
