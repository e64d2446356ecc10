package consume

import (
	"context"
	"sync"
	"sync/atomic"
)

// Acknowledgements are paced. The signal streams use limits retention: an
// acknowledgement only moves the consumer's ack floor, and a bus.Purger
// removes what every durable consumer acknowledged, one purge for many
// messages (Config.Acked tells it). Until then (interest retention) JetStream
// answered each acknowledgement with a tombstone written and synced to the
// stream's last block, under the lock its publishes need, and a flush's few
// hundred acknowledgements sent at once stalled every request for 100-300 ms
// once per flush; a stream still declared that way by an earlier version
// does so until the stages update it. The acker sends them one after the
// other (more at once only when a backlog builds up), so publishes
// interleave with them. The messages are durable and journaled before they
// are queued, so a late or lost acknowledgement costs nothing but a
// redelivery that is acknowledged without being written again. The acker
// keeps only the messages' reply subjects, not the messages, whose payloads
// would stay in memory while their acknowledgements wait.
const (
	ackBacklogStep = 32 // one more acknowledgement in flight per this many queued
)

// ackBatch is a group of durable messages to acknowledge (by their reply
// subjects), or (replies nil) a barrier whose done channel is closed once
// everything before it is sent.
type ackBatch struct {
	replies []string
	done    chan struct{}
}

// acker acknowledges durable messages in the background, in order.
type acker struct {
	l      *Lane
	mu     sync.Mutex
	queue  []ackBatch
	queued int // messages in queue
	wake   chan struct{}
	closed bool
	exited chan struct{}
}

func newAcker(l *Lane) *acker {
	return &acker{l: l, wake: make(chan struct{}, 1), exited: make(chan struct{})}
}

// add queues the acknowledgement of messages by their reply subjects. It
// never blocks.
func (a *acker) add(replies []string) {
	if len(replies) == 0 {
		return
	}
	a.push(ackBatch{replies: replies})
}

// barrier returns a channel closed once every message queued before it has
// been acknowledged (or has failed to be).
func (a *acker) barrier() <-chan struct{} {
	done := make(chan struct{})
	a.push(ackBatch{done: done})
	return done
}

func (a *acker) push(b ackBatch) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		if b.done != nil {
			close(b.done)
		}
		return
	}
	a.queue = append(a.queue, b)
	a.queued += len(b.replies)
	a.mu.Unlock()
	a.signal()
}

// signal wakes run if it waits.
func (a *acker) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// close stops taking messages; run returns once the queue is empty.
func (a *acker) close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.signal()
}

// next takes the next batch and the backlog behind it.
func (a *acker) next() (b ackBatch, backlog int, ok, closed bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.queue) == 0 {
		return ackBatch{}, 0, false, a.closed
	}
	b = a.queue[0]
	a.queue[0] = ackBatch{}
	a.queue = a.queue[1:]
	a.queued -= len(b.replies)
	return b, a.queued + len(b.replies), true, a.closed
}

// run acknowledges until closed and drained, or until ctx is done (then
// the rest is dropped: it is journaled, and redelivery settles it).
func (a *acker) run(ctx context.Context) {
	defer close(a.exited)
	for {
		if ctx.Err() != nil {
			a.drop()
			return
		}
		b, backlog, ok, closed := a.next()
		if !ok {
			if closed {
				return
			}
			select {
			case <-a.wake:
			case <-ctx.Done():
			}
			continue
		}
		if b.done != nil {
			close(b.done)
			continue
		}
		a.send(ctx, b.replies, min(ackParallel, 1+backlog/ackBacklogStep))
	}
}

// drop releases the barriers of a queue abandoned at stop.
func (a *acker) drop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	for _, b := range a.queue {
		if b.done != nil {
			close(b.done)
		}
	}
	a.queue, a.queued = nil, 0
}

// send acknowledges messages with up to par in flight and waits for the
// server, as jetstream.Msg.DoubleAck does.
func (a *acker) send(ctx context.Context, replies []string, par int) {
	ctx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	var (
		wg     sync.WaitGroup
		sem    = make(chan struct{}, par)
		failed atomic.Int64
		last   atomic.Value
	)
	for _, reply := range replies {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := a.l.cfg.Conn.RequestWithContext(ctx, reply, ackBody); err != nil {
				failed.Add(1)
				last.Store(err)
			}
		})
	}
	wg.Wait()
	l := a.l
	n := int64(len(replies)) - failed.Load()
	l.m.MessagesAcked.WithLabelValues(l.cfg.Signal).Add(float64(n))
	if n > 0 && l.cfg.Acked != nil {
		l.cfg.Acked()
	}
	if f := failed.Load(); f > 0 {
		l.log.Warn("acknowledge messages; they are journaled and will be acknowledged on redelivery",
			"failed", f, "err", last.Load())
	}
}

// ackBody is JetStream's acknowledgement.
var ackBody = []byte("+ACK")
