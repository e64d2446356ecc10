package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Dead letter headers, added to the original headers of a message
// republished on otlp.dead.<signal>.
const (
	// HeaderDeadReason holds why the message was rejected (one line).
	HeaderDeadReason = "Otlp-Dead-Reason"
	// HeaderDeadSubject holds the subject the message was published on.
	HeaderDeadSubject = "Otlp-Dead-Subject"
)

// Tuning that is not worth a configuration key.
const (
	fetchBatch     = 32               // messages pulled at once; handled one by one
	fetchWait      = 2 * time.Second  // pull request expiry when the stream is idle
	ackTimeout     = 10 * time.Second // per acknowledgement or dead letter publish
	pullRetryDelay = time.Second      // after a failed pull
	minKeepAlive   = 100 * time.Millisecond
)

// errStopping is returned by handle when Run's context ended before the
// message was settled; the message is then nak'ed for the next consumer.
var errStopping = errors.New("forward: stopping")

// lane forwards the messages of one signal, one at a time in stream order.
type lane struct {
	sig     schema.Signal
	enabled bool   // false: acknowledge and skip every message
	filter  string // Config.SubjectFilter; "" matches all
	cfg     Config
	cons    jetstream.Consumer
	pub     jetstream.Publisher
	tgt     target
	m       *metrics
	log     *slog.Logger
	breaker circuitbreaker.CircuitBreaker[any]
	keep    time.Duration // InProgress interval for held messages
	purger  *bus.Purger   // told of every acknowledgement

	mu      sync.Mutex
	held    []jetstream.Msg // fetched, not settled: kept alive with InProgress
	pullErr error
	lastErr string // reason of the last retryable failure, for the breaker log
}

func newLane(sig schema.Signal, enabled bool, cfg Config, cons jetstream.Consumer, pub jetstream.Publisher,
	tgt target, m *metrics, purger *bus.Purger, log *slog.Logger) *lane {
	l := &lane{
		sig: sig, enabled: enabled, filter: cfg.SubjectFilter, cfg: cfg,
		cons: cons, pub: pub, tgt: tgt, m: m, purger: purger,
		log: log.With("signal", string(sig)),
	}
	l.keep = max(minKeepAlive, bus.DefaultAckWait/3)
	if info := cons.CachedInfo(); info != nil && info.Config.AckWait > 0 {
		l.keep = max(minKeepAlive, info.Config.AckWait/3)
	}
	l.breaker = newBreaker(cfg.Breaker, l.onBreakerState)
	m.breaker.WithLabelValues(string(sig)).Set(0)
	return l
}

// state returns the lane's breaker state.
func (l *lane) state() BreakerState { return breakerState(l.breaker.State()) }

func (l *lane) onBreakerState(ev circuitbreaker.StateChangedEvent) {
	l.m.breaker.WithLabelValues(string(l.sig)).Set(float64(breakerState(ev.NewState)))
	switch ev.NewState {
	case circuitbreaker.OpenState:
		l.mu.Lock()
		last := l.lastErr
		l.mu.Unlock()
		l.log.Warn("circuit breaker open: forwarding paused, the stream keeps the data",
			"delay", l.cfg.Breaker.Delay, "from", ev.OldState.String(), "last_error", last)
	case circuitbreaker.ClosedState:
		l.log.Info("circuit breaker closed: forwarding resumed")
	case circuitbreaker.HalfOpenState:
		l.log.Debug("circuit breaker half-open: trying one message")
	}
}

// err returns the current pull error, nil when pulling works.
func (l *lane) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pullErr
}

func (l *lane) setPullErr(err error) {
	l.mu.Lock()
	prev := l.pullErr
	l.pullErr = err
	l.mu.Unlock()
	switch {
	case err != nil && prev == nil:
		l.log.Warn("pull messages failed, retrying", "error", err)
	case err == nil && prev != nil:
		l.log.Info("pull messages works again")
	}
}

// run forwards until ctx is done. A send in flight then gets up to
// ShutdownTimeout to finish; unsettled messages are nak'ed so another
// forwarder on the durable takes them at once.
func (l *lane) run(ctx context.Context) {
	sendCtx, cancelSend := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSend()
	stopAfter := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(l.cfg.ShutdownTimeout, cancelSend)
		context.AfterFunc(sendCtx, func() { t.Stop() })
	})
	defer stopAfter()
	exec := failsafe.With[any](newRetry(l.cfg.Retry, ctx), l.breaker, newTimeout(l.cfg.Timeout)).WithContext(sendCtx)

	var wg sync.WaitGroup
	wg.Go(func() { l.keepAlive(ctx) })
	defer wg.Wait()

	for ctx.Err() == nil {
		if l.waitBreaker(ctx) != nil {
			break
		}
		msgs, err := l.fetch(ctx)
		if ctx.Err() != nil {
			l.nak(msgs)
			break
		}
		l.setPullErr(err)
		if err != nil {
			sleep(ctx, pullRetryDelay)
			continue
		}
		l.setHeld(msgs)
		for i, msg := range msgs {
			if ctx.Err() != nil {
				l.nak(msgs[i:])
				break
			}
			if err := l.handle(ctx, exec, msg); err != nil {
				l.nak(msgs[i:])
				break
			}
			l.setHeld(msgs[i+1:])
		}
		l.setHeld(nil)
	}
}

// fetch returns what is pending without waiting, or else waits up to
// fetchWait for one message.
func (l *lane) fetch(ctx context.Context) ([]jetstream.Msg, error) {
	batch, err := l.cons.FetchNoWait(fetchBatch)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	msgs := collect(batch)
	if len(msgs) > 0 {
		return msgs, nil
	}
	fctx, cancel := context.WithTimeout(ctx, fetchWait)
	defer cancel()
	batch, err = l.cons.Fetch(1, jetstream.FetchContext(fctx))
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
			return nil, nil
		}
		return nil, fmt.Errorf("fetch: %w", err)
	}
	msgs = collect(batch)
	if err := batch.Error(); err != nil && len(msgs) == 0 && ctx.Err() == nil &&
		!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	return msgs, nil
}

func collect(batch jetstream.MessageBatch) []jetstream.Msg {
	var msgs []jetstream.Msg
	for msg := range batch.Messages() {
		msgs = append(msgs, msg)
	}
	return msgs
}

// handle settles one message: acknowledged after the target accepted it
// (or when it is not to be forwarded), dead-lettered and terminated when
// rejected permanently. Retryable failures keep it: handle waits out the
// breaker and tries again. It returns errStopping when ctx ends first.
func (l *lane) handle(ctx context.Context, exec failsafe.Executor[any], msg jetstream.Msg) error {
	keep, forward, err := l.selection(msg)
	if err != nil {
		return l.deadLetter(ctx, msg, "cannot send the payload: "+err.Error())
	}
	if !forward {
		l.m.skipped.WithLabelValues(string(l.sig)).Inc()
		return l.ack(ctx, msg)
	}
	req, err := l.tgt.prepare(l.sig, msg.Data(), keep)
	if err != nil {
		return l.deadLetter(ctx, msg, "cannot send the payload: "+err.Error())
	}
	defer req.release()
	for {
		var p partial
		err := exec.RunWithExecution(func(e failsafe.Execution[any]) error {
			var err error
			p, err = l.tgt.send(e.Context(), req)
			l.m.attempts.WithLabelValues(string(l.sig), outcomeOf(err)).Inc()
			if err != nil && !isPermanent(err) {
				l.mu.Lock()
				l.lastErr = err.Error()
				l.mu.Unlock()
			}
			return err
		})
		switch {
		case err == nil:
			if p.rejected > 0 || p.message != "" {
				l.m.partial.WithLabelValues(string(l.sig)).Add(float64(p.rejected))
				l.log.Warn("target rejected part of a message", bus.LogKeySubject, msg.Subject(),
					"rejected", p.rejected, "rows", req.rows, "message", cleanReason(p.message))
			}
			l.m.rows.WithLabelValues(string(l.sig)).Add(float64(req.rows - min(p.rejected, req.rows)))
			return l.ack(ctx, msg)
		case isPermanent(err):
			return l.deadLetter(ctx, msg, err.Error())
		case errors.Is(err, circuitbreaker.ErrOpen):
			l.m.attempts.WithLabelValues(string(l.sig), outcomeBreakerOpen).Inc()
			if err := l.waitBreaker(ctx); err != nil {
				return errStopping
			}
		default:
			// Retries exhausted (MaxAttempts) or the send was cut short by
			// shutdown: keep the message and try again later.
			if ctx.Err() != nil {
				return errStopping
			}
			l.log.Debug("retries exhausted, trying again", bus.LogKeySubject, msg.Subject(), "error", err)
			if !sleep(ctx, l.cfg.Retry.MaxInterval) {
				return errStopping
			}
		}
	}
}

// selection says whether msg is to be forwarded and, for a message of
// several services of which the subject filter selects only some, which
// services' rows: the filter applies to the subject each service would
// have on its own (otlp.<signal>.<service token>).
func (l *lane) selection(msg jetstream.Msg) (keep func(string) bool, forward bool, err error) {
	switch {
	case !l.enabled:
		return nil, false, nil
	case l.filter == "":
		return nil, true, nil
	case msg.Subject() != bus.MixedSubject(l.sig):
		return nil, subjectMatches(l.filter, msg.Subject()), nil
	}
	services, err := bus.ParseServices(msg.Headers().Get(bus.HeaderServices))
	if err != nil {
		return nil, false, err
	}
	selected := map[string]bool{}
	for _, s := range services {
		if subjectMatches(l.filter, bus.Subject(l.sig, s)) {
			selected[s] = true
		}
	}
	switch len(selected) {
	case 0:
		return nil, false, nil
	case len(services):
		return nil, true, nil
	}
	return func(s string) bool { return selected[s] }, true, nil
}

func outcomeOf(err error) string {
	switch {
	case err == nil:
		return outcomeSuccess
	case isPermanent(err):
		return outcomePermanent
	default:
		return outcomeRetryable
	}
}

// waitBreaker returns once the breaker lets a call through (closed, or
// open with its delay over: the next call is the half-open trial), or
// ctx's error.
func (l *lane) waitBreaker(ctx context.Context) error {
	for l.breaker.IsOpen() {
		d := l.breaker.RemainingDelay()
		if d <= 0 {
			return nil
		}
		if !sleep(ctx, d) {
			return ctx.Err()
		}
	}
	return ctx.Err()
}

// ack acknowledges msg and waits for the server's confirmation, trying a
// few times: a lost acknowledgement means a duplicate at the target.
func (l *lane) ack(ctx context.Context, msg jetstream.Msg) error {
	var err error
	for range 3 {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
		err = msg.DoubleAck(actx)
		cancel()
		if err == nil || errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
			l.purger.Acked(l.sig)
			return nil
		}
	}
	l.log.Warn("acknowledge failed; the message will be delivered again", bus.LogKeySubject, msg.Subject(), "error", err)
	return nil
}

// deadLetter republishes msg on otlp.dead.<signal> with its headers (the
// Nats-* publish controls aside) and the reason, then terminates it. While
// the bus is unavailable or full it keeps trying (the message stays held)
// until ctx ends; when the bus refuses the dead letter for good, it logs
// an error and terminates the message anyway rather than block the lane.
func (l *lane) deadLetter(ctx context.Context, msg jetstream.Msg, reason string) error {
	reason = cleanReason(reason)
	dm := nats.NewMsg(bus.DeadSubject(l.sig))
	dm.Data = msg.Data()
	for k, vs := range msg.Headers() {
		if strings.HasPrefix(http.CanonicalHeaderKey(k), "Nats-") {
			continue
		}
		dm.Header[k] = append([]string(nil), vs...)
	}
	if id := msg.Headers().Get(jetstream.MsgIDHeader); id != "" {
		dm.Header.Set(jetstream.MsgIDHeader, id) // a second dead-lettering is deduplicated
	}
	dm.Header.Set(HeaderDeadReason, reason)
	dm.Header.Set(HeaderDeadSubject, msg.Subject())
	warned := false
	for {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
		_, err := l.pub.PublishMsg(pctx, dm)
		cancel()
		if err == nil {
			break
		}
		err = bus.MapError(err)
		if !errors.Is(err, bus.ErrUnavailable) && !errors.Is(err, bus.ErrFull) {
			l.log.Error("dead letter refused by the bus; dropping the message", bus.LogKeySubject, msg.Subject(),
				"reason", reason, "error", err)
			break
		}
		if !warned {
			l.log.Warn("publish dead letter failed, retrying", bus.LogKeySubject, msg.Subject(), "error", err)
			warned = true
		}
		if !sleep(ctx, pullRetryDelay) {
			return errStopping
		}
	}
	if err := msg.TermWithReason(reason); err != nil {
		l.log.Warn("terminate dead-lettered message failed", bus.LogKeySubject, msg.Subject(), "error", err)
	}
	l.purger.Acked(l.sig)
	l.m.dead.WithLabelValues(string(l.sig)).Inc()
	l.log.Warn("message rejected permanently, moved to the dead letter subject", bus.LogKeySubject, msg.Subject(),
		"dead_subject", dm.Subject, "reason", reason)
	return nil
}

func (l *lane) setHeld(msgs []jetstream.Msg) {
	l.mu.Lock()
	l.held = msgs
	l.mu.Unlock()
}

// keepAlive extends the ack deadline of held messages until ctx is done,
// so a message waiting for the breaker is not redelivered meanwhile.
func (l *lane) keepAlive(ctx context.Context) {
	t := time.NewTicker(l.keep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.mu.Lock()
		held := l.held
		l.mu.Unlock()
		for _, msg := range held {
			_ = msg.InProgress()
		}
	}
}

// nak hands unsettled messages back for redelivery at once.
func (l *lane) nak(msgs []jetstream.Msg) {
	for _, msg := range msgs {
		_ = msg.Nak()
	}
}

// sleep waits d or until ctx is done; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
