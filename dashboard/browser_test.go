package dashboard_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// sent is what the test sent over OTLP, to compare with what the pages show.
type sent struct {
	checkout, short, failed string // trace ids
	cartLoad, dbQuery       string // span ids in checkout
}

// sendTelemetry sends, with the OpenTelemetry SDK's OTLP/gRPC exporters:
//   - trace "checkout": frontend GET /cart (300 ms, http.route=/api/cart)
//     -> cart cart.load (200 ms, an event) -> cart db.query (150 ms);
//     frontend render (80 ms) under the root;
//   - trace "short": frontend GET /cart (50 ms, http.route=/api/cart), linked
//     to checkout's root;
//   - trace "failed": frontend GET /home (400 ms, http.route=/home), error;
//   - logs from cart: "loading cart 42" inside cart.load, and a structured
//     body {op: GET, err: timeout} with no trace;
//   - metrics from cart: gauge queue.depth 7 (queue=a) and 3 (queue=b), a
//     histogram http.server.request.duration recorded inside cart.load.
func sendTelemetry(t *testing.T, st *stack) sent {
	t.Helper()
	ctx := context.Background()
	base := time.Now().Add(-2 * time.Minute).Truncate(time.Millisecond)
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }

	tracer := func(service string) (trace.Tracer, func()) {
		exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(st.OTLPGRPC), otlptracegrpc.WithInsecure())
		if err != nil {
			t.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(serviceResource(service)))
		return tp.Tracer("dashboard-test"), func() {
			if err := tp.Shutdown(ctx); err != nil {
				t.Errorf("trace provider %s: %v", service, err)
			}
		}
	}
	front, stopFront := tracer("frontend")
	cart, stopCart := tracer("cart")

	var s sent
	rctx, root := front.Start(ctx, "GET /cart", trace.WithTimestamp(at(0)), trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.route", "/api/cart"), attribute.Int("http.response.status_code", 200)))
	lctx, load := cart.Start(rctx, "cart.load", trace.WithTimestamp(at(10)))
	load.AddEvent("cache miss", trace.WithTimestamp(at(15)), trace.WithAttributes(attribute.String("key", "cart:42")))
	_, db := cart.Start(lctx, "db.query", trace.WithTimestamp(at(20)), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system", "postgresql"), attribute.Bool("db.cached", false)))
	s.checkout = root.SpanContext().TraceID().String()
	s.cartLoad = load.SpanContext().SpanID().String()
	s.dbQuery = db.SpanContext().SpanID().String()

	sendLogs(t, st, lctx, at(30))
	sendMetrics(t, st, lctx)

	db.End(trace.WithTimestamp(at(170)))
	load.End(trace.WithTimestamp(at(210)))
	_, render := front.Start(rctx, "render", trace.WithTimestamp(at(215)))
	render.End(trace.WithTimestamp(at(295)))
	root.End(trace.WithTimestamp(at(300)))

	_, short := front.Start(ctx, "GET /cart", trace.WithTimestamp(at(1000)), trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.route", "/api/cart")),
		trace.WithLinks(trace.Link{SpanContext: root.SpanContext(), Attributes: []attribute.KeyValue{attribute.String("why", "retry")}}))
	short.End(trace.WithTimestamp(at(1050)))
	s.short = short.SpanContext().TraceID().String()

	_, failed := front.Start(ctx, "GET /home", trace.WithTimestamp(at(2000)), trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.route", "/home")))
	failed.SetStatus(codes.Error, "boom")
	failed.End(trace.WithTimestamp(at(2400)))
	s.failed = failed.SpanContext().TraceID().String()

	stopFront()
	stopCart()
	return s
}

func serviceResource(name string) *resource.Resource {
	return resource.NewSchemaless(attribute.String("service.name", name), attribute.String("host.name", "test-host"))
}

func sendLogs(t *testing.T, st *stack, spanCtx context.Context, when time.Time) {
	t.Helper()
	ctx := context.Background()
	exp, err := otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(st.OTLPGRPC), otlploggrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)), sdklog.WithResource(serviceResource("cart")))
	logger := lp.Logger("dashboard-test")
	var r otellog.Record
	r.SetTimestamp(when)
	r.SetSeverity(otellog.SeverityInfo)
	r.SetSeverityText("INFO")
	r.SetBody(attribute.StringValue("loading cart 42"))
	r.AddAttributes(attribute.String("user", "bob"))
	logger.Emit(spanCtx, r)

	var r2 otellog.Record
	r2.SetTimestamp(when.Add(time.Millisecond))
	r2.SetSeverity(otellog.SeverityError)
	r2.SetSeverityText("ERROR")
	r2.SetBody(attribute.MapValue(attribute.String("op", "GET"), attribute.String("err", "timeout")))
	logger.Emit(ctx, r2)
	if err := lp.Shutdown(ctx); err != nil {
		t.Errorf("log provider: %v", err)
	}
}

func sendMetrics(t *testing.T, st *stack, spanCtx context.Context) {
	t.Helper()
	ctx := context.Background()
	exp, err := otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(st.OTLPGRPC), otlpmetricgrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))),
		sdkmetric.WithResource(serviceResource("cart")))
	m := mp.Meter("dashboard-test")
	g, err := m.Int64Gauge("queue.depth", metric.WithUnit("{item}"), metric.WithDescription("items waiting"))
	if err != nil {
		t.Fatal(err)
	}
	g.Record(ctx, 7, metric.WithAttributes(attribute.String("queue", "a")))
	g.Record(ctx, 3, metric.WithAttributes(attribute.String("queue", "b")))
	h, err := m.Float64Histogram("http.server.request.duration", metric.WithUnit("ms"), metric.WithDescription("request durations"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []float64{3, 8, 12, 40, 90, 300} {
		h.Record(spanCtx, v, metric.WithAttributes(attribute.String("http.route", "/api/cart")))
	}
	if err := mp.Shutdown(ctx); err != nil { // exports once
		t.Errorf("meter provider: %v", err)
	}
}

// waitAPI polls a dashboard API path until ok accepts its decoded body.
func waitAPI[T any](t *testing.T, st *stack, path string, ok func(T) bool) T {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var v T
		b := getJSON(t, st.URL, path)
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, b)
		}
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s never gave what the test waits for; last: %s", path, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type traceList struct {
	Traces []struct {
		TraceID   string `json:"trace_id"`
		SpanCount int    `json:"span_count"`
	} `json:"traces"`
}

// TestBrowserShell loads the page shell: navigation, help, theme, and the
// bytes of a first load.
func TestBrowserShell(t *testing.T) {
	st := startStack(t)
	p := newPage(t, st.URL)
	p.ignoreAPI = true // the API handlers are checked by TestBrowser
	p.open("#/sql")
	if nav := p.texts("#nav a"); !slices.Equal(nav, []string{"Live", "Traces", "Logs", "Metrics", "Files", "SQL"}) {
		t.Errorf("navigation %q", nav)
	}
	if active := p.texts("#nav a.active"); !slices.Equal(active, []string{"SQL"}) {
		t.Errorf("active view %q, want SQL", active)
	}
	n, list := p.staticBytes()
	t.Logf("first load: %d bytes of pages, styles and scripts\n%s", n, strings.Join(list, "\n"))
	if n <= 0 || n > 300<<10 {
		t.Errorf("first load: %d bytes of pages, styles and scripts, want under 300 KiB", n)
	}
	p.keys("?")
	p.waitJS(`document.getElementById('help').open`, "? to open the keyboard help")
	if keys := p.texts("#help td:first-child"); !slices.Contains(keys, "g t") || !slices.Contains(keys, "j / k") {
		t.Errorf("keyboard help lists %q", keys)
	}
	p.screenshot("help")
	p.click("#help button")
	p.waitJS(`!document.getElementById('help').open`, "the help to close")
	p.click("#theme")
	p.waitJS(`document.documentElement.dataset.theme === 'light'`, "the theme button to choose light")
	p.click("#theme")
	p.waitJS(`document.documentElement.dataset.theme === 'dark'`, "the theme button to choose dark")
	p.click("#theme")
	p.waitJS(`document.documentElement.dataset.theme === undefined`, "the theme button to follow the system again")
	p.keys("gf")
	p.waitJS(`location.hash === '#/files'`, "g f to open the files")
	p.noErrors()
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
