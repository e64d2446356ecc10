package consume

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/otlp-arrow/otlp-arrow/writer/internal/journal"
	"github.com/otlp-arrow/otlp-arrow/writer/internal/merge"
	"github.com/otlp-arrow/otlp-arrow/writer/internal/segment"
)

// timedFlush flushes and records the duration.
func (l *Lane) timedFlush() error {
	if len(l.items) == 0 && l.broken == nil {
		return nil
	}
	start := time.Now()
	err := l.flushItems()
	l.m.FlushDuration.WithLabelValues(l.cfg.Signal).Observe(time.Since(start).Seconds())
	return err
}

// flushItems writes every buffered item, commits and acknowledges them. On
// failure the items not committed are negatively acknowledged with a delay
// and the lane is broken until a later flush repairs its file.
func (l *Lane) flushItems() error {
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
	// The batches of the pending items are written together, merged into
	// few large batches (see writeMerged), right before each commit.
	var pending []*item
	var pendingBytes int64
	writeCommit := func() error {
		if err := l.writeMerged(pending); err != nil {
			return err
		}
		if err := l.commit(pending); err != nil {
			return err
		}
		if l.cfg.Parquet == nil {
			return nil
		}
		if l.cfg.Hooks != nil && l.cfg.Hooks.Crash {
			// Die between the journal commit and the rename.
			l.file.Abandon()
			l.file = nil
			return nil
		}
		// A Parquet file is sealed by its sync: finalize it now. Its rows
		// are journaled and acknowledged, so a failure here must not
		// return them to the stream (the next flush repairs the file).
		pending = nil
		return l.finalize()
	}
	for i, it := range items {
		if l.file != nil && (it.version != l.file.Version() || !l.layout.schema(it.schema).Equal(l.file.Schema())) {
			if err := writeCommit(); err != nil {
				return l.fail(err, pending, items[i:])
			}
			pending, pendingBytes = nil, 0
			if err := l.finalize(); err != nil {
				return l.fail(err, items[i:])
			}
		}
		if l.file == nil {
			if err := l.open(it); err != nil {
				return l.fail(err, items[i:])
			}
		}
		pending = append(pending, it)
		pendingBytes += it.bytes
		if l.file.Size()+pendingBytes >= l.cfg.MaxFileBytes {
			if err := writeCommit(); err != nil {
				return l.fail(err, pending, items[i+1:])
			}
			pending, pendingBytes = nil, 0
			if err := l.finalize(); err != nil {
				return l.fail(err, items[i+1:])
			}
		}
	}
	if err := writeCommit(); err != nil {
		return l.fail(err, pending)
	}
	return nil
}

// MergeRows bounds the rows of one merged batch in a file (a Parquet row
// group).
const MergeRows = 128 << 10

// writeMerged writes the batches of items to the open file and releases
// them. Consecutive decoded batches are concatenated into batches of up to
// MergeRows rows: a bus message holds one request's rows (often a hundred),
// and writing each as its own batch would repeat every dictionary and IPC
// header per message and leave zstd small buffers to compress. The batches
// of an item with a layout are appended as they are (see Lane.appendable).
// Row order is kept.
func (l *Lane) writeMerged(items []*item) error {
	defer func() {
		for _, it := range items {
			it.release()
		}
	}()
	var recs []arrow.RecordBatch
	for _, it := range items {
		if it.layout == nil {
			recs = append(recs, it.recs...)
			continue
		}
		if !bytes.Equal(it.layout.Schema, l.file.Header()) {
			// The same schema, encoded otherwise (another producer):
			// its dictionaries may be numbered otherwise too.
			_, decoded, err := l.cfg.Decode(it.msg.Data(), l.cfg.Mem)
			if err != nil {
				return fmt.Errorf("decode payload again: %w", err)
			}
			it.recs, it.layout = decoded, nil
			recs = append(recs, decoded...)
			continue
		}
		if err := l.writeRuns(recs); err != nil {
			return err
		}
		recs = recs[:0]
		if err := l.file.Append(it.layout.Batches, it.rows); err != nil {
			return err
		}
		l.m.RowsAppended.WithLabelValues(l.cfg.Signal).Add(float64(it.rows))
	}
	return l.writeRuns(recs)
}

// writeRuns writes recs concatenated into batches of up to MergeRows rows.
func (l *Lane) writeRuns(recs []arrow.RecordBatch) error {
	for start := 0; start < len(recs); {
		end, rows := start+1, recs[start].NumRows()
		for end < len(recs) && rows+recs[end].NumRows() <= MergeRows {
			rows += recs[end].NumRows()
			end++
		}
		if err := l.writeConcat(recs[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// writeConcat writes recs (sharing the file's schema) as one batch.
func (l *Lane) writeConcat(recs []arrow.RecordBatch) error {
	if len(recs) == 1 {
		return l.writeLayout(recs[0])
	}
	rec, err := merge.Records(recs, l.cfg.Mem)
	if err != nil {
		return fmt.Errorf("merge batches: %w", err)
	}
	defer rec.Release()
	return l.writeLayout(rec)
}

// open starts a new file for it's schema.
func (l *Lane) open(it *item) error {
	name := segment.Name{Signal: l.cfg.Signal, Start: l.cfg.Now(), WriterID: l.cfg.WriterID, Seq: l.nextSeq}
	l.nextSeq++
	var f *segment.File
	var err error
	if l.cfg.Parquet != nil {
		name.Format = segment.Parquet
		f, err = segment.CreateParquet(l.dir, name, it.version, it.schema, l.cfg.Parquet, l.cfg.Mem)
	} else {
		f, err = segment.Create(l.dir, name, it.version, l.layout.schema(it.schema), l.cfg.Mem, l.cfg.IPCOptions...)
	}
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
// journal sync) and queues the messages' acknowledgements.
func (l *Lane) commit(items []*item) error {
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
	l.ack(items)
	return nil
}

// ack hands durable messages to the lane's acker, which acknowledges them
// in the background (see acker). A failed acknowledgement is harmless: the
// message is journaled, so its redelivery is acknowledged without being
// written again.
func (l *Lane) ack(items []*item) {
	if l.cfg.Hooks != nil && l.cfg.Hooks.Crash {
		for _, it := range items {
			l.cfg.Hooks.Unacked(it.msg)
		}
		return
	}
	replies := make([]string, len(items))
	for i, it := range items {
		replies[i] = it.msg.Reply()
	}
	l.acks.add(replies)
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
