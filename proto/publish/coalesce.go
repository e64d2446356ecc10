package publish

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Defaults of [CoalesceConfig].
const (
	DefaultMaxFlushers  = 2
	DefaultMaxBatchRows = 16384
)

// CoalesceConfig configures group commit: concurrent requests are
// converted and published together, one Arrow record per service for the
// whole batch, in fewer and larger bus messages. That saves the fixed costs
// of a message (Arrow conversion setup, IPC schema and dictionaries,
// JetStream store and acknowledgement, the writer's decode and ack).
//
// A request waits in the queue of its signal, source and first service
// (most requests hold one service); a request is never split between
// batches, so its messages are still published together by one PublishAll
// in its service order. Limits, grouping and metrics stay in the caller's
// goroutine; the answer (partial success, errors) is the one the request
// would get alone, except that a conversion error not caused by the data
// (not schema.ErrInvalid) fails every request of its batch.
//
// A request still returns only once JetStream acknowledged its rows. Rows
// of a request whose context ends while they are being published may still
// be stored although the request returned the context's error: delivery is
// at least once, as for any request that fails after part of it was stored.
// A retry of a request whose rows were coalesced builds other payloads, so
// the bus's deduplication cannot drop what a failed attempt stored.
//
// The zero value coalesces with the defaults.
type CoalesceConfig struct {
	// Disabled publishes every request on its own, in its own messages.
	Disabled bool
	// MaxFlushers bounds the goroutines converting and publishing one
	// queue at a time; 0 means [DefaultMaxFlushers]. A flusher starts when
	// a request waits and none is free, and exits when its queue is empty.
	MaxFlushers int
	// MaxBatchRows bounds the rows one flush takes from a queue; a single
	// request with more still goes, alone. 0 means [DefaultMaxBatchRows].
	// Payloads are still split at the publisher's MaxPayloadBytes.
	MaxBatchRows int
	// Linger makes a flusher wait up to this long for more requests before
	// converting (less when MaxBatchRows rows are queued). 0, the default,
	// never waits: batches form while the flushers are busy, so an idle
	// pipeline adds no latency.
	Linger time.Duration
}

func (c CoalesceConfig) validate() error {
	switch {
	case c.MaxFlushers < 0:
		return fmt.Errorf("%w: coalesce max_flushers = %d: want >= 0 (0: %d)", ErrInvalidConfig, c.MaxFlushers, DefaultMaxFlushers)
	case c.MaxBatchRows < 0:
		return fmt.Errorf("%w: coalesce max_batch_rows = %d: want >= 0 (0: %d)", ErrInvalidConfig, c.MaxBatchRows, DefaultMaxBatchRows)
	case c.Linger < 0:
		return fmt.Errorf("%w: coalesce linger = %v: want >= 0", ErrInvalidConfig, c.Linger)
	}
	return nil
}

func (c CoalesceConfig) withDefaults() CoalesceConfig {
	if c.MaxFlushers == 0 {
		c.MaxFlushers = DefaultMaxFlushers
	}
	if c.MaxBatchRows == 0 {
		c.MaxBatchRows = DefaultMaxBatchRows
	}
	return c
}

// qkey names a queue: a signal, the source, because a message's
// Otlp-Source header names one ingest path, and with
// Config.PerServiceMessages a request's first service ("" otherwise).
type qkey struct {
	signal  schema.Signal
	service string
	source  string
}

// result is what a flush answers one request.
type result struct {
	rejects [][]rejection // per service group: rows refused alone (invalid, too large)
	err     error         // as returned to the client; nil when published
	reason  string        // rows_rejected_total reason of err
}

type waitState uint8

const (
	statePending   waitState = iota // in its queue
	stateTaken                      // taken by a flusher: it will be answered
	stateWithdrawn                  // removed unanswered (the request gave up)
)

// waiter is one request in a queue: its service groups.
type waiter[T any] struct {
	ctx   context.Context // the request's: its deadline bounds the flush
	items []T
	rows  int64
	q     *queue[T]
	state waitState     // guarded by batcher.mu
	done  chan struct{} // closed once res is set
	res   result
	// answered is set with res, by the one flusher that took w.
	answered bool
}

// answer gives w its result; later answers are ignored (a flush that
// panicked answers the requests it had not answered yet).
func (w *waiter[T]) answer(r result) {
	if w.answered {
		return
	}
	w.answered = true
	w.res = r
	close(w.done)
}

// queue is the requests waiting under one key, and its flushers.
type queue[T any] struct {
	pending  []*waiter[T]
	rows     int64         // of pending
	flushers int           // running
	idle     int           // running and about to take (starting or lingering)
	full     chan struct{} // closed when rows reach MaxBatchRows while a flusher lingers
}

// batcher queues requests by key and runs their flushers. It is the
// machinery of group commit, independent of what a request's items are:
// service groups of OTLP resources or of Arrow slices.
type batcher[T any] struct {
	cfg CoalesceConfig // with defaults
	// flush converts and publishes ws, which share k, and answers every one.
	flush func(k qkey, ws []*waiter[T])
	// discard, if not nil, frees the items of a request withdrawn unflushed.
	discard func(items []T)

	mu     sync.Mutex
	queues map[qkey]*queue[T]
}

func newBatcher[T any](cfg CoalesceConfig, flush func(qkey, []*waiter[T]), discard func([]T)) *batcher[T] {
	return &batcher[T]{cfg: cfg, flush: flush, discard: discard, queues: map[qkey]*queue[T]{}}
}

// enqueue queues items (rows rows) of a request under k and starts a
// flusher when none is free and fewer than MaxFlushers run. The batcher
// owns items until the waiter is answered or withdrawn.
func (b *batcher[T]) enqueue(ctx context.Context, k qkey, items []T, rows int64) *waiter[T] {
	w := &waiter[T]{ctx: ctx, items: items, rows: rows, done: make(chan struct{})}
	b.mu.Lock()
	q := b.queues[k]
	if q == nil {
		// The service name may alias a request's buffer: a long-lived
		// queue must not keep that alive.
		k.service = strings.Clone(k.service)
		q = &queue[T]{}
		b.queues[k] = q
	}
	w.q = q
	q.pending = append(q.pending, w)
	q.rows += rows
	if q.full != nil && q.rows >= int64(b.cfg.MaxBatchRows) {
		close(q.full)
		q.full = nil
	}
	start := q.idle == 0 && q.flushers < b.cfg.MaxFlushers
	if start {
		q.flushers++
		q.idle++
	}
	b.mu.Unlock()
	if start {
		go b.run(k, q)
	}
	return w
}

// wait returns w's result, or the cause of ctx's end at once, withdrawing w
// if no flusher took it yet (a taken request may still be published).
func (b *batcher[T]) wait(ctx context.Context, w *waiter[T]) (result, error) {
	select {
	case <-w.done:
		return w.res, nil
	case <-ctx.Done():
		select {
		case <-w.done: // answered meanwhile: the answer is better
			return w.res, nil
		default:
		}
		b.withdraw(w)
		return result{}, context.Cause(ctx)
	}
}

// withdraw removes w from its queue if no flusher took it yet and reports
// whether it did.
func (b *batcher[T]) withdraw(w *waiter[T]) bool {
	b.mu.Lock()
	if w.state != statePending {
		b.mu.Unlock()
		return false
	}
	q := w.q
	if i := slices.Index(q.pending, w); i >= 0 {
		q.pending = slices.Delete(q.pending, i, i+1)
		q.rows -= w.rows
	}
	w.state = stateWithdrawn
	b.mu.Unlock()
	if b.discard != nil {
		b.discard(w.items)
	}
	return true
}

// run is one flusher of q: it flushes what q holds until q is empty.
func (b *batcher[T]) run(k qkey, q *queue[T]) {
	for {
		b.linger(q)
		b.mu.Lock()
		q.idle--
		batch, dropped := b.take(q)
		if len(batch) == 0 {
			q.flushers--
			if q.flushers == 0 && len(q.pending) == 0 {
				delete(b.queues, k)
			}
			b.mu.Unlock()
			b.drop(dropped)
			return
		}
		b.mu.Unlock()
		b.drop(dropped)
		b.flushRecovered(k, batch)
		b.mu.Lock()
		q.idle++
		b.mu.Unlock()
	}
}

// flushRecovered flushes batch; a panic in the conversion or the encoding
// (a bug, or input that slipped past validation) answers the requests of
// the batch not yet answered with an internal error instead of ending the
// process, as the ingest servers do for a panic in a request's own
// goroutine.
func (b *batcher[T]) flushRecovered(k qkey, batch []*waiter[T]) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		err := fmt.Errorf("publish %s: %w: %v", k.signal, errFlushPanic, r)
		for _, w := range batch {
			w.answer(result{err: err, reason: reasonError})
		}
	}()
	b.flush(k, batch)
}

// errFlushPanic is wrapped when a flush panicked.
var errFlushPanic = errors.New("internal error while converting")

// linger waits up to cfg.Linger for q to fill.
func (b *batcher[T]) linger(q *queue[T]) {
	if b.cfg.Linger <= 0 {
		return
	}
	b.mu.Lock()
	if q.rows >= int64(b.cfg.MaxBatchRows) {
		b.mu.Unlock()
		return
	}
	if q.full == nil {
		q.full = make(chan struct{})
	}
	full := q.full
	b.mu.Unlock()
	t := time.NewTimer(b.cfg.Linger)
	defer t.Stop()
	select {
	case <-t.C:
	case <-full:
	}
}

// take removes the oldest pending requests up to MaxBatchRows rows (at
// least one request), marking them taken. Requests that already gave up
// (ctx done) are removed as dropped instead. b.mu is held.
func (b *batcher[T]) take(q *queue[T]) (batch, dropped []*waiter[T]) {
	n := 0
	var rows int64
	for _, w := range q.pending {
		if w.ctx.Err() != nil {
			n++
			w.state = stateWithdrawn
			dropped = append(dropped, w)
			q.rows -= w.rows
			continue
		}
		if len(batch) > 0 && rows+w.rows > int64(b.cfg.MaxBatchRows) {
			break
		}
		n++
		w.state = stateTaken
		batch = append(batch, w)
		rows += w.rows
		q.rows -= w.rows
	}
	if n == len(q.pending) {
		clear(q.pending)
		q.pending = q.pending[:0]
	} else {
		q.pending = slices.Delete(q.pending, 0, n)
	}
	return batch, dropped
}

func (b *batcher[T]) drop(ws []*waiter[T]) {
	if b.discard == nil {
		return
	}
	for _, w := range ws {
		b.discard(w.items)
	}
}

// flushContext bounds a flush by the latest deadline of its requests, or
// bus.DefaultPublishTimeout when one has none. It is not canceled with
// them: the other requests of the batch still wait for the outcome.
func flushContext[T any](ws []*waiter[T]) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, w := range ws {
		d, ok := w.ctx.Deadline()
		if !ok {
			return context.WithTimeout(context.Background(), bus.DefaultPublishTimeout)
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(context.Background(), latest)
}

func batchRows[T any](ws []*waiter[T]) int64 {
	var n int64
	for _, w := range ws {
		n += w.rows
	}
	return n
}

// busReason is the rows_rejected_total reason of a publish error.
func busReason(err error) string {
	switch {
	case errors.Is(err, bus.ErrFull):
		return reasonFull
	case errors.Is(err, bus.ErrUnavailable):
		return reasonUnavailable
	}
	return reasonError
}

// publishResult publishes msgs and returns the answer of every request
// whose rows they hold.
func (p *Publisher) publishResult(ctx context.Context, sig schema.Signal, msgs []bus.Message) result {
	if len(msgs) == 0 {
		return result{}
	}
	start := time.Now()
	err := bus.PublishAll(ctx, p.js, msgs)
	p.m.publishDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		return result{err: fmt.Errorf("publish %s: %w", sig, err), reason: busReason(err)}
	}
	h := p.m.messageBytes.WithLabelValues(string(sig))
	for _, m := range msgs {
		h.Observe(float64(len(m.Payload)))
	}
	return result{}
}

// publishQueued queues a request's service groups as one unit, on the
// queue of its signal and source (and first service with
// PerServiceMessages), and waits for the answer (or ctx).
func publishQueued[R any](ctx context.Context, p *Publisher, sig schema.Signal, b *batcher[*group[R]], groups []*group[R], source string) result {
	var rows int64
	for _, g := range groups {
		rows += g.rows
	}
	k := qkey{signal: sig, source: source}
	if !p.mixed {
		k.service = groups[0].service
	}
	w := b.enqueue(ctx, k, groups, rows)
	res, err := b.wait(ctx, w)
	if err != nil {
		err = bus.MapError(err)
		return result{err: fmt.Errorf("publish %s: %w", sig, err), reason: busReason(err)}
	}
	return res
}

// services merges the groups of ws by service, in order of first
// appearance, so that a batch of one request keeps its group order.
func services[R any](ws []*waiter[*group[R]]) []*group[R] {
	var out []*group[R]
	index := map[string]*group[R]{}
	for _, w := range ws {
		for _, g := range w.items {
			m := index[g.service]
			if m == nil {
				m = &group[R]{service: g.service}
				index[g.service] = m
				out = append(out, m)
			}
			m.items = append(m.items, g.items...)
			m.rows += g.rows
		}
	}
	return out
}

// answerAll gives res to every request of a batch whose rows were in its
// messages, and an empty answer to requests without rows.
func answerAll[T any](ws []*waiter[T], res result) {
	for _, w := range ws {
		if w.rows > 0 {
			w.answer(res)
		} else {
			w.answer(result{})
		}
	}
}

// flushRequests is the flush of the OTLP path: one conversion of every
// request's resources, grouped by service (one per service with
// PerServiceMessages), one payload encoding per record, one PublishAll. When a merged conversion refuses the data as invalid or a
// row is too large, each request is converted on its own as without
// coalescing (encodeRequest, which falls back per resource), so only the
// bad rows are refused and the other requests still publish together. Any
// other conversion error fails the whole batch.
func flushRequests[R any](p *Publisher, ops signalOps[R], k qkey, ws []*waiter[*group[R]]) {
	p.m.observeBatch(ops.signal, len(ws), batchRows(ws))
	ctx, cancel := flushContext(ws)
	defer cancel()
	if len(ws) > 1 || p.mixed {
		msgs, err := encodeMerged(p, ops, k.source, services(ws))
		switch {
		case err == nil:
			answerAll(ws, p.publishResult(ctx, ops.signal, msgs))
			return
		case errors.Is(err, schema.ErrInvalid), errors.Is(err, payload.ErrTooLarge):
			// Find the culprits below.
		default:
			answerAll(ws, result{err: fmt.Errorf("convert %s: %w", ops.signal, err), reason: reasonError})
			return
		}
	}
	var msgs []bus.Message
	rs := make([]result, len(ws))
	sends := make([]bool, len(ws))
	for i, w := range ws {
		m, rejects, err := encodeRequest(p, ops, w.items, k.source)
		rs[i].rejects = rejects
		if err != nil {
			rs[i].err, rs[i].reason = fmt.Errorf("convert %s: %w", ops.signal, err), reasonError
			continue
		}
		sends[i] = len(m) > 0
		msgs = append(msgs, m...)
	}
	res := p.publishResult(ctx, ops.signal, msgs)
	for i, w := range ws {
		if sends[i] {
			rs[i].err, rs[i].reason = res.err, res.reason
		}
		w.answer(rs[i])
	}
}

// encodeMerged converts the merged resources to one record (one per
// service with PerServiceMessages) and encodes it.
func encodeMerged[R any](p *Publisher, ops signalOps[R], source string, groups []*group[R]) ([]bus.Message, error) {
	if p.mixed && len(groups) > 1 {
		var items []R
		for _, g := range groups {
			items = append(items, g.items...)
		}
		groups = []*group[R]{{items: items}}
	}
	var msgs []bus.Message
	for _, g := range groups {
		rec, err := ops.toArrow(p.mem, g.items)
		if err != nil {
			return nil, err
		}
		msgs, err = p.messages(msgs, ops.signal, source, []arrow.RecordBatch{rec})
		rec.Release()
		if err != nil {
			return nil, err
		}
	}
	return msgs, nil
}

// flushRecords is the flush of the record path: per service, the slices of
// every request go into one EncodeRows call (several record batches, each
// with its own dictionaries, in one IPC stream), then one PublishAll. When
// an encoding fails, each request is encoded on its own as without
// coalescing, so that only the failing ones fail. The slices are released
// before any request is answered.
func (p *Publisher) flushRecords(k qkey, ws []*waiter[*group[arrow.RecordBatch]]) {
	p.m.observeBatch(k.signal, len(ws), batchRows(ws))
	ctx, cancel := flushContext(ws)
	defer cancel()
	release := func() {
		for _, w := range ws {
			releaseGroups(w.items)
		}
	}
	defer release() // after a panic; a no-op otherwise
	if len(ws) > 1 {
		var msgs []bus.Message
		var err error
		for _, g := range services(ws) {
			if msgs, err = p.messages(msgs, k.signal, k.source, g.items); err != nil {
				break
			}
		}
		if err == nil {
			release()
			answerAll(ws, p.publishResult(ctx, k.signal, msgs))
			return
		}
	}
	var msgs []bus.Message
	rs := make([]result, len(ws))
	for i, w := range ws {
		var m []bus.Message
		if m, rs[i] = encodeRecord(p, k.signal, w.items, k.source); rs[i].err == nil {
			msgs = append(msgs, m...)
		}
	}
	release()
	res := p.publishResult(ctx, k.signal, msgs)
	for i, w := range ws {
		if rs[i].err == nil && w.rows > 0 {
			rs[i] = res
		}
		w.answer(rs[i])
	}
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}
