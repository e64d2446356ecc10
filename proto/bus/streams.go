package bus

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Stream and consumer defaults.
const (
	DefaultMaxBytes        int64 = 1 << 30 // per stream
	DefaultMaxAge                = 24 * time.Hour
	DefaultMaxMsgSize      int32 = 8 << 20
	DefaultDuplicateWindow       = 2 * time.Minute
	DefaultAckWait               = 60 * time.Second
	DefaultMaxAckPending         = 10000
	// DeadMaxAge is how long dead letters are kept.
	DeadMaxAge = 7 * 24 * time.Hour
)

// StreamsConfig shapes the per-signal streams and their durable consumers.
// Zero fields take the defaults of DefaultStreamsConfig.
type StreamsConfig struct {
	MaxBytes        int64                 // per stream; default 1 GiB
	MaxAge          time.Duration         // default 24h
	MaxMsgSize      int32                 // default 8 MiB
	Replicas        int                   // default 1; 3 in a 3-node cluster (a write is acknowledged once 2 replicas stored it)
	Storage         jetstream.StorageType // default FileStorage (the zero value)
	DuplicateWindow time.Duration         // default 2m
	Durables        []string              // default {DurableWriter}; add DurableForwarder when forwarding is on
	AckWait         time.Duration         // default 60s
	MaxAckPending   int                   // default 10000

	// PlacementCluster and PlacementTags place the streams on the servers
	// of one cluster and/or those carrying every tag (server tags); empty
	// lets JetStream choose.
	PlacementCluster string
	PlacementTags    []string
}

// DefaultStreamsConfig returns the configuration the stages use unless told
// otherwise.
func DefaultStreamsConfig() StreamsConfig {
	return StreamsConfig{
		MaxBytes:        DefaultMaxBytes,
		MaxAge:          DefaultMaxAge,
		MaxMsgSize:      DefaultMaxMsgSize,
		Replicas:        1,
		Storage:         jetstream.FileStorage,
		DuplicateWindow: DefaultDuplicateWindow,
		Durables:        []string{DurableWriter},
		AckWait:         DefaultAckWait,
		MaxAckPending:   DefaultMaxAckPending,
	}
}

// withDefaults fills the zero fields of cfg.
func (cfg StreamsConfig) withDefaults() StreamsConfig {
	d := DefaultStreamsConfig()
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = d.MaxBytes
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = d.MaxAge
	}
	if cfg.MaxMsgSize == 0 {
		cfg.MaxMsgSize = d.MaxMsgSize
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = d.Replicas
	}
	if cfg.DuplicateWindow == 0 {
		cfg.DuplicateWindow = d.DuplicateWindow
	}
	if len(cfg.Durables) == 0 {
		cfg.Durables = d.Durables
	}
	if cfg.AckWait == 0 {
		cfg.AckWait = d.AckWait
	}
	if cfg.MaxAckPending == 0 {
		cfg.MaxAckPending = d.MaxAckPending
	}
	return cfg
}

// placement returns the JetStream placement of cfg, nil when unset.
func (cfg StreamsConfig) placement() *jetstream.Placement {
	if cfg.PlacementCluster == "" && len(cfg.PlacementTags) == 0 {
		return nil
	}
	return &jetstream.Placement{Cluster: cfg.PlacementCluster, Tags: slices.Clone(cfg.PlacementTags)}
}

// StreamConfig returns the configuration of the stream of sig: limits
// retention with discard new (a full stream refuses publishes: ingest's
// backpressure); what every durable consumer acknowledged is removed by the
// stages' Purger, not by the server on each acknowledgement. A stream
// declared with interest retention by an earlier version is updated to it
// (nats-server allows interest to limits and back).
func StreamConfig(sig schema.Signal, cfg StreamsConfig) jetstream.StreamConfig {
	cfg = cfg.withDefaults()
	return jetstream.StreamConfig{
		Name:         StreamName(sig),
		Description:  "otlp-arrow " + string(sig) + " (Arrow IPC stream payloads)",
		Subjects:     []string{SubjectFilter(sig)},
		Retention:    jetstream.LimitsPolicy, // acknowledged messages go by PurgeAcknowledged
		Discard:      jetstream.DiscardNew,
		MaxBytes:     cfg.MaxBytes,
		MaxAge:       cfg.MaxAge,
		MaxMsgSize:   cfg.MaxMsgSize,
		MaxMsgs:      -1,
		MaxConsumers: -1,
		Storage:      cfg.Storage,
		Replicas:     cfg.Replicas,
		Placement:    cfg.placement(),
		Duplicates:   cfg.DuplicateWindow,
	}
}

// DeadStreamConfig returns the configuration of the dead letter stream
// OTLP_DEAD: limits retention on otlp.dead.>, kept for DeadMaxAge.
func DeadStreamConfig(cfg StreamsConfig) jetstream.StreamConfig {
	cfg = cfg.withDefaults()
	return jetstream.StreamConfig{
		Name:         DeadStream,
		Description:  "otlp-arrow dead letters",
		Subjects:     []string{subjectRoot + ".dead.>"},
		Retention:    jetstream.LimitsPolicy,
		Discard:      jetstream.DiscardOld,
		MaxBytes:     cfg.MaxBytes,
		MaxAge:       DeadMaxAge,
		MaxMsgSize:   cfg.MaxMsgSize,
		MaxMsgs:      -1,
		MaxConsumers: -1,
		Storage:      cfg.Storage,
		Replicas:     cfg.Replicas,
		Placement:    cfg.placement(),
		Duplicates:   cfg.DuplicateWindow,
	}
}

// ConsumerConfig returns the configuration of the durable pull consumer
// named durable on the stream of sig: explicit acks, every subject of the
// signal, from the first message kept, redelivered without limit.
func ConsumerConfig(durable string, sig schema.Signal, cfg StreamsConfig) jetstream.ConsumerConfig {
	cfg = cfg.withDefaults()
	return jetstream.ConsumerConfig{
		Durable:       durable,
		Description:   "otlp-arrow " + durable,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    -1,
		FilterSubject: SubjectFilter(sig),
		MaxAckPending: cfg.MaxAckPending,
	}
}

// EnsureStreams creates or updates the streams of every signal, their
// durable consumers named in cfg.Durables, and the dead letter stream.
// Consumers are declared with the streams so that the streams keep what is
// published before a stage starts (a Purger removes only what every
// durable consumer has acknowledged). EnsureStreams is idempotent and
// safe to call from several processes at once. While JetStream is not
// available yet (a cluster electing its meta leader, fewer nodes joined than
// Replicas, a node reconnecting) it retries each call with a backoff of up
// to 2 s until ctx is done; other errors return at once. It never deletes a consumer
// that is no longer listed; remove one with the nats CLI, or the stream
// keeps messages for it until they age out (or fill it).
func EnsureStreams(ctx context.Context, js jetstream.JetStream, cfg StreamsConfig) error {
	cfg = cfg.withDefaults()
	for _, sig := range schema.Signals {
		if err := ensureStream(ctx, js, StreamConfig(sig, cfg)); err != nil {
			return err
		}
		for _, durable := range slices.Compact(slices.Sorted(slices.Values(cfg.Durables))) {
			ccfg := ConsumerConfig(durable, sig, cfg)
			err := retry(ctx, func(ctx context.Context) error {
				_, err := js.CreateOrUpdateConsumer(ctx, StreamName(sig), ccfg)
				return err
			})
			if err != nil {
				return fmt.Errorf("ensure consumer %s on %s: %w", durable, StreamName(sig), err)
			}
		}
	}
	return ensureStream(ctx, js, DeadStreamConfig(cfg))
}

// ensureStream creates or updates one stream. Two processes racing may both
// see the stream missing and both create it: creating a stream that exists
// with another configuration fails with "name in use", so retry as update.
//
// A stream that already has scfg's settings is left alone: an update
// rewrites the stream's store configuration, and nats-server does that
// without locking against a consumer being created at the same moment
// (a data race when two stages start together).
func ensureStream(ctx context.Context, js jetstream.JetStream, scfg jetstream.StreamConfig) error {
	// The look-up is only a shortcut: a bus still electing its leader
	// may not answer it, so it gets a short bound and then the retries
	// below take over.
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	s, err := js.Stream(lctx, scfg.Name)
	cancel()
	if err == nil && sameStream(s.CachedInfo().Config, scfg) {
		return nil
	}
	inUse := 0
	err = retry(ctx, func(ctx context.Context) error {
		for {
			_, err := js.CreateOrUpdateStream(ctx, scfg)
			if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) || inUse == 2 {
				return err
			}
			inUse++
		}
	})
	if err != nil {
		return fmt.Errorf("ensure stream %s: %w", scfg.Name, err)
	}
	return nil
}

// sameStream reports whether the stream configuration got has every
// setting of want (the ones StreamConfig and DeadStreamConfig set).
func sameStream(got, want jetstream.StreamConfig) bool {
	return got.Description == want.Description &&
		slices.Equal(got.Subjects, want.Subjects) &&
		got.Retention == want.Retention &&
		got.Discard == want.Discard &&
		got.MaxBytes == want.MaxBytes &&
		got.MaxAge == want.MaxAge &&
		got.MaxMsgSize == want.MaxMsgSize &&
		got.MaxMsgs == want.MaxMsgs &&
		got.MaxConsumers == want.MaxConsumers &&
		got.Storage == want.Storage &&
		got.Replicas == want.Replicas &&
		reflect.DeepEqual(got.Placement, want.Placement) &&
		got.Duplicates == want.Duplicates
}
