package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// lookupRetryDelay paces the wait for the streams to be declared.
const lookupRetryDelay = time.Second

// Forwarder relays bus messages to one target. Create it with New and
// start it with Run; Ready and BreakerState are safe for concurrent use.
type Forwarder struct {
	cfg     Config
	js      jetstream.JetStream
	log     *slog.Logger
	metrics *metrics
	target  target // nil when disabled

	ran     atomic.Bool
	started chan struct{} // closed when the lanes run
	stopped chan struct{} // closed when Run returns
	mu      sync.Mutex
	lanes   map[schema.Signal]*lane
}

// New validates cfg, reads the secret and TLS files, prepares the target
// client (without connecting) and registers the metrics on reg (which may
// be nil). log may be nil to discard logs. It does not talk to the bus;
// Run does.
func New(cfg Config, js jetstream.JetStream, log *slog.Logger, reg prometheus.Registerer) (*Forwarder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if js == nil {
		return nil, fmt.Errorf("new forwarder: %w: no JetStream context", ErrInvalidConfig)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("new forwarder: register metrics: %w", err)
	}
	f := &Forwarder{
		cfg:     cfg,
		js:      js,
		log:     log.With(bus.LogKeyStage, "forwarder"),
		metrics: m,
		started: make(chan struct{}),
		stopped: make(chan struct{}),
	}
	if !cfg.Enabled {
		return f, nil
	}
	if f.target, err = newTarget(cfg, memory.DefaultAllocator); err != nil {
		return nil, fmt.Errorf("new forwarder: %w", err)
	}
	return f, nil
}

func newTarget(cfg Config, mem memory.Allocator) (target, error) {
	ep, err := parseEndpoint(cfg.protocol(), cfg.Endpoint, cfg.TLS.Insecure)
	if err != nil {
		return nil, fmt.Errorf("%w: Endpoint: %w", ErrInvalidConfig, err)
	}
	hdr, err := requestHeaders(cfg)
	if err != nil {
		return nil, err
	}
	var t target
	switch cfg.protocol() {
	case ProtocolGRPC:
		t, err = newGRPCTarget(cfg, ep, hdr, mem)
	case ProtocolHTTP:
		t, err = newHTTPTarget(cfg, ep, hdr, mem)
	case ProtocolArrowFlight:
		t, err = newFlightTarget(cfg, ep, hdr, mem)
	default:
		err = fmt.Errorf("%w: Protocol: %q", ErrInvalidConfig, cfg.Protocol)
	}
	return t, err
}

// Run looks up (or creates) the durable consumer of every signal, waiting
// for the streams to be declared, then forwards until ctx is done. On ctx
// done it stops pulling, lets the send in flight finish (bounded by
// ShutdownTimeout), hands unsettled messages back to the stream and returns
// nil. A disabled Forwarder waits for ctx and returns nil. Run may be
// called once.
func (f *Forwarder) Run(ctx context.Context) error {
	if !f.ran.CompareAndSwap(false, true) {
		return errors.New("forward: Run called twice")
	}
	defer close(f.stopped)
	if f.target != nil {
		defer f.target.close()
	}
	if !f.cfg.Enabled {
		close(f.started)
		f.log.Info("forwarding disabled")
		<-ctx.Done()
		return nil
	}

	lanes := map[schema.Signal]*lane{}
	purger := bus.NewPurger(f.js, schema.Signals, f.log)
	for _, sig := range schema.Signals {
		enabled := slices.Contains(f.cfg.Signals, sig) &&
			(f.cfg.SubjectFilter == "" || filterOverlaps(f.cfg.SubjectFilter, sig))
		cons, err := f.consumer(ctx, sig, enabled)
		if err != nil {
			return fmt.Errorf("run forwarder: %w", err)
		}
		if ctx.Err() != nil {
			return nil
		}
		if cons == nil {
			continue
		}
		lanes[sig] = newLane(sig, enabled, f.cfg, cons, f.js, f.target, f.metrics, purger, f.log)
	}
	f.mu.Lock()
	f.lanes = lanes
	f.mu.Unlock()
	close(f.started)
	ep, _ := parseEndpoint(f.cfg.protocol(), f.cfg.Endpoint, f.cfg.TLS.Insecure)
	f.log.Info("forwarder started", "protocol", f.cfg.protocol(), "endpoint", ep.redacted,
		"signals", f.cfg.Signals, "subject_filter", f.cfg.SubjectFilter)

	var wg sync.WaitGroup
	for _, l := range lanes {
		wg.Go(func() { l.run(ctx) })
	}
	// The streams remove what every durable consumer acknowledged only
	// when purged (limits retention): the stages that consume purge.
	wg.Go(func() { purger.Run(ctx) })
	wg.Wait()
	f.log.Info("forwarder stopped")
	return nil
}

// consumer returns the forwarder's durable consumer on the stream of sig,
// its filter narrowed to the subject filter. For an enabled signal it waits
// for the stream and creates the consumer when missing; for another it
// only looks the consumer up (nil when there is none), to acknowledge and
// skip what the stream keeps for it. It returns nil, nil when ctx ends
// first.
func (f *Forwarder) consumer(ctx context.Context, sig schema.Signal, enabled bool) (jetstream.Consumer, error) {
	stream := bus.StreamName(sig)
	want := []string{bus.SubjectFilter(sig)}
	if enabled {
		want = consumerFilters(f.cfg.SubjectFilter, sig)
	}
	warned := false
	for {
		cons, err := f.js.Consumer(ctx, stream, f.cfg.Durable)
		switch {
		case err == nil:
			cc := cons.CachedInfo().Config
			if slices.Equal(filtersOf(cc), want) {
				return cons, nil
			}
			setFilters(&cc, want)
			cons, err = f.js.CreateOrUpdateConsumer(ctx, stream, cc)
			if err != nil {
				return nil, fmt.Errorf("set filter of consumer %s on %s to %s: %w", f.cfg.Durable, stream, want, err)
			}
			f.log.Info("consumer filter set", bus.LogKeyStream, stream, "filter", want)
			return cons, nil
		case ctx.Err() != nil:
			return nil, nil
		case !enabled:
			return nil, nil
		case errors.Is(err, jetstream.ErrConsumerNotFound):
			cc := bus.ConsumerConfig(f.cfg.Durable, sig, bus.DefaultStreamsConfig())
			setFilters(&cc, want)
			cons, err = f.js.CreateOrUpdateConsumer(ctx, stream, cc)
			if err == nil {
				f.log.Warn("consumer was not declared with the stream; created it (messages published before are not forwarded)",
					bus.LogKeyStream, stream, "durable", f.cfg.Durable)
				return cons, nil
			}
			if ctx.Err() != nil {
				return nil, nil
			}
			return nil, fmt.Errorf("create consumer %s on %s: %w", f.cfg.Durable, stream, err)
		case errors.Is(err, jetstream.ErrStreamNotFound), errors.Is(err, context.DeadlineExceeded),
			errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, jetstream.ErrNoHeartbeat):
			if !warned {
				f.log.Warn("waiting for the stream to be declared", bus.LogKeyStream, stream, "error", err)
				warned = true
			}
			if !sleep(ctx, lookupRetryDelay) {
				return nil, nil
			}
		default:
			return nil, fmt.Errorf("look up consumer %s on %s: %w", f.cfg.Durable, stream, err)
		}
	}
}

// Ready returns nil when the forwarder is consuming and pulling works. An
// open circuit breaker does not make it unready (see BreakerState):
// waiting out the target is its normal work.
func (f *Forwarder) Ready() error {
	select {
	case <-f.stopped:
		return ErrStopped
	default:
	}
	select {
	case <-f.started:
	default:
		return ErrNotStarted
	}
	f.mu.Lock()
	lanes := f.lanes
	f.mu.Unlock()
	for sig, l := range lanes {
		if err := l.err(); err != nil {
			return fmt.Errorf("forwarder %s: %w", sig, err)
		}
	}
	return nil
}

// BreakerState returns the circuit breaker state of sig's lane; closed
// when the lane does not run.
func (f *Forwarder) BreakerState(sig schema.Signal) BreakerState {
	f.mu.Lock()
	l := f.lanes[sig]
	f.mu.Unlock()
	if l == nil {
		return BreakerClosed
	}
	return l.state()
}
