package publish

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Errors.
var (
	// ErrInvalidConfig is wrapped by NewPublisher for a bad configuration.
	ErrInvalidConfig = errors.New("publish: invalid config")
	// ErrInvalidRequest is wrapped when every row of a request was refused
	// as invalid; nothing was published.
	ErrInvalidRequest = errors.New("publish: invalid request")
)

// DefaultCompression is the payloads' buffer compression unless configured:
// LZ4 frames (Arrow IPC body compression), which pyarrow and arrow-go read
// with no option. Measured against none and zstd in docs/BENCHMARKS.md
// (ninth pass, messages across services).
const DefaultCompression = payload.CompressionLZ4

// Config configures a Publisher.
type Config struct {
	// MaxPayloadBytes bounds one bus message's payload (bus.PayloadLimit).
	MaxPayloadBytes int
	// Limits bound the attributes of OTLP requests; the zero value is the
	// defaults (see [Limits]).
	Limits Limits
	// Coalesce configures group commit of concurrent requests; the zero
	// value coalesces with the defaults (see [CoalesceConfig]).
	Coalesce CoalesceConfig
	// PublishTimeout bounds how long a request waits for the bus (and at
	// most 9/10 of its context's own deadline, see bus.WithPublishDeadline);
	// past it the request fails with an error wrapping bus.ErrPublishTimeout,
	// which is retryable. 0: only the context's deadline.
	PublishTimeout time.Duration
	// Compression names the payloads' buffer compression (see
	// payload.Compression): "" for [DefaultCompression] (lz4), "lz4",
	// "zstd" or "none" (readable by every Arrow IPC reader, codec or not).
	Compression string
	// PerServiceMessages keeps every message to the rows of one service
	// (contract 1's layout), so that every subject names its service:
	// requests are then coalesced only with requests of the same first
	// service. By default a message holds the rows of every request
	// coalesced with it, whatever their services (otlp.<signal>._mixed
	// when there are several; the Otlp-Services header lists them).
	PerServiceMessages bool
}

// Publisher converts OTLP export requests to Arrow and publishes them on the
// bus: one Arrow record per request (per service with
// [Config.PerServiceMessages]), split into payloads of at most the
// configured size, one bus message per payload. Unless
// [CoalesceConfig.Disabled], concurrent requests share those records and
// messages (group commit). It returns only after JetStream has
// acknowledged every message. It is safe for concurrent use and needs no
// closing: its flusher goroutines exit when their queues are empty.
type Publisher struct {
	js         jetstream.Publisher
	maxPayload int
	mem        memory.Allocator
	m          *metrics
	limits     Limits
	timeout    time.Duration // Config.PublishTimeout
	encOpts    []payload.Option
	// mixed: a message may hold several services (not PerServiceMessages).
	mixed bool

	// Group commit queues; nil when coalescing is disabled.
	traceQ  *batcher[*group[ptrace.ResourceSpans]]
	metricQ *batcher[*group[pmetric.ResourceMetrics]]
	logQ    *batcher[*group[plog.ResourceLogs]]
	recordQ *batcher[*group[arrow.RecordBatch]]
}

// NewPublisher returns a publisher on js using cfg.MaxPayloadBytes. reg may be
// nil; metrics already registered on reg by another Publisher are shared.
func NewPublisher(js jetstream.Publisher, cfg Config, reg prometheus.Registerer) (*Publisher, error) {
	if js == nil {
		return nil, fmt.Errorf("new publisher: %w: nil jetstream publisher", ErrInvalidConfig)
	}
	if cfg.MaxPayloadBytes <= 0 {
		return nil, fmt.Errorf("new publisher: %w: max_payload_bytes = %d: want > 0", ErrInvalidConfig, cfg.MaxPayloadBytes)
	}
	if err := cfg.Coalesce.validate(); err != nil {
		return nil, fmt.Errorf("new publisher: %w", err)
	}
	if cfg.Compression == "" {
		cfg.Compression = DefaultCompression
	}
	codec, err := payload.Compression(cfg.Compression)
	if err != nil {
		return nil, fmt.Errorf("new publisher: %w: %w", ErrInvalidConfig, err)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("new publisher: %w", err)
	}
	p := &Publisher{js: js, maxPayload: cfg.MaxPayloadBytes, mem: memory.NewGoAllocator(), m: m, limits: cfg.Limits.withDefaults(),
		timeout: cfg.PublishTimeout, encOpts: []payload.Option{codec}, mixed: !cfg.PerServiceMessages}
	if c := cfg.Coalesce.withDefaults(); !c.Disabled {
		p.traceQ = newBatcher(c, func(k qkey, ws []*waiter[*group[ptrace.ResourceSpans]]) { flushRequests(p, traceOps, k, ws) }, nil)
		p.metricQ = newBatcher(c, func(k qkey, ws []*waiter[*group[pmetric.ResourceMetrics]]) { flushRequests(p, metricOps, k, ws) }, nil)
		p.logQ = newBatcher(c, func(k qkey, ws []*waiter[*group[plog.ResourceLogs]]) { flushRequests(p, logOps, k, ws) }, nil)
		p.recordQ = newBatcher(c, p.flushRecords, releaseGroups)
	}
	return p, nil
}

// PublishTraceData publishes td's spans with the given source label. It
// first applies the publisher's [Limits] to td in place (attributes
// dropped, values truncated; a resource nesting values too deeply is
// rejected as invalid), so td must not be used concurrently. rejected
// counts the spans refused as invalid (partial success: a resource with an
// invalid string or value is refused alone) and msg says why; err is not
// nil when nothing could be accepted: it wraps [ErrInvalidRequest] when
// every span was invalid, or the bus error (bus.ErrFull,
// bus.ErrUnavailable, ...) when publishing failed, in which case the client
// should retry the whole request.
func (p *Publisher) PublishTraceData(ctx context.Context, td ptrace.Traces, source string) (rejected int64, msg string, err error) {
	return publish(ctx, p, traceOps, p.traceQ, schema.ResourceSpansOf(td), nil, source)
}

// PublishLogData publishes ld's log records; see [Publisher.PublishTraceData].
func (p *Publisher) PublishLogData(ctx context.Context, ld plog.Logs, source string) (rejected int64, msg string, err error) {
	return publish(ctx, p, logOps, p.logQ, schema.ResourceLogsOf(ld), nil, source)
}

// PublishMetricData publishes md's metric data points; see
// [Publisher.PublishTraceData]. The limits are applied to md in place.
func (p *Publisher) PublishMetricData(ctx context.Context, md pmetric.Metrics, source string) (rejected int64, msg string, err error) {
	return publish(ctx, p, metricOps, p.metricQ, schema.ResourceMetricsOf(md), nil, source)
}

// signalOps adapts one signal's resource type to the generic publish path.
type signalOps[R any] struct {
	signal   schema.Signal
	unit     string // what a row is, for messages
	resource func(R) pcommon.Resource
	rows     func(R) int64
	limit    func(*limiter, R) error
	toArrow  func(memory.Allocator, []R) (arrow.RecordBatch, error)
	decode   func([]byte) ([]R, error)     // an export request in protobuf
	refuse   func([]byte) (refusal, error) // a one-resource request pdata refused
}

var traceOps = signalOps[ptrace.ResourceSpans]{
	signal:   schema.Traces,
	unit:     "spans",
	resource: ptrace.ResourceSpans.Resource,
	rows:     schema.CountResourceSpans,
	limit:    limitSpans,
	toArrow:  schema.ResourceSpansToArrow,
	decode:   decodeTraces,
	refuse:   refuseTraces,
}

var metricOps = signalOps[pmetric.ResourceMetrics]{
	signal:   schema.Metrics,
	unit:     "data points",
	resource: pmetric.ResourceMetrics.Resource,
	rows:     schema.CountResourceMetrics,
	limit:    limitMetrics,
	toArrow:  schema.ResourceMetricsToArrow,
	decode:   decodeMetrics,
	refuse:   refuseMetrics,
}

var logOps = signalOps[plog.ResourceLogs]{
	signal:   schema.Logs,
	unit:     "log records",
	resource: plog.ResourceLogs.Resource,
	rows:     schema.CountResourceLogs,
	limit:    limitLogs,
	toArrow:  schema.ResourceLogsToArrow,
	decode:   decodeLogs,
	refuse:   refuseLogs,
}

// group is the resources of one service in a request.
type group[R any] struct {
	service string
	items   []R
	rows    int64
}

// Rejection reasons (label values of rows_rejected_total).
const (
	reasonInvalid     = "invalid"
	reasonTooLarge    = "too_large"
	reasonFull        = "bus_full"
	reasonUnavailable = "bus_unavailable"
	reasonError       = "error"
)

// maxMessageLen bounds the partial success error message.
const maxMessageLen = 1024

// publish applies the limits to items and groups them by service in the
// caller's goroutine (counting refused, the resources refused before, as
// rejected), then publishes the groups: through the queues of b
// (group commit), or on their own when b is nil.
func publish[R any](ctx context.Context, p *Publisher, ops signalOps[R], b *batcher[*group[R]], items []R, refused []refusal, source string) (int64, string, error) {
	sig := string(ops.signal)
	var total int64
	var groups []*group[R]
	index := map[string]int{}
	var rejected int64
	var reasons []string
	lim := limiter{Limits: p.limits}
	for _, r := range refused {
		total += r.rows
		rejected += r.rows
		p.m.rowsRejected.WithLabelValues(source, sig, reasonInvalid).Add(float64(r.rows))
		reasons = append(reasons, fmt.Sprintf("%d %s of service %q: %v", r.rows, ops.unit, r.service, r.err))
	}
	for _, it := range items {
		rows := ops.rows(it)
		total += rows
		err := ops.limit(&lim, it)
		name := schema.ResourceService(ops.resource(it)) // after the limits: they may cut it
		if err != nil {
			rejected += rows
			p.m.rowsRejected.WithLabelValues(source, sig, reasonInvalid).Add(float64(rows))
			reasons = append(reasons, fmt.Sprintf("%d %s of service %q: %v", rows, ops.unit, name, err))
			continue
		}
		i, ok := index[name]
		if !ok {
			i = len(groups)
			index[name] = i
			groups = append(groups, &group[R]{service: name})
		}
		groups[i].items = append(groups[i].items, it)
		groups[i].rows += rows
	}
	p.m.rowsReceived.WithLabelValues(source, sig).Add(float64(total))
	if lim.dropped > 0 {
		p.m.attrsTruncated.WithLabelValues(sig, truncCount).Add(float64(lim.dropped))
	}
	if lim.truncated > 0 {
		p.m.attrsTruncated.WithLabelValues(sig, truncValueLength).Add(float64(lim.truncated))
	}
	var res result
	switch {
	case b == nil:
		res = p.bounded(ctx, func(ctx context.Context) result { return publishRequest(ctx, p, ops, groups, source) })
	case len(groups) > 0:
		res = p.bounded(ctx, func(ctx context.Context) result { return publishQueued(ctx, p, ops.signal, b, groups, source) })
	}
	for i, rs := range res.rejects {
		for _, r := range rs {
			rejected += r.rows
			p.m.rowsRejected.WithLabelValues(source, sig, r.reason).Add(float64(r.rows))
			reasons = append(reasons, fmt.Sprintf("%d %s of service %q: %v", r.rows, ops.unit, groups[i].service, r.err))
		}
	}
	if res.err != nil {
		p.m.rowsRejected.WithLabelValues(source, sig, res.reason).Add(float64(total - rejected))
		return 0, "", res.err
	}
	msg := ""
	if len(reasons) > 0 {
		msg = truncate("rejected "+strings.Join(reasons, "; "), maxMessageLen)
	}
	if rejected > 0 && rejected == total {
		return rejected, msg, fmt.Errorf("publish %s: %w: %s", sig, ErrInvalidRequest, msg)
	}
	return rejected, msg, nil
}

// bounded runs wait, one request's wait for the bus, under the publish
// deadline (bus.WithPublishDeadline), and reports its end by that deadline
// as bus.ErrPublishTimeout.
func (p *Publisher) bounded(ctx context.Context, wait func(context.Context) result) result {
	ctx, cancel := bus.WithPublishDeadline(ctx, p.timeout)
	defer cancel()
	res := wait(ctx)
	if err := bus.PublishError(ctx, res.err); err != res.err {
		res.err, res.reason = err, busReason(err)
	}
	return res
}

// publishRequest converts and publishes one request's groups on its own.
func publishRequest[R any](ctx context.Context, p *Publisher, ops signalOps[R], groups []*group[R], source string) result {
	msgs, rejects, err := encodeRequest(p, ops, groups, source)
	if err != nil {
		return result{rejects: rejects, err: fmt.Errorf("convert %s: %w", ops.signal, err), reason: reasonError}
	}
	res := p.publishResult(ctx, ops.signal, msgs)
	res.rejects = rejects
	return res
}

// encodeRequest converts one request's groups to bus messages, in group
// order; rejects[i] are the rows of groups[i] refused alone. An error other
// than invalid data or a row too large stops it: rejects then holds the
// groups before the failing one.
func encodeRequest[R any](p *Publisher, ops signalOps[R], groups []*group[R], source string) (msgs []bus.Message, rejects [][]rejection, err error) {
	rejects = make([][]rejection, 0, len(groups))
	for _, g := range groups {
		out, err := encodeGroup(p, ops, g, source)
		if err != nil {
			return nil, rejects, err
		}
		msgs = append(msgs, out.msgs...)
		rejects = append(rejects, out.rejects)
	}
	return msgs, rejects, nil
}

// rejection is a part of a group that was refused.
type rejection struct {
	rows   int64
	reason string
	err    error
}

// encoded is one group's messages and rejections.
type encoded struct {
	msgs    []bus.Message
	rejects []rejection
}

// encodeGroup converts a service group into payloads. When the group as a
// whole is invalid, each resource is converted on its own so the valid ones
// still go through. Errors other than invalid data are returned.
func encodeGroup[R any](p *Publisher, ops signalOps[R], g *group[R], source string) (encoded, error) {
	var out encoded
	var recs []arrow.RecordBatch
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	rec, err := ops.toArrow(p.mem, g.items)
	switch {
	case err == nil:
		recs = append(recs, rec)
	case errors.Is(err, schema.ErrInvalid):
		for _, it := range g.items {
			rec, err := ops.toArrow(p.mem, []R{it})
			switch {
			case err == nil:
				recs = append(recs, rec)
			case errors.Is(err, schema.ErrInvalid):
				out.rejects = append(out.rejects, rejection{rows: ops.rows(it), reason: reasonInvalid, err: err})
			default:
				return out, err
			}
		}
	default:
		return out, err
	}
	var rows int64
	for _, r := range recs {
		rows += r.NumRows()
	}
	if rows == 0 {
		return out, nil
	}
	msgs, err := p.messages(nil, ops.signal, source, recs)
	if err != nil {
		if errors.Is(err, payload.ErrTooLarge) {
			var n int64
			for _, it := range g.items {
				n += ops.rows(it)
			}
			for _, r := range out.rejects {
				n -= r.rows
			}
			out.rejects = append(out.rejects, rejection{rows: n, reason: reasonTooLarge, err: err})
			return out, nil
		}
		return out, err
	}
	out.msgs = msgs
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// messages appends to msgs the bus messages of recs: payloads of at most
// the configured size (less the Otlp-Services header of all their
// services), with the configured compression, each listing the services of
// its rows.
func (p *Publisher) messages(msgs []bus.Message, sig schema.Signal, source string, recs []arrow.RecordBatch) ([]bus.Message, error) {
	all, err := recordServices(recs)
	if err != nil {
		return nil, err
	}
	payloads, counts, err := payload.EncodeRows(recs, p.maxPayload-bus.HeadersLen(all), p.encOpts...)
	if err != nil {
		return nil, err
	}
	per := [][]string{all}
	if len(payloads) > 1 {
		if per, err = payloadServices(recs, counts); err != nil {
			return nil, err
		}
	}
	for i, pl := range payloads {
		msgs = append(msgs, bus.Message{Signal: sig, Services: per[i], Source: source, Rows: counts[i], Payload: pl})
	}
	return msgs, nil
}
