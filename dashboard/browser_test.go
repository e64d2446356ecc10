package dashboard_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
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
		tp := tracerProvider(t, st, service)
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

// sendSpan sends one span of service "tail-test" named name.
func sendSpan(t *testing.T, st *stack, name string) {
	t.Helper()
	ctx := context.Background()
	tp := tracerProvider(t, st, "tail-test")
	_, span := tp.Tracer("dashboard-test").Start(ctx, name)
	span.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Error(err)
	}
}

// tracerProvider exports every span as it ends over OTLP/gRPC to the stack,
// as service.
func tracerProvider(t *testing.T, st *stack, service string) *sdktrace.TracerProvider {
	t.Helper()
	exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(st.OTLPGRPC), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(serviceResource(service)))
}

func serviceResource(name string) *resource.Resource {
	return resource.NewSchemaless(attribute.String("service.name", name), attribute.String("host.name", "test-host"))
}

func sendLogs(t *testing.T, st *stack, spanCtx context.Context, when time.Time) {
	t.Helper()
	ctx := context.Background()
	lp := loggerProvider(t, st, "cart")
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

// loggerProvider exports every record as it is emitted over OTLP/gRPC to
// the stack, as service.
func loggerProvider(t *testing.T, st *stack, service string) *sdklog.LoggerProvider {
	t.Helper()
	exp, err := otlploggrpc.New(context.Background(), otlploggrpc.WithEndpoint(st.OTLPGRPC), otlploggrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	return sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)), sdklog.WithResource(serviceResource(service)))
}

// sendLog sends one INFO record of service "tail-test" with a string body.
func sendLog(t *testing.T, st *stack, body string) {
	t.Helper()
	lp := loggerProvider(t, st, "tail-test")
	var r otellog.Record
	r.SetTimestamp(time.Now())
	r.SetSeverity(otellog.SeverityInfo)
	r.SetBody(attribute.StringValue(body))
	lp.Logger("dashboard-test").Emit(context.Background(), r)
	if err := lp.Shutdown(context.Background()); err != nil {
		t.Error(err)
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

func TestBrowser(t *testing.T) {
	st := startStack(t)
	p := newPage(t, st.URL)

	// Live tail: open it before anything is sent.
	p.open("#/tail?signal=traces")
	p.waitText("#tail-state", "live")
	s := sendTelemetry(t, st)

	t.Run("tail", func(t *testing.T) {
		p.t = t
		for _, name := range []string{"GET /cart", "cart.load", "db.query", "render", "GET /home"} {
			p.waitJS(`[...document.querySelectorAll('#tail-rows tr')].some(r => r.dataset.name === `+jsString(name)+`)`, "tail row "+name)
		}
		ids := p.attrs("#tail-rows tr", "data-span-id")
		if !slices.Contains(ids, s.dbQuery) || !slices.Contains(ids, s.cartLoad) {
			t.Errorf("tail span ids %v lack cart.load %s or db.query %s", ids, s.cartLoad, s.dbQuery)
		}
		p.screenshot("tail")
		// Pause holds new rows back; resume shows them.
		p.click("#tail-pause")
		sendSpan(t, st, "while paused")
		p.waitText("#tail-count", "1 held while paused")
		if n := eval[int](p, `[...document.querySelectorAll('#tail-rows tr')].filter(r => r.dataset.name === 'while paused').length`); n != 0 {
			t.Errorf("a span sent while paused is shown before resume")
		}
		p.click("#tail-pause")
		p.waitJS(`[...document.querySelectorAll('#tail-rows tr')].some(r => r.dataset.name === 'while paused')`, "the held span after resume")
		// The tail of log records.
		p.goHash("#/tail?signal=logs")
		p.waitText("#tail-state", "live")
		sendLog(t, st, "a line for the tail")
		p.waitText("#tail-rows", "a line for the tail")
		p.noErrors()
	})

	// Wait until the files hold everything sent.
	waitAPI(t, st, "/api/traces?trace_id="+s.checkout, func(v traceList) bool {
		return len(v.Traces) == 1 && v.Traces[0].SpanCount == 4
	})
	waitAPI(t, st, "/api/traces?service=frontend", func(v traceList) bool { return len(v.Traces) == 3 })
	waitAPI(t, st, "/api/logs", func(v struct {
		Logs []json.RawMessage `json:"logs"`
	}) bool {
		return len(v.Logs) == 3
	})
	waitAPI(t, st, "/api/metrics", func(v struct {
		Metrics []struct {
			Name string `json:"name"`
		} `json:"metrics"`
	}) bool {
		return len(v.Metrics) == 2
	})

	t.Run("traces", func(t *testing.T) {
		p.t = t
		found := func(hash string) []string {
			p.goHash(hash)
			p.waitJS(`!!document.getElementById('trace-summary')`, "the search results of "+hash)
			return p.attrs("#trace-results tbody tr", "data-trace-id")
		}
		q := "#/traces?attr=" + url.QueryEscape("http.route=/api/cart")
		if got := found(q + "&min_ms=100"); !slices.Equal(got, []string{s.checkout}) {
			t.Errorf("http.route=/api/cart, >= 100 ms: traces %v, want only checkout %s", got, s.checkout)
		}
		if got := found(q + "&max_ms=100"); !slices.Equal(got, []string{s.short}) {
			t.Errorf("http.route=/api/cart, <= 100 ms: traces %v, want only short %s", got, s.short)
		}
		if got := found(q + "&sort=duration&order=desc"); !slices.Equal(got, []string{s.checkout, s.short}) {
			t.Errorf("http.route=/api/cart by duration: traces %v, want %v", got, []string{s.checkout, s.short})
		}
		if got := found("#/traces?errors=1"); !slices.Equal(got, []string{s.failed}) {
			t.Errorf("errors only: traces %v, want only failed %s", got, s.failed)
		}
		if got := found("#/traces?service=frontend&sort=spans&order=desc"); len(got) != 3 || got[0] != s.checkout {
			t.Errorf("all by span count: traces %v, want 3 with checkout %s first", got, s.checkout)
		}
		p.screenshot("traces")
		// Keyboard: j selects the first row, Enter opens its trace.
		p.keys("j")
		p.keys("\r")
		p.waitJS(`location.hash.startsWith('#/trace/`+s.checkout+`')`, "Enter to open the selected trace")
		p.noErrors()
	})

	t.Run("trace", func(t *testing.T) {
		p.t = t
		p.goHash("#/trace/" + s.checkout)
		p.waitJS(`document.querySelectorAll('#waterfall .wf-row').length === 4`, "4 spans in the waterfall")
		names := p.attrs("#waterfall .wf-row", "data-span-id")
		depths := p.attrs("#waterfall .wf-row", "data-depth")
		labels := p.texts("#waterfall .wf-row .wf-name")
		wantNames := []string{"GET /cart", "cart.load", "db.query", "render"}
		for i, l := range labels {
			if !strings.HasSuffix(l, wantNames[i]) {
				t.Errorf("waterfall row %d is %q, want %s (rows %q)", i, l, wantNames[i], labels)
			}
		}
		if !slices.Equal(depths, []string{"0", "1", "2", "1"}) {
			t.Errorf("waterfall depths %v, want [0 1 2 1]", depths)
		}
		if names[1] != s.cartLoad || names[2] != s.dbQuery {
			t.Errorf("waterfall span ids %v, want cart.load %s then db.query %s", names, s.cartLoad, s.dbQuery)
		}
		// The critical path: the root, cart.load, db.query and render all
		// lie on it here (render ends last; cart.load before it).
		if crit := p.attrs("#waterfall .wf-row.crit", "data-span-id"); !slices.Contains(crit, names[0]) || !slices.Contains(crit, names[3]) {
			t.Errorf("critical path %v lacks the root %s or render %s (which ends last)", crit, names[0], names[3])
		}
		// Span detail with typed attributes, by its URL.
		p.goHash("#/trace/" + s.checkout + "?span=" + s.dbQuery)
		p.waitText("#span-detail h3", "db.query")
		p.waitText("#span-attributes", "postgresql")
		attrs := p.texts("#span-attributes tr")
		for _, want := range [][3]string{{"db.system", "postgresql", "string"}, {"db.cached", "false", "bool"}} {
			if !slices.ContainsFunc(attrs, func(a string) bool {
				return strings.HasPrefix(a, want[0]) && strings.Contains(a, want[1]) && strings.HasSuffix(a, want[2])
			}) {
				t.Errorf("db.query attributes %q: want %s = %s of type %s", attrs, want[0], want[1], want[2])
			}
		}
		// The trace's log record, and search inside the trace.
		p.waitText("#trace-logs", "loading cart 42")
		p.typeInto("#view input[type=search]", "postgres")
		p.waitText("#match-info", "1 match")
		if m := p.attrs("#waterfall .wf-row.match", "data-span-id"); !slices.Equal(m, []string{s.dbQuery}) {
			t.Errorf("search 'postgres' matched %v, want db.query %s", m, s.dbQuery)
		}
		// Collapse to depth 2: db.query (depth 2) is hidden.
		p.goHash("#/trace/" + s.checkout + "?depth=2")
		p.waitJS(`document.querySelectorAll('#waterfall .wf-row:not(.hidden)').length === 3`, "3 rows at depth 2")
		// Export as OTLP JSON.
		if href := p.attrs("#export-otlp", "href"); len(href) != 1 || href[0] != "/api/traces/"+s.checkout+"/otlp" {
			t.Errorf("export link %v", href)
		}
		var otlp struct {
			ResourceSpans []json.RawMessage `json:"resourceSpans"`
		}
		if err := json.Unmarshal(getJSON(t, st.URL, "/api/traces/"+s.checkout+"/otlp"), &otlp); err != nil || len(otlp.ResourceSpans) == 0 {
			t.Errorf("OTLP JSON export: %v, %d resourceSpans", err, len(otlp.ResourceSpans))
		}
		p.goHash("#/trace/" + s.checkout + "?span=" + s.cartLoad)
		p.waitText("#span-detail", "cache miss")
		p.screenshot("trace")
		// The linked trace links back.
		p.goHash("#/trace/" + s.short)
		p.waitJS(`!!document.querySelector('#span-detail a[href^="#/trace/`+s.checkout+`"]')`, "the link to the checkout trace")
		p.noErrors()
	})

	t.Run("compare", func(t *testing.T) {
		p.t = t
		p.goHash("#/traces?service=frontend")
		p.click(`#trace-results tr[data-trace-id="` + s.checkout + `"] input[type=checkbox]`)
		p.click(`#trace-results tr[data-trace-id="` + s.short + `"] input[type=checkbox]`)
		p.click("#compare-link")
		p.waitJS(`location.hash === '#/compare/`+s.checkout+`/`+s.short+`' && !!document.getElementById('compare-table')`, "the comparison of checkout and short")
		// spans A, spans B, time A, time B, B - A, self A, self B
		rows := eval[[][]string](p, `[...document.querySelectorAll('#compare-table tbody tr')].map(r => [r.dataset.key, ...[...r.children].slice(2).map(td => td.innerText.trim())])`)
		want := map[string][]string{
			"frontend GET /cart": {"1", "1", "300 ms", "50.0 ms", "\u2212250 ms", "20.0 ms", "50.0 ms"}, // self: 300 - 200 - 80
			"cart cart.load":     {"1", "0", "200 ms", "", "\u2212200 ms", "50.0 ms", ""},
			"cart db.query":      {"1", "0", "150 ms", "", "\u2212150 ms", "150 ms", ""},
			"frontend render":    {"1", "0", "80.0 ms", "", "\u221280.0 ms", "80.0 ms", ""},
		}
		if len(rows) != len(want) {
			t.Errorf("comparison rows %q, want %d", rows, len(want))
		}
		for _, r := range rows {
			if w, ok := want[r[0]]; !ok || !slices.Equal(r[1:], w) {
				t.Errorf("comparison row %q: want %q", r, w)
			}
		}
		p.waitText("#compare-delta", "B took 250 ms less than A")
		p.screenshot("compare")
		p.noErrors()
	})

	t.Run("logs", func(t *testing.T) {
		p.t = t
		p.goHash("#/logs?q=" + url.QueryEscape("loading cart"))
		p.waitJS(`!!document.getElementById('log-summary')`, "the log search")
		bodies := p.texts("#log-results tbody tr td:nth-child(4)")
		if !slices.Equal(bodies, []string{"loading cart 42"}) {
			t.Errorf("logs with 'loading cart': bodies %q", bodies)
		}
		p.goHash("#/logs?severity_min=17")
		p.waitJS(`!!document.getElementById('log-summary')`, "the log search")
		if bodies := p.texts("#log-results tbody tr td:nth-child(4)"); len(bodies) != 1 || !strings.Contains(bodies[0], `"err":"timeout"`) || !strings.Contains(bodies[0], `"op":"GET"`) || !strings.Contains(bodies[0], "kvlist") {
			t.Errorf("ERROR logs: bodies %q, want the structured body as kvlist", bodies)
		}
		p.goHash("#/logs?service=cart")
		p.waitJS(`document.querySelectorAll('#log-results tbody tr').length === 2`, "both log records of cart")
		p.screenshot("logs")
		// The record's trace link opens its trace at its span.
		p.click("#log-results a.trace-link")
		p.waitJS(`location.hash.startsWith('#/trace/`+s.checkout+`')`, "the trace of the log record")
		p.waitText("#span-detail h3", "cart.load")
		p.noErrors()
	})

	t.Run("metrics", func(t *testing.T) {
		p.t = t
		p.goHash("#/metrics?name=queue.depth")
		p.waitJS(`document.querySelectorAll('#metric-legend .series-row').length === 2`, "two series of queue.depth")
		rows := eval[[][]string](p, `[...document.querySelectorAll('#metric-legend .series-row')].map(r => [r.dataset.label, r.children[1].dataset.v])`)
		got := map[string]string{}
		for _, r := range rows {
			got[r[0]] = r[1]
		}
		byAttr := map[string]string{}
		for label, v := range got {
			if _, kv, ok := strings.Cut(label, ": "); ok {
				label = kv
			}
			byAttr[label] = v
		}
		if byAttr["queue=a"] != "7" || byAttr["queue=b"] != "3" {
			t.Errorf("queue.depth series (label -> last value) %v, want queue=a -> 7 and queue=b -> 3", got)
		}
		vals := eval[[]float64](p, `[...document.querySelectorAll('#metric-chart circle[data-v]')].map(c => +c.dataset.v)`)
		for _, v := range vals {
			if v != 7 && v != 3 {
				t.Errorf("chart point %v: only 7 and 3 were sent", v)
			}
		}
		if len(vals) < 2 {
			t.Errorf("chart points %v, want the two sent", vals)
		}
		if desc := p.texts("#view .metric-pane"); len(desc) != 1 || !strings.Contains(desc[0], "items waiting") {
			t.Errorf("metric description not shown: %q", desc)
		}
		p.screenshot("metrics")
		// The histogram as quantiles estimated from its buckets: p50 <= p90 <= p99,
		// within the range of what was recorded (3 to 300 ms).
		p.goHash("#/metrics?name=http.server.request.duration")
		q := eval[[][]string](p, `[...document.querySelectorAll('#metric-legend .series-row')].map(r => [r.dataset.label.split(' ')[0], r.children[1].dataset.v])`)
		if len(q) != 3 || q[0][0] != "p50" || q[1][0] != "p90" || q[2][0] != "p99" {
			t.Errorf("histogram quantile series %v, want p50, p90, p99", q)
		} else {
			var v [3]float64
			for i := range q {
				v[i], _ = strconv.ParseFloat(q[i][1], 64)
			}
			if !(0 < v[0] && v[0] <= v[1] && v[1] <= v[2] && v[2] <= 500) {
				t.Errorf("histogram quantiles p50 %v, p90 %v, p99 %v: want ordered, within the buckets of 3..300 ms", v[0], v[1], v[2])
			}
		}
		p.goHash("#/metrics?name=http.server.request.duration&show=heatmap")
		p.waitJS(`document.querySelectorAll('#metric-chart rect.cell').length > 0`, "the histogram heatmap")
		p.screenshot("metrics-heatmap")
		// The histogram was recorded inside cart.load: its exemplars open that trace.
		if links := p.attrs("#metric-exemplars a", "href"); len(links) == 0 || !strings.HasPrefix(links[0], "#/trace/"+s.checkout) {
			t.Errorf("exemplar links %v, want the checkout trace %s", links, s.checkout)
		}
		p.noErrors()
	})

	t.Run("files", func(t *testing.T) {
		p.t = t
		var want []string
		err := filepath.WalkDir(filepath.Join(st.OutputDir, "otlp"), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(st.OutputDir, path)
			rel = filepath.ToSlash(rel)
			if !d.IsDir() && (strings.Contains(rel, ".arrows") || strings.HasSuffix(rel, ".parquet")) {
				want = append(want, rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		p.goHash("#/files")
		p.waitJS(`!!document.getElementById('file-summary')`, "the file list")
		got := p.attrs("#file-list tbody tr", "data-path")
		slices.Sort(got)
		if !slices.Equal(got, want) || len(got) < 3 {
			t.Errorf("files page lists %v, the output directory holds %v", got, want)
		}
		p.click("#file-list tbody tr td:nth-child(2)")
		p.waitText("#file-snippets", "pl.read_ipc_stream")
		p.screenshot("files")
		p.noErrors()
	})

	t.Run("keyboard", func(t *testing.T) {
		p.t = t
		p.keys("gl")
		p.waitJS(`location.hash === '#/logs'`, "g l to open the logs")
		p.keys("gm")
		p.waitJS(`location.hash === '#/metrics'`, "g m to open the metrics")
	})

	t.Run("weight", func(t *testing.T) {
		p.t = t
		n, list := p.staticBytes()
		t.Logf("pages, styles and scripts loaded: %d bytes\n%s", n, strings.Join(list, "\n"))
		if n <= 0 || n > 300<<10 {
			t.Errorf("the dashboard loaded %d bytes of pages, styles and scripts, want under 300 KiB", n)
		}
	})
}

// TestBrowserShell loads the page shell: navigation, help, theme, and the
// bytes of a first load.
func TestBrowserShell(t *testing.T) {
	st := startStack(t)
	p := newPage(t, st.URL)
	p.ignoreAPI = true // the API handlers are checked by TestBrowser
	p.open("#/traces")
	if nav := p.texts("#nav a"); !slices.Equal(nav, []string{"Live", "Traces", "Logs", "Metrics", "Files", "SQL"}) {
		t.Errorf("navigation %q", nav)
	}
	if active := p.texts("#nav a.active"); !slices.Equal(active, []string{"Traces"}) {
		t.Errorf("active view %q, want Traces", active)
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
