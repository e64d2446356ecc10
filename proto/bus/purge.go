package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// The signal streams use limits retention: an acknowledgement only moves
// the consumer's ack floor, and a Purger removes, in one purge per round,
// every message that each durable consumer of the stream has acknowledged.
// On an interest stream every acknowledgement removed its message, a
// tombstone written and synced under the stream's lock, one per message.
const (
	// PurgeInterval is the least time between two purges of a stream
	// after acknowledgements.
	PurgeInterval = 250 * time.Millisecond
	// PurgeIdleInterval is how often a Purger looks at its streams when
	// it was told of no acknowledgement (a custom consumer's acknowledgements
	// are seen this way).
	PurgeIdleInterval = 2 * time.Second
)

// Purger removes from the streams of some signals what every durable
// consumer has acknowledged (see PurgeAcknowledged). The stages that
// consume run one each; several purgers on the same streams (replicas of
// the writer, the forwarder) are harmless: each purge removes only what is
// acknowledged by then. Create it with NewPurger, start Run, and call Acked
// after acknowledgements.
type Purger struct {
	js       jetstream.JetStream
	log      *slog.Logger
	streams  []string
	dirty    []atomic.Bool // per stream: acknowledged since its last purge
	kick     chan struct{}
	interval time.Duration
	idle     time.Duration
	failing  bool      // the last round failed (logged once)
	next     nextCache // Run's look-ups of filtered consumers' next messages
}

// NewPurger returns a purger of the streams of sigs. log may be nil.
func NewPurger(js jetstream.JetStream, sigs []schema.Signal, log *slog.Logger) *Purger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Purger{
		js:       js,
		log:      log,
		dirty:    make([]atomic.Bool, len(sigs)),
		kick:     make(chan struct{}, 1),
		interval: PurgeInterval,
		idle:     PurgeIdleInterval,
		next:     nextCache{},
	}
	for _, sig := range sigs {
		p.streams = append(p.streams, StreamName(sig))
	}
	return p
}

// Acked tells p that messages of sig were acknowledged: the stream is
// purged within PurgeInterval, several calls coalescing into one purge. It
// never blocks. A nil Purger ignores it.
func (p *Purger) Acked(sig schema.Signal) {
	if p == nil {
		return
	}
	i := slices.Index(p.streams, StreamName(sig))
	if i < 0 {
		return
	}
	p.dirty[i].Store(true)
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Run purges until ctx is done: each stream told of acknowledgements at
// most every PurgeInterval, and every stream every PurgeIdleInterval.
// Failures (the bus away, a leader election) are logged and retried on
// the next round.
func (p *Purger) Run(ctx context.Context) {
	idle := time.NewTicker(p.idle) // not reset by the rounds after acknowledgements
	defer idle.Stop()
	var last time.Time
	for {
		all := false
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
			wait := time.NewTimer(time.Until(last.Add(p.interval)))
			select {
			case <-ctx.Done():
				wait.Stop()
				return
			case <-wait.C:
			}
		case <-idle.C:
			all = true
		}
		p.round(ctx, all)
		last = time.Now()
	}
}

// round purges the streams acknowledged since the last round, or all.
func (p *Purger) round(ctx context.Context, all bool) {
	var errs []error
	for i, stream := range p.streams {
		if !p.dirty[i].Swap(false) && !all {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := purgeAcknowledged(rctx, p.js, stream, p.next)
		cancel()
		if err != nil && ctx.Err() == nil {
			p.dirty[i].Store(true) // again on the next round
			errs = append(errs, err)
		}
	}
	switch err := errors.Join(errs...); {
	case err != nil && !p.failing:
		p.log.Warn("purge acknowledged messages; retrying (the streams keep them meanwhile)", "error", err)
		p.failing = true
	case err == nil && p.failing:
		p.log.Info("purging acknowledged messages again")
		p.failing = false
	}
}

// PurgeAcknowledged removes from stream every message that each durable
// consumer of the stream has acknowledged, and returns the sequence up to
// which it purged (0 when nothing was). It never removes a message that a
// durable consumer existing when it looked has not acknowledged:
//
//   - every durable consumer counts, otlp-arrow's and any other; ephemeral
//     and ordered consumers (no durable name) hold nothing;
//   - a consumer holds the stream from its ack floor (the stream sequence
//     up to which it acknowledged everything it is to be delivered); one
//     that has had no delivery yet holds from where it starts (DeliverAll:
//     the stream's first message);
//   - a filtered consumer holds the stream from the first message after its
//     ack floor that matches its filter: one whose subjects have no message
//     left holds nothing, even if it has not pulled for a while;
//   - the purge is by sequence, so a consumer holding a message holds every
//     later one too, of any subject.
//
// A consumer created while PurgeAcknowledged runs may see the messages
// every other durable had acknowledged go (as on an interest stream, where
// they are gone before it exists). Streams without limits retention (an
// interest stream not yet updated) are left alone: the server removes
// their messages on acknowledgement.
func PurgeAcknowledged(ctx context.Context, js jetstream.JetStream, stream string) (uint64, error) {
	return purgeAcknowledged(ctx, js, stream, nil)
}

// nextCache keeps, by stream, consumer and filters, the ack floor of a
// filtered consumer and the first message of its subjects after it. While
// the floor stays, that message stays the first (later ones have higher
// sequences; one removed by max_age leaves the answer conservative), so a
// lagging filtered consumer, a forwarder with a subject filter behind an
// outage for example, costs one message look-up per floor, not one per round.
type nextCache map[string][2]uint64

const maxNextCache = 1024

func purgeAcknowledged(ctx context.Context, js jetstream.JetStream, stream string, cache nextCache) (uint64, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("purge %s: %w", stream, err)
	}
	info := s.CachedInfo()
	if info.Config.Retention != jetstream.LimitsPolicy || info.State.Msgs == 0 {
		return 0, nil
	}
	// The stream first: a message stored after this reading is never
	// purged, and any stored before it is seen by the look-ups below.
	floor, err := ackFloor(ctx, s, info.Config.Subjects, info.State.LastSeq, cache)
	if err != nil {
		return 0, fmt.Errorf("purge %s: %w", stream, err)
	}
	if floor < info.State.FirstSeq {
		return 0, nil
	}
	if err := s.Purge(ctx, jetstream.WithPurgeSequence(floor+1)); err != nil {
		return 0, fmt.Errorf("purge %s up to %d: %w", stream, floor, err)
	}
	return floor, nil
}

// ackFloor returns the highest sequence, at most last, up to which every
// durable consumer of s has acknowledged every message it is to be
// delivered. Any consumer it cannot read (deleted meanwhile, its leader
// being elected) fails it: the next round sees the stream as it is then.
func ackFloor(ctx context.Context, s jetstream.Stream, streamSubjects []string, last uint64, cache nextCache) (uint64, error) {
	names := s.ConsumerNames(ctx)
	var list []string
	for name := range names.Name() {
		list = append(list, name)
	}
	if err := names.Err(); err != nil {
		return 0, fmt.Errorf("list consumers: %w", err)
	}
	floor := last
	for _, name := range list {
		c, err := s.Consumer(ctx, name)
		if err != nil {
			return 0, fmt.Errorf("consumer %s: %w", name, err)
		}
		ci := c.CachedInfo()
		if ci.Config.Durable == "" {
			continue
		}
		f := ci.AckFloor.Stream
		if f >= floor {
			continue
		}
		if filters := consumerFilters(ci.Config); filtered(filters, streamSubjects) {
			// The stream's creation time in the key: a stream deleted and
			// created again numbers its messages anew.
			si := s.CachedInfo()
			key := fmt.Sprint(si.Config.Name, "\x00", si.Created.UnixNano(), "\x00", name, "\x00", strings.Join(filters, "\x00"))
			next := uint64(0)
			if e, ok := cache[key]; ok && e[0] == f {
				next = e[1]
			} else {
				if next, err = nextMatching(ctx, s, filters, f+1); err != nil {
					return 0, fmt.Errorf("consumer %s: %w", name, err)
				}
				if cache != nil && next != 0 {
					if len(cache) >= maxNextCache {
						clear(cache) // consumers gone leave entries behind
					}
					cache[key] = [2]uint64{f, next}
				}
			}
			if next == 0 {
				continue // nothing of its subjects after its floor
			}
			f = max(f, next-1)
		}
		floor = min(floor, f)
	}
	return floor, nil
}

// consumerFilters returns the subject filters of a consumer (none: every
// subject of the stream).
func consumerFilters(cfg jetstream.ConsumerConfig) []string {
	if len(cfg.FilterSubjects) > 0 {
		return cfg.FilterSubjects
	}
	if cfg.FilterSubject != "" {
		return []string{cfg.FilterSubject}
	}
	return nil
}

// filtered reports whether filters select less than the stream's subjects.
func filtered(filters, streamSubjects []string) bool {
	if len(filters) == 0 {
		return false
	}
	for _, f := range filters {
		if slices.Contains(streamSubjects, f) {
			return false
		}
	}
	return true
}

// nextMatching returns the sequence of the first message at or after seq
// whose subject matches one of filters, 0 when there is none.
func nextMatching(ctx context.Context, s jetstream.Stream, filters []string, seq uint64) (uint64, error) {
	var next uint64
	for _, f := range filters {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(f))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("next message on %s: %w", f, err)
		}
		if next == 0 || m.Sequence < next {
			next = m.Sequence
		}
	}
	return next, nil
}
