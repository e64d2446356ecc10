package consume

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
	"github.com/otlp-arrow/otlp-arrow/writer/internal/journal"
	"github.com/otlp-arrow/otlp-arrow/writer/internal/segment"
)

// Tuning that is not worth a configuration key.
const (
	fetchBatch        = 1000             // messages per pull request, at most
	defaultFetchBytes = 32 << 20         // Config.FetchBytes default
	fetchWait         = time.Second      // pull request expiry; bounds the stop latency
	nakDelay          = 5 * time.Second  // redelivery delay after a write failure
	inProgressAfter   = 15 * time.Second // buffered this long: extend AckWait before flushing
	ackTimeout        = 10 * time.Second // per group of acknowledgements sent, and per consumer info request
	ackParallel       = 16               // acknowledgements in flight, at most (see acker)
	compactBytes      = 1 << 20          // compact the journal beyond this size
	peerCacheTTL      = 250 * time.Millisecond
)

// ErrStopped is returned by Lane.Flush once the lane has stopped.
var ErrStopped = errors.New("writer: lane stopped")

// Consumer is the part of a JetStream consumer a lane uses.
type Consumer interface {
	Fetch(batch int, opts ...jetstream.FetchOpt) (jetstream.MessageBatch, error)
	Info(ctx context.Context) (*jetstream.ConsumerInfo, error)
}

var _ Consumer = (jetstream.Consumer)(nil)

// Decoder decodes one bus payload.
type Decoder func(b []byte, mem memory.Allocator) (*arrow.Schema, []arrow.RecordBatch, error)

// Config configures one lane. Every field is required unless noted.
type Config struct {
	Signal        string // directory and header value, e.g. "traces"
	Stream        string // JetStream stream, e.g. OTLP_TRACES
	Root          string // <output dir>/otlp; journal paths are relative to it
	WriterID      string
	NextSeq       int // sequence number of the next file
	WriteInterval time.Duration
	MaxBatchRows  int
	MaxBatchBytes int64
	// FetchBytes bounds the bytes of one pull request, and so what the lane
	// holds fetched but not yet buffered; 0: 32 MiB. A message above it is
	// pulled alone.
	FetchBytes      int
	MaxFileBytes    int64
	MaxFileAge      time.Duration
	ShutdownTimeout time.Duration
	IPCOptions      []ipc.Option // compression
	// Compression names the compression IPCOptions give the files' buffers
	// (payload.CompressionNone, CompressionLZ4 or CompressionZstd).
	Compression string
	// PassthroughRows, when above 0, makes the lane append the batches of a
	// payload to its Arrow file as they are, without decoding and encoding
	// them again, when every record batch of the payload has at least this
	// many rows and its buffers are compressed as Compression says (see
	// appendable). 0 writes every payload through decode and merge.
	PassthroughRows int64
	// Parquet, when not nil, makes the lane write Parquet files with these
	// properties instead of Arrow IPC streams: one file per commit, since
	// a Parquet file is readable only once its footer is written.
	Parquet *parquet.WriterProperties
	// V2 makes the lane write its Arrow files in the signal's v2 layout
	// (schema.ToV2, docs/schema.md), converting each merged batch; the
	// batches are never appended as they are then (no pass-through). No
	// effect on Parquet files.
	V2           bool
	HeaderSignal string // header naming the signal; a different value is terminated
	HeaderSchema string // header naming the schema version; a change starts a new file
	Decode       Decoder
	// Conn carries the acknowledgements (see acker); it is the consumer's
	// connection.
	Conn *nats.Conn
	// Acked, when not nil, is called after acknowledgements were sent: the
	// stream removes acknowledged messages only when purged (bus.Purger).
	Acked func()
	Mem   memory.Allocator
	Now   func() time.Time // optional; default time.Now
	Hooks *Hooks           // optional; tests only
}

// Hooks alter a lane for tests that simulate a crash.
type Hooks struct {
	// Crash makes the lane hand every message it would acknowledge to
	// Unacked instead, and on stop leave its file open and unfinished, as a
	// process killed at that moment would.
	Crash   bool
	Unacked func(jetstream.Msg)
}

// item is one buffered message.
type item struct {
	msg      jetstream.Msg
	seq      uint64
	schema   *arrow.Schema
	version  string
	recs     []arrow.RecordBatch
	layout   *payload.Layout // set when the payload's batches are appended as they are; recs is then nil
	rows     int64
	bytes    int64 // memory held: the larger of payload and decoded buffers
	received time.Time
}

func (it *item) release() {
	for _, r := range it.recs {
		r.Release()
	}
	it.recs = nil
}

// broken remembers a file abandoned after a write failure, to be repaired
// before anything else is written.
type broken struct {
	partial   string // path of the .partial file; "" when no file was open
	rel       string // journal name of the file
	offset    int64  // last journaled offset
	committed bool   // whether any part of the file was journaled
}

type flushReq struct {
	ctx  context.Context
	done chan error
}

// Lane consumes one signal. Run owns all its state; Flush and Err may be
// called from other goroutines.
type Lane struct {
	cfg   Config
	cons  Consumer
	j     *journal.Journal
	m     *Metrics
	log   *slog.Logger
	dir   string
	flush chan flushReq
	done  chan struct{}

	acks    *acker
	paused  atomic.Bool // set while broken: stop pulling until repaired
	errMu   sync.Mutex
	err     error // write failure
	pullErr error // pull failure

	// owned by Run
	items      []*item
	buffered   map[uint64]struct{}
	bufRows    int64
	bufBytes   int64
	file       *segment.File
	fileRel    string
	committed  int64
	hasCommit  bool
	broken     *broken
	nextSeq    int
	compactDue bool
	peers      map[uint64]struct{}
	peersAt    time.Time
	layout     fileLayout
}

// New returns a lane; it does nothing until Run.
func New(cfg Config, cons Consumer, j *journal.Journal, m *Metrics, log *slog.Logger) *Lane {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NextSeq < 1 {
		cfg.NextSeq = 1
	}
	l := &Lane{
		cfg:      cfg,
		cons:     cons,
		j:        j,
		m:        m,
		log:      log.With("signal", cfg.Signal),
		dir:      filepath.Join(cfg.Root, cfg.Signal),
		flush:    make(chan flushReq),
		done:     make(chan struct{}),
		buffered: map[uint64]struct{}{},
		nextSeq:  cfg.NextSeq,
	}
	if cfg.V2 && cfg.Parquet == nil {
		l.layout.sig = schema.Signal(cfg.Signal)
	}
	l.acks = newAcker(l)
	return l
}

// Err returns the lane's current write error, or else its current pull
// error; nil when it is healthy.
func (l *Lane) Err() error {
	l.errMu.Lock()
	defer l.errMu.Unlock()
	if l.err != nil {
		return l.err
	}
	if l.pullErr != nil {
		return fmt.Errorf("pull messages: %w", l.pullErr)
	}
	return nil
}

func (l *Lane) writeErr() error {
	l.errMu.Lock()
	defer l.errMu.Unlock()
	return l.err
}

func (l *Lane) setPullErr(err error) {
	l.errMu.Lock()
	defer l.errMu.Unlock()
	l.pullErr = err
}

func (l *Lane) setErr(err error) {
	l.errMu.Lock()
	l.err = err
	l.errMu.Unlock()
	l.paused.Store(err != nil)
}

// Flush writes, syncs, journals and acknowledges every message the lane has
// received so far. It returns ErrStopped once Run has returned.
func (l *Lane) Flush(ctx context.Context) error {
	req := flushReq{ctx: ctx, done: make(chan error, 1)}
	select {
	case l.flush <- req:
	case <-l.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run pulls and writes until ctx is done, then stops pulling, flushes what
// it holds, finalizes its file and returns. The error is that of the final
// flush or finalization.
func (l *Lane) Run(ctx context.Context) error {
	defer close(l.done)
	in := make(chan jetstream.Msg)
	go func() {
		defer close(in)
		l.fetch(ctx, in)
	}()
	tick := time.NewTicker(l.cfg.WriteInterval)
	defer tick.Stop()
	bg := context.WithoutCancel(ctx)
	actx, stopAcks := context.WithCancel(bg)
	defer stopAcks()
	go l.acks.run(actx)
	for in != nil {
		select {
		case msg, ok := <-in:
			if !ok {
				in = nil
				continue
			}
			l.receive(msg)
			if l.bufRows >= int64(l.cfg.MaxBatchRows) || l.bufBytes >= l.cfg.MaxBatchBytes {
				_ = l.timedFlush()
			}
		case <-tick.C:
			_ = l.timedFlush()
			l.rotateByAge()
			l.housekeep(bg)
		case req := <-l.flush:
			err := l.timedFlush()
			sent := l.acks.barrier()
			go func() {
				select {
				case <-sent:
					req.done <- err
				case <-req.ctx.Done():
					req.done <- errors.Join(err, req.ctx.Err())
				}
			}()
		}
	}
	if l.cfg.Hooks != nil && l.cfg.Hooks.Crash {
		l.crash()
		stopAcks()
		<-l.acks.exited
		return nil
	}
	sctx, cancel := context.WithTimeout(bg, l.cfg.ShutdownTimeout)
	defer cancel()
	err := l.timedFlush()
	if ferr := l.finalize(); ferr != nil {
		err = errors.Join(err, ferr)
	}
	// The last acknowledgements go out before the lane stops; what the
	// timeout cuts off is journaled and settled on redelivery.
	l.acks.close()
	select {
	case <-l.acks.exited:
	case <-sctx.Done():
		stopAcks()
		<-l.acks.exited
	}
	if l.broken != nil && err == nil {
		err = l.writeErr()
	}
	return err
}

// crash drops everything as a killed process would.
func (l *Lane) crash() {
	for _, it := range l.items {
		it.release()
	}
	l.items = nil
	if l.file != nil {
		l.file.Abandon()
		l.file = nil
	}
}

// fetch pulls messages into in until ctx is done. It finishes the pull
// request under way, so every message it receives reaches the lane.
func (l *Lane) fetch(ctx context.Context, in chan<- jetstream.Msg) {
	failing := false
	fail := func(err error) {
		if ctx.Err() != nil {
			return
		}
		if !failing {
			l.log.Warn("pull messages", "stream", l.cfg.Stream, "err", err)
		}
		failing = true
		l.setPullErr(err)
		sleep(ctx, time.Second)
	}
	oversize := false // the next message is larger than fetchBytes
	for ctx.Err() == nil {
		if l.paused.Load() {
			sleep(ctx, l.cfg.WriteInterval)
			continue
		}
		// Pull by bytes as well as by count, so a lane never holds more
		// than FetchBytes of fetched payloads whatever the message size; a
		// message above that (an external bus with a larger max_payload)
		// is pulled alone.
		var batch jetstream.MessageBatch
		var err error
		start := time.Now()
		if oversize {
			batch, err = l.cons.Fetch(1, jetstream.FetchMaxWait(fetchWait))
		} else {
			batch, err = l.cons.Fetch(fetchBatch, jetstream.FetchMaxWait(fetchWait), jetstream.FetchMaxBytes(l.fetchBytes()))
		}
		if err != nil {
			fail(err)
			continue
		}
		n := 0
		for msg := range batch.Messages() {
			in <- msg
			n++
		}
		err = batch.Error()
		// A message that does not fit ends the pull at once with no
		// message (nats.go keeps the server's 409 to itself: the pull
		// just ends; ErrMaxBytesExceeded is checked too in case a
		// version reports it), while an idle stream holds the pull for
		// fetchWait. Then the next message is pulled alone.
		if !oversize && n == 0 && (errors.Is(err, jetstream.ErrMaxBytesExceeded) ||
			err == nil && time.Since(start) < fetchWait/2) {
			oversize = true
			continue
		}
		oversize = false
		if errors.Is(err, jetstream.ErrMaxBytesExceeded) {
			continue // the batch ended at a message that did not fit
		}
		if err != nil {
			fail(err)
			continue
		}
		if failing {
			l.log.Info("pulling messages again", "stream", l.cfg.Stream)
			l.setPullErr(nil)
			failing = false
		}
	}
}

func (l *Lane) fetchBytes() int {
	if l.cfg.FetchBytes > 0 {
		return l.cfg.FetchBytes
	}
	return defaultFetchBytes
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// receive buffers one message, or settles it at once when it is already
// durable or can never be written.
func (l *Lane) receive(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		l.term(msg, "no jetstream metadata")
		return
	}
	seq := meta.Sequence.Stream
	if _, ok := l.buffered[seq]; ok {
		// Redelivered while buffered: acknowledging the buffered delivery
		// settles the sequence.
		return
	}
	// Only a redelivery can be a message written before: the first delivery
	// of a sequence is always written, even if a journal holds it (a stream
	// deleted and created again reuses sequences; a duplicate is then
	// better than a loss).
	if meta.NumDelivered > 1 && (l.j.Has(l.cfg.Stream, seq) || l.peerHas(seq)) {
		// Written before a crash (by this writer or a replica) but not
		// acknowledged: acknowledge without writing it again.
		l.ack([]*item{{msg: msg}})
		return
	}
	hdr := msg.Headers()
	if sig := hdr.Get(l.cfg.HeaderSignal); sig != "" && sig != l.cfg.Signal {
		l.term(msg, fmt.Sprintf("%s header is %q on the %s stream", l.cfg.HeaderSignal, sig, l.cfg.Stream))
		return
	}
	sch, recs, err := l.cfg.Decode(msg.Data(), l.cfg.Mem)
	if err != nil {
		l.term(msg, fmt.Sprintf("decode payload: %v", err))
		return
	}
	it := &item{
		msg:      msg,
		seq:      seq,
		schema:   sch,
		version:  hdr.Get(l.cfg.HeaderSchema),
		recs:     recs,
		bytes:    max(int64(len(msg.Data())), payload.Size(recs)),
		received: l.cfg.Now(),
	}
	for _, r := range recs {
		it.rows += r.NumRows()
	}
	if it.rows > 0 && l.appendable(it, msg.Data()) {
		it.release()
		it.bytes = int64(len(msg.Data()))
	}
	if it.rows == 0 {
		it.release()
		l.ack([]*item{it})
		return
	}
	l.items = append(l.items, it)
	l.buffered[seq] = struct{}{}
	l.bufRows += it.rows
	l.bufBytes += it.bytes
}

// appendable reports whether the batches of it's payload b, decoded and so
// validated, are to be appended to the file as they are, and sets it.layout
// then. That takes pass-through on, an Arrow file, record batches of at
// least PassthroughRows rows (smaller ones make poor files: every batch
// repeats its metadata and dictionaries, and zstd compresses small buffers
// poorly; those are merged) compressed like the file's, and a payload whose
// messages can be appended (payload.ReadLayout).
func (l *Lane) appendable(it *item, b []byte) bool {
	if l.cfg.PassthroughRows <= 0 || l.cfg.Parquet != nil || l.layout.sig != "" {
		return false
	}
	lay, err := payload.ReadLayout(b, it.schema)
	if err != nil || lay.MinBatchRows < l.cfg.PassthroughRows || lay.Compression != l.cfg.Compression || lay.Rows != it.rows {
		return false
	}
	it.layout = &lay
	return true
}

// term terminates a message that can never be written.
func (l *Lane) term(msg jetstream.Msg, reason string) {
	l.log.Warn("terminate message", "subject", msg.Subject(), "reason", reason)
	l.m.MessagesTerminated.WithLabelValues(l.cfg.Signal).Inc()
	if err := msg.TermWithReason(reason); err != nil {
		l.log.Warn("terminate message", "subject", msg.Subject(), "err", err)
	}
}

// peerHas reports whether another writer's journal holds seq: that writer
// wrote the message before it crashed or stalled.
func (l *Lane) peerHas(seq uint64) bool {
	if l.peers == nil || l.cfg.Now().Sub(l.peersAt) > peerCacheTTL {
		l.peers = map[uint64]struct{}{}
		l.peersAt = l.cfg.Now()
		own := JournalPath(l.cfg.Root, l.cfg.WriterID)
		paths, _ := filepath.Glob(filepath.Join(l.cfg.Root, JournalDir, "*"+journalExt))
		for _, p := range paths {
			if p == own {
				continue
			}
			st, err := journal.Read(p)
			if err != nil {
				l.log.Warn("read peer journal", "file", p, "err", err)
				continue
			}
			for q := range st.Seqs[l.cfg.Stream] {
				l.peers[q] = struct{}{}
			}
		}
	}
	_, ok := l.peers[seq]
	return ok
}
