package consume

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/writer/internal/journal"
	"github.com/otlp-arrow/otlp-arrow/writer/internal/segment"
)

// timedFlush flushes and records the duration.
func (l *Lane) timedFlush(ctx context.Context) error {
	if len(l.items) == 0 && l.broken == nil {
		return nil
	}
	start := time.Now()
	err := l.flushItems(ctx)
	l.m.FlushDuration.WithLabelValues(l.cfg.Signal).Observe(time.Since(start).Seconds())
	return err
}

// flushItems writes every buffered item, commits and acknowledges them. On
// failure the items not committed are negatively acknowledged with a delay
// and the lane is broken until a later flush repairs its file.
func (l *Lane) flushItems(ctx context.Context) error {
	items := l.items
	l.items = nil
	clear(l.buffered)
	l.bufRows, l.bufBytes = 0, 0
	if l.broken != nil {
		if err := l.repair(); err != nil {
			return l.fail(err, items)
		}
	}
	if len(items) == 0 {
		return nil
	}
	if l.cfg.Now().Sub(items[0].received) > inProgressAfter {
		for _, it := range items {
			_ = it.msg.InProgress()
		}
	}
	var pending []*item
	for i, it := range items {
		if l.file != nil && (it.version != l.file.Version() || !it.schema.Equal(l.file.Schema())) {
			if err := l.commit(ctx, pending); err != nil {
				return l.fail(err, pending, items[i:])
			}
			pending = nil
			if err := l.finalize(); err != nil {
				return l.fail(err, items[i:])
			}
		}
		if l.file == nil {
			if err := l.open(it); err != nil {
				return l.fail(err, items[i:])
			}
		}
		for _, rec := range it.recs {
			if err := l.file.Write(rec); err != nil {
				return l.fail(err, pending, items[i:])
			}
		}
		it.release()
		pending = append(pending, it)
		if l.file.Size() >= l.cfg.MaxFileBytes {
			if err := l.commit(ctx, pending); err != nil {
				return l.fail(err, pending, items[i+1:])
			}
			pending = nil
			if err := l.finalize(); err != nil {
				return l.fail(err, items[i+1:])
			}
		}
	}
	if err := l.commit(ctx, pending); err != nil {
		return l.fail(err, pending)
	}
	return nil
}

// open starts a new file for it's schema.
func (l *Lane) open(it *item) error {
	name := segment.Name{Signal: l.cfg.Signal, Start: l.cfg.Now(), WriterID: l.cfg.WriterID, Seq: l.nextSeq}
	l.nextSeq++
	f, err := segment.Create(l.dir, name, it.version, it.schema, l.cfg.Mem, l.cfg.IPCOptions...)
	if err != nil {
		return err
	}
	l.file = f
	l.fileRel = l.cfg.Signal + "/" + name.String()
	l.committed = 0
	l.hasCommit = false
	return nil
}

// commit makes the rows of items durable (file sync, then journal record and
// journal sync) and acknowledges the messages.
func (l *Lane) commit(ctx context.Context, items []*item) error {
	if len(items) == 0 {
		return nil
	}
	off, err := l.file.Sync()
	if err != nil {
		return err
	}
	rec := journal.Record{File: l.fileRel, Offset: off, Stream: l.cfg.Stream, Seqs: make([]uint64, len(items))}
	var rows int64
	for i, it := range items {
		rec.Seqs[i] = it.seq
		rows += it.rows
	}
	if err := l.j.Commit(rec); err != nil {
		return err
	}
	l.m.RowsWritten.WithLabelValues(l.cfg.Signal).Add(float64(rows))
	l.m.BytesWritten.WithLabelValues(l.cfg.Signal).Add(float64(off - l.committed))
	l.committed = off
	l.hasCommit = true
	l.ack(ctx, items)
	return nil
}

// ack acknowledges durable messages and waits for the server. A failed
// acknowledgement is harmless: the message is journaled, so its redelivery
// is acknowledged without being written again.
func (l *Lane) ack(ctx context.Context, items []*item) {
	if l.cfg.Hooks != nil && l.cfg.Hooks.Crash {
		for _, it := range items {
			l.cfg.Hooks.Unacked(it.msg)
		}
		return
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ackTimeout)
		defer cancel()
	}
	var (
		wg     sync.WaitGroup
		sem    = make(chan struct{}, ackParallel)
		failed atomic.Int64
		last   atomic.Value
	)
	for _, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := it.msg.DoubleAck(ctx); err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
				failed.Add(1)
				last.Store(err)
			}
		})
	}
	wg.Wait()
	n := int64(len(items)) - failed.Load()
	l.m.MessagesAcked.WithLabelValues(l.cfg.Signal).Add(float64(n))
	if f := failed.Load(); f > 0 {
		l.log.Warn("acknowledge messages; they are journaled and will be acknowledged on redelivery",
			"failed", f, "err", last.Load())
	}
}

// fail handles a write failure: it abandons the file (repaired by the next
// flush), negatively acknowledges the messages not committed and marks the
// lane unhealthy.
func (l *Lane) fail(err error, lists ...[]*item) error {
	l.m.WriteErrors.WithLabelValues(l.cfg.Signal).Inc()
	if l.broken == nil {
		l.breakFile()
	}
	for _, items := range lists {
		for _, it := range items {
			it.release()
			_ = it.msg.NakWithDelay(nakDelay)
		}
	}
	if l.writeErr() == nil {
		l.log.Error("write failed; messages are returned to the stream and the write retried", "err", err)
	}
	l.setErr(err)
	return err
}

// breakFile abandons the open file, remembering what to repair.
func (l *Lane) breakFile() {
	b := &broken{}
	if l.file != nil {
		b.partial = filepath.Join(l.dir, l.file.Name().Partial())
		b.rel = l.fileRel
		b.offset = l.committed
		b.committed = l.hasCommit
		l.file.Abandon()
		l.file = nil
	}
	l.broken = b
}

// repair finishes a file abandoned after a failure: the journal is made to
// match memory first, then the file is cut back to its journaled offset and
// finalized (or removed when nothing of it was journaled).
func (l *Lane) repair() error {
	b := l.broken
	if err := l.j.Clean(); err != nil {
		return err
	}
	if b.partial != "" {
		if b.committed {
			final, err := segment.Repair(b.partial, b.offset)
			if errors.Is(err, fs.ErrNotExist) {
				if _, serr := os.Stat(final); serr == nil {
					err = nil // renamed before the failure
				}
			}
			if err != nil {
				return err
			}
			l.m.FilesRotated.WithLabelValues(l.cfg.Signal).Inc()
			l.log.Debug("file rotated after repair", "file", final)
		} else if err := os.Remove(b.partial); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove unjournaled segment: %w", err)
		}
		l.j.Closed(b.rel)
		l.compactDue = true
	}
	l.broken = nil
	l.log.Info("writing again after failure")
	l.setErr(nil)
	return nil
}

// finalize closes the open file: finished and renamed when part of it is
// journaled, removed otherwise.
func (l *Lane) finalize() error {
	f := l.file
	if f == nil {
		return nil
	}
	if !l.hasCommit {
		f.Abandon()
		l.file = nil
		if err := os.Remove(filepath.Join(l.dir, f.Name().Partial())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			l.log.Warn("remove empty segment", "err", err)
		}
		return nil
	}
	path, err := f.Finalize()
	if err != nil {
		l.m.WriteErrors.WithLabelValues(l.cfg.Signal).Inc()
		l.breakFile()
		l.setErr(err)
		return err
	}
	l.file = nil
	l.j.Closed(l.fileRel)
	l.compactDue = true
	l.m.FilesRotated.WithLabelValues(l.cfg.Signal).Inc()
	l.log.Debug("file rotated", "file", path, "rows", f.Rows(), "bytes", f.Size())
	return nil
}

// rotateByAge finalizes the open file once it is MaxFileAge old. Between
// flushes everything in it is committed.
func (l *Lane) rotateByAge() {
	if l.file == nil || l.cfg.Now().Sub(l.file.Name().Start) < l.cfg.MaxFileAge {
		return
	}
	if err := l.finalize(); err != nil {
		l.log.Error("finalize file", "err", err)
	}
}

// housekeep forgets journaled sequences below the consumer's ack floor and
// compacts the journal after a rotation or when it grew large.
func (l *Lane) housekeep(ctx context.Context) {
	if !l.compactDue && l.j.Size() < compactBytes {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	if info, err := l.cons.Info(ctx); err == nil {
		l.j.Forget(l.cfg.Stream, info.AckFloor.Stream)
	}
	if err := l.j.Compact(); err != nil {
		l.log.Warn("compact journal", "err", err)
		return
	}
	l.compactDue = false
}
