package writer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
	"github.com/otlp-arrow/otlp-arrow/writer/internal/consume"
	"github.com/otlp-arrow/otlp-arrow/writer/internal/journal"
	"github.com/otlp-arrow/otlp-arrow/writer/internal/segment"
)

// ErrStopped is returned by Flush and Ready once Run has returned.
var ErrStopped = consume.ErrStopped

// ErrNotStarted is returned by Ready before Run consumes.
var ErrNotStarted = errors.New("writer: not consuming yet")

// Writer consumes the bus and writes files. Create it with New and start it
// with Run; Flush and Ready are safe for concurrent use.
type Writer struct {
	cfg     Config
	js      jetstream.JetStream
	log     *slog.Logger
	metrics *consume.Metrics
	root    string
	mem     memory.Allocator
	hooks   *consume.Hooks // tests only

	ran     atomic.Bool
	started chan struct{} // closed when the lanes run
	stopped chan struct{} // closed when Run returns
	mu      sync.Mutex
	lanes   map[schema.Signal]*consume.Lane
}

// New validates cfg, creates the output directories and registers the
// metrics on reg (which may be nil). It does not talk to the bus; Run does.
// log may be nil to discard logs.
func New(cfg Config, js jetstream.JetStream, log *slog.Logger, reg prometheus.Registerer) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if js == nil {
		return nil, fmt.Errorf("new writer: %w: no JetStream context", ErrInvalidConfig)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	root := filepath.Join(cfg.OutputDir, "otlp")
	for _, d := range append([]string{consume.JournalDir}, signalNames(schema.Signals)...) {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, fmt.Errorf("new writer: create output dir: %w", err)
		}
	}
	m, err := consume.NewMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("new writer: register metrics: %w", err)
	}
	return &Writer{
		cfg:     cfg,
		js:      js,
		log:     log.With(bus.LogKeyStage, "writer", "writer_id", cfg.WriterID),
		metrics: m,
		root:    root,
		mem:     memory.DefaultAllocator,
		started: make(chan struct{}),
		stopped: make(chan struct{}),
	}, nil
}

func signalNames(sigs []schema.Signal) []string {
	out := make([]string, len(sigs))
	for i, s := range sigs {
		out[i] = string(s)
	}
	return out
}

// Run recovers the writer's leftover files, then consumes and writes until
// ctx is done. On ctx done it stops pulling, flushes what it holds (bounded
// by ShutdownTimeout), finalizes its files and returns nil; it returns an
// error when recovery fails or the final flush cannot be written (the
// messages then stay in the stream). Run may be called once.
func (w *Writer) Run(ctx context.Context) error {
	if !w.ran.CompareAndSwap(false, true) {
		return errors.New("writer: Run called twice")
	}
	defer close(w.stopped)
	j, err := journal.Open(consume.JournalPath(w.root, w.cfg.WriterID))
	if err != nil {
		return fmt.Errorf("run writer: %w", err)
	}
	defer j.Close()
	next, err := consume.Recover(w.root, w.cfg.WriterID, signalNames(schema.Signals), j, w.log)
	if err != nil {
		return fmt.Errorf("run writer: %w", err)
	}

	conss, err := w.consumers(ctx)
	if err != nil {
		return fmt.Errorf("run writer: %w", err)
	}
	if conss == nil { // stopped while waiting for the streams
		return nil
	}
	for _, sig := range schema.Signals {
		// Signals not consumed now may have journaled sequences from an
		// earlier configuration: forget those the consumer has passed.
		cons, ok := conss[sig]
		if !ok {
			var err error
			if cons, err = w.js.Consumer(ctx, bus.StreamName(sig), w.cfg.Durable); err != nil {
				continue
			}
		}
		j.Forget(bus.StreamName(sig), cons.CachedInfo().AckFloor.Stream)
	}
	if err := j.Compact(); err != nil {
		return fmt.Errorf("run writer: %w", err)
	}

	lanes := make(map[schema.Signal]*consume.Lane, len(w.cfg.Signals))
	purger := bus.NewPurger(w.js, w.cfg.Signals, w.log)
	for _, sig := range w.cfg.Signals {
		lcfg := w.laneConfig(sig, next[string(sig)])
		lcfg.Acked = func() { purger.Acked(sig) }
		lanes[sig] = consume.New(lcfg, conss[sig], j, w.metrics, w.log)
	}
	w.mu.Lock()
	w.lanes = lanes
	w.mu.Unlock()
	close(w.started)
	w.log.Info("writer started", "output_dir", w.cfg.OutputDir, "signals", w.cfg.Signals)

	errs := make([]error, len(w.cfg.Signals))
	var wg sync.WaitGroup
	for i, sig := range w.cfg.Signals {
		wg.Go(func() { errs[i] = lanes[sig].Run(ctx) })
	}
	// The streams remove what every durable consumer acknowledged only
	// when purged (limits retention): the stages that consume purge.
	wg.Go(func() { purger.Run(ctx) })
	wg.Wait()
	err = errors.Join(errs...)
	w.log.Info("writer stopped", "err", err)
	return err
}

// consumers looks up the durable consumer of every stream, waiting for the
// streams to be declared. It returns nil, nil when ctx ends first.
func (w *Writer) consumers(ctx context.Context) (map[schema.Signal]jetstream.Consumer, error) {
	out := map[schema.Signal]jetstream.Consumer{}
	warned := false
	for _, sig := range w.cfg.Signals {
		for {
			cons, err := w.js.Consumer(ctx, bus.StreamName(sig), w.cfg.Durable)
			if err == nil {
				out[sig] = cons
				break
			}
			if ctx.Err() != nil {
				return nil, nil
			}
			if !errors.Is(err, jetstream.ErrStreamNotFound) && !errors.Is(err, jetstream.ErrConsumerNotFound) &&
				!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, jetstream.ErrJetStreamNotEnabled) {
				return nil, fmt.Errorf("look up consumer %s on %s: %w", w.cfg.Durable, bus.StreamName(sig), err)
			}
			if !warned {
				w.log.Warn("waiting for the stream and its consumer to be declared", "stream", bus.StreamName(sig), "err", err)
				warned = true
			}
			select {
			case <-ctx.Done():
				return nil, nil
			case <-time.After(time.Second):
			}
		}
	}
	return out, nil
}

func (w *Writer) laneConfig(sig schema.Signal, nextSeq int) consume.Config {
	var opts []ipc.Option
	switch w.cfg.Compression {
	case "zstd":
		opts = append(opts, ipc.WithZstd())
	case "lz4":
		opts = append(opts, ipc.WithLZ4())
	}
	var pq *parquet.WriterProperties
	if w.cfg.Format == "parquet" {
		codec := compress.Codecs.Zstd
		switch w.cfg.Compression {
		case "lz4":
			codec = compress.Codecs.Lz4Raw
		case "none":
			codec = compress.Codecs.Uncompressed
		}
		pq = segment.ParquetProperties(codec, consume.MergeRows, w.mem)
	}
	var passthroughRows int64
	if w.cfg.Passthrough {
		passthroughRows = int64(w.cfg.PassthroughRows)
	}
	return consume.Config{
		Signal:          string(sig),
		Stream:          bus.StreamName(sig),
		Root:            w.root,
		WriterID:        w.cfg.WriterID,
		NextSeq:         nextSeq,
		WriteInterval:   w.cfg.WriteInterval,
		MaxBatchRows:    w.cfg.MaxBatchRows,
		MaxBatchBytes:   w.cfg.MaxBatchBytes,
		FetchBytes:      w.cfg.FetchBytes,
		MaxFileBytes:    w.cfg.MaxFileBytes,
		MaxFileAge:      w.cfg.MaxFileAge,
		ShutdownTimeout: w.cfg.ShutdownTimeout,
		IPCOptions:      opts,
		Compression:     w.cfg.Compression,
		PassthroughRows: passthroughRows,
		Parquet:         pq,
		V2:              sig == schema.Traces && w.cfg.TracesSchema == "v2",
		HeaderSignal:    bus.HeaderSignal,
		HeaderSchema:    bus.HeaderSchema,
		Decode:          payload.Decode,
		Conn:            w.js.Conn(),
		Mem:             w.mem,
		Hooks:           w.hooks,
	}
}

// Flush writes, syncs, journals and acknowledges everything the writer has
// received so far, for every signal. It waits for Run to start. It returns
// ErrStopped once Run has returned (Run flushed everything then).
func (w *Writer) Flush(ctx context.Context) error {
	select {
	case <-w.started:
	case <-w.stopped:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	w.mu.Lock()
	lanes := w.lanes
	w.mu.Unlock()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for sig, l := range lanes {
		wg.Go(func() {
			if err := l.Flush(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("flush %s: %w", sig, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Ready returns nil when the writer is consuming, no write is failing and
// the output directory is writable.
func (w *Writer) Ready() error {
	select {
	case <-w.stopped:
		return ErrStopped
	default:
	}
	select {
	case <-w.started:
	default:
		return ErrNotStarted
	}
	w.mu.Lock()
	lanes := w.lanes
	w.mu.Unlock()
	for _, sig := range w.cfg.Signals {
		if err := lanes[sig].Err(); err != nil {
			return fmt.Errorf("writer %s: %w", sig, err)
		}
	}
	f, err := os.CreateTemp(filepath.Join(w.root, consume.JournalDir), ".ready-*")
	if err != nil {
		return fmt.Errorf("writer: output dir not writable: %w", err)
	}
	name := f.Name()
	err = errors.Join(f.Close(), os.Remove(name))
	if err != nil {
		return fmt.Errorf("writer: output dir not writable: %w", err)
	}
	return nil
}
