package demo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// The services of the simulated shop, each with its own providers and
// service.name resource.
const (
	frontend  = "frontend"
	checkout  = "checkout"
	inventory = "inventory"
	payment   = "payment"
)

var serviceNames = []string{frontend, checkout, inventory, payment}

// spansPerOrder is the number of spans of a successful order, for pacing.
const spansPerOrder = 10

const scopeName = "github.com/otlp-arrow/otlp-arrow/deploy/internal/demo"

// service is one simulated service with its SDK providers and instruments.
type service struct {
	name   string
	tp     *sdktrace.TracerProvider
	mp     *sdkmetric.MeterProvider
	lp     *sdklog.LoggerProvider
	tracer trace.Tracer
	logger otellog.Logger

	requests metric.Int64Counter
	duration metric.Float64Histogram
}

// shop is the simulated application.
type shop struct {
	svcs map[string]*service

	inflight   metric.Int64UpDownCounter // checkout
	orderValue metric.Float64Histogram   // checkout
	stock      metric.Int64Gauge         // inventory
}

type stats struct{ traces, spans, logs int }

// newShop builds the providers of every service. On error the shop built
// so far is returned too, to be shut down.
func newShop(ctx context.Context, s sink, metricInterval time.Duration) (*shop, error) {
	sh := &shop{svcs: map[string]*service{}}
	for i, name := range serviceNames {
		svc, err := newService(ctx, s, name, i, metricInterval)
		if svc != nil {
			sh.svcs[name] = svc
		}
		if err != nil {
			return sh, err
		}
	}
	var errs []error
	var err error
	co := sh.svcs[checkout].mp.Meter(scopeName)
	sh.inflight, err = co.Int64UpDownCounter("orders.inflight", metric.WithDescription("orders being placed"), metric.WithUnit("{order}"))
	errs = append(errs, err)
	sh.orderValue, err = co.Float64Histogram("orders.value", metric.WithDescription("value of placed orders"), metric.WithUnit("EUR"),
		metric.WithExplicitBucketBoundaries(5, 10, 25, 50, 100, 250, 500))
	errs = append(errs, err)
	sh.stock, err = sh.svcs[inventory].mp.Meter(scopeName).Int64Gauge("inventory.stock", metric.WithDescription("items in stock"), metric.WithUnit("{item}"))
	errs = append(errs, err)
	return sh, errors.Join(errs...)
}

func newService(ctx context.Context, s sink, name string, instance int, metricInterval time.Duration) (*service, error) {
	res := resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(name),
		semconv.ServiceVersion("1.4.2"),
		semconv.ServiceInstanceID(fmt.Sprintf("%s-%d", name, instance)),
		attribute.String("deployment.environment.name", "demo"),
	)
	spanExp, err := s.spanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s span exporter: %w", name, err)
	}
	metricExp, err := s.metricExporter(ctx)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%s metric exporter: %w", name, err), spanExp.Shutdown(ctx))
	}
	logExp, err := s.logExporter(ctx)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%s log exporter: %w", name, err), spanExp.Shutdown(ctx), metricExp.Shutdown(ctx))
	}
	svc := &service{
		name: name,
		tp: sdktrace.NewTracerProvider(sdktrace.WithResource(res),
			sdktrace.WithBatcher(spanExp, sdktrace.WithBatchTimeout(time.Second))),
		mp: sdkmetric.NewMeterProvider(sdkmetric.WithResource(res),
			sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExp, sdkmetric.WithInterval(metricInterval)))),
		lp: sdklog.NewLoggerProvider(sdklog.WithResource(res),
			sdklog.WithProcessor(sdklog.NewBatchProcessor(logExp, sdklog.WithExportInterval(time.Second)))),
	}
	svc.tracer = svc.tp.Tracer(scopeName, trace.WithInstrumentationVersion("0.1.0"))
	svc.logger = svc.lp.Logger(scopeName, otellog.WithInstrumentationVersion("0.1.0"))
	meter := svc.mp.Meter(scopeName, metric.WithInstrumentationVersion("0.1.0"))
	var errs []error
	svc.requests, err = meter.Int64Counter("http.server.requests", metric.WithDescription("requests served"), metric.WithUnit("{request}"))
	errs = append(errs, err)
	svc.duration, err = meter.Float64Histogram("http.server.request.duration", metric.WithDescription("duration of requests"), metric.WithUnit("s"))
	errs = append(errs, err)
	_, err = meter.Float64ObservableGauge("process.cpu.utilization", metric.WithUnit("1"),
		metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
			o.Observe(0.05 + rand.Float64()*0.5)
			return nil
		}))
	errs = append(errs, err)
	return svc, errors.Join(errs...)
}

// shutdown exports what the providers hold and stops them.
func (sh *shop) shutdown(ctx context.Context) error {
	var errs []error
	for _, name := range serviceNames {
		svc, ok := sh.svcs[name]
		if !ok {
			continue
		}
		errs = append(errs, svc.tp.Shutdown(ctx), svc.mp.Shutdown(ctx), svc.lp.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// run places orders at about rate spans per second until ctx is done.
func (sh *shop) run(ctx context.Context, rate float64) stats {
	var st stats
	start := time.Now()
	tick := time.NewTicker(max(10*time.Millisecond, time.Duration(float64(time.Second)*spansPerOrder/rate)))
	defer tick.Stop()
	for {
		// As many orders as are due by now, so high rates keep up.
		due := int(time.Since(start).Seconds()*rate/spansPerOrder) + 1
		for st.traces < due && ctx.Err() == nil {
			spans, logs := sh.order(ctx)
			st.traces++
			st.spans += spans
			st.logs += logs
		}
		select {
		case <-ctx.Done():
			return st
		case <-tick.C:
		}
	}
}

// order simulates one order placed through every service and returns the
// number of spans and log records it made. Span times are simulated from
// now, so no time is spent waiting.
func (sh *shop) order(ctx context.Context) (spans, logs int) {
	// The trace is not a child of ctx's span (there is none), but ctx's
	// cancellation must not keep the last spans from ending.
	ctx = context.WithoutCancel(ctx)
	fe, co, inv, pay := sh.svcs[frontend], sh.svcs[checkout], sh.svcs[inventory], sh.svcs[payment]
	t0 := time.Now()
	at := func(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }
	orderID := fmt.Sprintf("ord-%08x", rand.Uint32())
	sku := fmt.Sprintf("sku-%03d", rand.IntN(40))
	items := 1 + rand.IntN(4)
	amount := float64(items) * (5 + rand.Float64()*95)
	failed := rand.Float64() < 0.1
	status := 200

	ctx1, root := fe.tracer.Start(ctx, "GET /checkout", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(at(0)),
		trace.WithAttributes(semconv.HTTPRequestMethodGet, semconv.HTTPRoute("/checkout"), semconv.URLPath("/checkout"),
			semconv.UserAgentOriginal("Mozilla/5.0 (demo)"), semconv.ClientAddress(fmt.Sprintf("10.0.%d.%d", rand.IntN(4), 1+rand.IntN(250)))))
	ctx2, call := fe.tracer.Start(ctx1, "POST", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(at(2)),
		trace.WithAttributes(semconv.HTTPRequestMethodPost, semconv.ServerAddress(checkout), semconv.URLFull("http://checkout/api/orders")))
	ctx3, place := co.tracer.Start(ctx2, "POST /api/orders", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(at(3)),
		trace.WithAttributes(semconv.HTTPRequestMethodPost, semconv.HTTPRoute("/api/orders"), attribute.String("order.id", orderID), attribute.Int("order.items", items)))
	sh.inflight.Add(ctx3, 1)
	logs += emit(ctx3, co.logger, at(4), otellog.SeverityInfo, "", attribute.StringValue("placing order "+orderID),
		attribute.String("order.id", orderID), attribute.Int("order.items", items))

	// Inventory: reserve the items, with a database query.
	ctx4, reserve := co.tracer.Start(ctx3, "inventory.Inventory/Reserve", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(at(5)),
		trace.WithAttributes(semconv.RPCSystemGRPC, semconv.RPCService("inventory.Inventory"), semconv.RPCMethod("Reserve")))
	ctx5, invSpan := inv.tracer.Start(ctx4, "inventory.Inventory/Reserve", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(at(6)),
		trace.WithAttributes(semconv.RPCSystemGRPC, semconv.RPCService("inventory.Inventory"), semconv.RPCMethod("Reserve"), attribute.String("sku", sku)))
	if rand.IntN(3) == 0 {
		invSpan.AddEvent("cache.miss", trace.WithTimestamp(at(7)), trace.WithAttributes(attribute.String("cache.key", "stock:"+sku)))
	}
	dbMs := 2 + rand.Float64()*20
	_, db := inv.tracer.Start(ctx5, "SELECT stock", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(at(8)),
		trace.WithAttributes(semconv.DBSystemPostgreSQL, semconv.DBNamespace("shop"), semconv.DBQueryText("SELECT qty FROM stock WHERE sku = $1")))
	db.End(trace.WithTimestamp(at(8 + dbMs)))
	left := int64(rand.IntN(100))
	sh.stock.Record(ctx5, left, metric.WithAttributes(attribute.String("sku", sku)))
	invSpan.End(trace.WithTimestamp(at(9 + dbMs)))
	reserve.End(trace.WithTimestamp(at(10 + dbMs)))
	inv.requests.Add(ctx5, 1, metric.WithAttributes(semconv.RPCMethod("Reserve")))
	inv.duration.Record(ctx5, (1+dbMs)/1000, metric.WithAttributes(semconv.RPCMethod("Reserve")))

	// Payment: charge the card; one order in ten is declined.
	t := 11 + dbMs
	ctx6, charge := co.tracer.Start(ctx3, "payment.Payment/Charge", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(at(t)),
		trace.WithAttributes(semconv.RPCSystemGRPC, semconv.RPCService("payment.Payment"), semconv.RPCMethod("Charge")))
	ctx7, paySpan := pay.tracer.Start(ctx6, "payment.Payment/Charge", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(at(t+1)),
		trace.WithAttributes(semconv.RPCSystemGRPC, semconv.RPCService("payment.Payment"), semconv.RPCMethod("Charge"),
			attribute.String("payment.method", "card"), attribute.Float64("payment.amount", amount)))
	payMs := 20 + rand.Float64()*80
	outcome := "approved"
	if failed {
		outcome, status = "declined", 402
		paySpan.AddEvent("retry", trace.WithTimestamp(at(t+payMs/2)), trace.WithAttributes(attribute.Int("attempt", 2)))
		err := errors.New("card declined: insufficient funds")
		paySpan.RecordError(err, trace.WithTimestamp(at(t+payMs)), trace.WithAttributes(attribute.String("payment.processor", "acme")))
		paySpan.SetStatus(codes.Error, err.Error())
		charge.SetStatus(codes.Error, "payment declined")
		logs += emit(ctx7, pay.logger, at(t+payMs), otellog.SeverityError, "payment.failed",
			attribute.MapValue(attribute.String("order.id", orderID), attribute.String("reason", "insufficient funds"), attribute.Float64("amount", amount)),
			attribute.String("order.id", orderID), attribute.String("payment.processor", "acme"))
	} else {
		logs += emit(ctx7, pay.logger, at(t+payMs), otellog.SeverityInfo, "", attribute.StringValue(fmt.Sprintf("charged %.2f EUR for %s", amount, orderID)),
			attribute.String("order.id", orderID))
	}
	paySpan.End(trace.WithTimestamp(at(t + 1 + payMs)))
	charge.End(trace.WithTimestamp(at(t + 2 + payMs)))
	pay.requests.Add(ctx7, 1, metric.WithAttributes(semconv.RPCMethod("Charge"), attribute.String("outcome", outcome)))
	pay.duration.Record(ctx7, payMs/1000, metric.WithAttributes(semconv.RPCMethod("Charge")))

	// A placed order is published; inventory consumes it later.
	t2 := t + 3 + payMs
	if !failed {
		ctx8, pub := co.tracer.Start(ctx3, "orders publish", trace.WithSpanKind(trace.SpanKindProducer), trace.WithTimestamp(at(t2)),
			trace.WithAttributes(semconv.MessagingSystemKey.String("nats"), semconv.MessagingDestinationName("orders"), attribute.String("order.id", orderID)))
		pub.End(trace.WithTimestamp(at(t2 + 1)))
		ctx9, consume := inv.tracer.Start(ctx8, "orders process", trace.WithSpanKind(trace.SpanKindConsumer), trace.WithTimestamp(at(t2+5)),
			trace.WithAttributes(semconv.MessagingSystemKey.String("nats"), semconv.MessagingDestinationName("orders"), attribute.String("order.id", orderID)))
		logs += emit(ctx9, inv.logger, at(t2+10), otellog.SeverityInfo, "", attribute.StringValue("stock updated for "+sku),
			attribute.String("sku", sku), attribute.Int64("stock.left", left))
		consume.End(trace.WithTimestamp(at(t2 + 15)))
		sh.orderValue.Record(ctx3, amount, metric.WithAttributes(attribute.String("currency", "EUR")))
	} else {
		place.SetStatus(codes.Error, "payment declined")
	}
	place.SetAttributes(semconv.HTTPResponseStatusCode(status))
	place.End(trace.WithTimestamp(at(t2 + 2)))
	sh.inflight.Add(ctx3, -1)
	call.SetAttributes(semconv.HTTPResponseStatusCode(status))
	call.End(trace.WithTimestamp(at(t2 + 3)))
	root.SetAttributes(semconv.HTTPResponseStatusCode(status))
	if status >= 500 {
		root.SetStatus(codes.Error, "")
	}
	root.End(trace.WithTimestamp(at(t2 + 4)))
	spans = spansPerOrder
	if failed {
		spans -= 2 // no publish and consume
	}

	attrs := metric.WithAttributes(semconv.HTTPRoute("/api/orders"), semconv.HTTPResponseStatusCode(status))
	co.requests.Add(ctx3, 1, attrs)
	co.duration.Record(ctx3, (t2-1)/1000, attrs)
	feAttrs := metric.WithAttributes(semconv.HTTPRoute("/checkout"), semconv.HTTPResponseStatusCode(status))
	fe.requests.Add(ctx1, 1, feAttrs)
	fe.duration.Record(ctx1, (t2+4)/1000, feAttrs)
	if failed {
		logs += emit(ctx1, fe.logger, at(t2+4), otellog.SeverityWarn, "", attribute.StringValue("checkout failed: payment declined"),
			attribute.String("order.id", orderID), attribute.Int("http.response.status_code", status))
	}
	return spans, logs
}

// emit logs one record in ctx's span and returns 1.
func emit(ctx context.Context, l otellog.Logger, ts time.Time, sev otellog.Severity, event string, body attribute.Value, attrs ...attribute.KeyValue) int {
	var r otellog.Record
	r.SetTimestamp(ts)
	r.SetSeverity(sev)
	r.SetSeverityText(sev.String())
	r.SetEventName(event)
	r.SetBody(body)
	r.AddAttributes(attrs...)
	l.Emit(ctx, r)
	return 1
}
