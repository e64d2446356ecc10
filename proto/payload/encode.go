package payload

import (
	"bytes"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// Encode writes recs, which must all share one schema, as Arrow IPC stream
// payloads of at most maxBytes bytes each (maxBytes <= 0: no limit, one
// payload). Row order is kept: the payloads read in order give back the rows
// of recs in order.
//
// Consecutive small batches share a payload; a batch too large for one is
// split by halving its rows (zero-copy slices) until the halves fit. A single
// row that does not fit returns an error wrapping [ErrTooLarge]. Batches
// without rows are skipped, so no batches (or only empty ones) give no
// payloads. Dictionaries are written whole into every payload that uses
// them, so a large dictionary counts against every part.
//
// Encode does not retain or release recs; the caller still owns them.
func Encode(recs []arrow.RecordBatch, maxBytes int, opts ...Option) ([][]byte, error) {
	payloads, _, err := EncodeRows(recs, maxBytes, opts...)
	return payloads, err
}

// EncodeRows is Encode that also returns the number of rows of each payload
// (rows[i] belongs to payloads[i]), so that callers need not read split
// payloads back to count them.
func EncodeRows(recs []arrow.RecordBatch, maxBytes int, opts ...Option) (payloads [][]byte, rows []int, err error) {
	if len(recs) == 0 {
		return nil, nil, nil
	}
	schema := recs[0].Schema()
	for i, rec := range recs[1:] {
		if !rec.Schema().Equal(schema) {
			return nil, nil, fmt.Errorf("encode payload: batch %d schema differs from batch 0", i+1)
		}
	}
	e := &encoder{opts: newOptions(opts), schema: schema, max: maxBytes}

	nonEmpty := make([]arrow.RecordBatch, 0, len(recs))
	total := 0
	for _, rec := range recs {
		if rec.NumRows() > 0 {
			nonEmpty = append(nonEmpty, rec)
			total += int(rec.NumRows())
		}
	}
	if len(nonEmpty) == 0 {
		return nil, nil, nil
	}

	// The common case first: everything fits in one payload.
	all, err := e.encode(nonEmpty)
	if err != nil {
		return nil, nil, err
	}
	if maxBytes <= 0 || len(all) <= maxBytes {
		return [][]byte{all}, []int{total}, nil
	}

	if e.overhead, err = e.emptySize(); err != nil {
		return nil, nil, err
	}
	defer e.releaseGroup()
	for _, rec := range nonEmpty {
		if err := e.add(rec); err != nil {
			return nil, nil, err
		}
	}
	if err := e.flush(); err != nil {
		return nil, nil, err
	}
	return e.out, e.outRows, nil
}

// encoder groups batches into payloads. It is used by one Encode call only.
type encoder struct {
	opts     options
	schema   *arrow.Schema
	max      int
	overhead int // schema message + end-of-stream marker

	out       [][]byte
	outRows   []int               // rows of each payload in out
	group     []arrow.RecordBatch // retained
	groupCost int                 // upper bound of the group's payload size
	singles   [][]byte            // standalone payloads of the group, for the fallback
}

// encode writes recs as one IPC stream.
func (e *encoder) encode(recs []arrow.RecordBatch) ([]byte, error) {
	// Sizing the buffer up front saves growing it by doubling, which copied
	// and cleared every payload about twice (a tenth of the Flight path's
	// CPU). The estimate is the batches' buffers plus the metadata the last
	// payload of this schema needed, so most payloads fit exactly.
	// Compressed payloads are smaller than their buffers: no estimate.
	var buf bytes.Buffer
	body := 0
	if e.opts.codec == codecNone {
		body = int(Size(recs))
		buf.Grow(body + metaSizes.get(e.schema, len(recs)))
	}
	if err := writeStream(&buf, e.schema, recs, e.opts); err != nil {
		return nil, err
	}
	if e.opts.codec == codecNone {
		metaSizes.put(e.schema, len(recs), buf.Len()-body)
	}
	return buf.Bytes(), nil
}

// emptySize is the size of a stream without batches: what every payload
// pays once whatever its batches.
func (e *encoder) emptySize() (int, error) {
	b, err := e.encode(nil)
	if err != nil {
		return 0, err
	}
	return len(b), nil
}

// add appends rec to the current group, flushing the group first when rec
// does not fit beside it, and splitting rec when it does not fit alone.
func (e *encoder) add(rec arrow.RecordBatch) error {
	b, err := e.encode([]arrow.RecordBatch{rec})
	if err != nil {
		return err
	}
	if len(b) > e.max {
		n := rec.NumRows()
		if n <= 1 {
			return fmt.Errorf("encode payload: one row takes %d bytes, limit %d: %w", len(b), e.max, ErrTooLarge)
		}
		half := n / 2
		for _, part := range [][2]int64{{0, half}, {half, n}} {
			slice := rec.NewSlice(part[0], part[1])
			err := e.add(slice)
			slice.Release()
			if err != nil {
				return err
			}
		}
		return nil
	}
	// A batch adds at most its standalone size minus the once-per-stream
	// parts (its dictionaries are skipped when the previous batch wrote the
	// same ones).
	cost := len(b) - e.overhead
	if len(e.group) > 0 && e.groupCost+cost > e.max {
		if err := e.flush(); err != nil {
			return err
		}
	}
	if len(e.group) == 0 {
		e.groupCost = e.overhead
	}
	rec.Retain()
	e.group = append(e.group, rec)
	e.singles = append(e.singles, b)
	e.groupCost += cost
	return nil
}

// flush turns the current group into a payload.
func (e *encoder) flush() error {
	defer e.releaseGroup()
	switch len(e.group) {
	case 0:
		return nil
	case 1:
		e.out = append(e.out, e.singles[0])
		e.outRows = append(e.outRows, int(e.group[0].NumRows()))
		return nil
	}
	b, err := e.encode(e.group)
	if err != nil {
		return err
	}
	if len(b) <= e.max {
		rows := 0
		for _, rec := range e.group {
			rows += int(rec.NumRows())
		}
		e.out = append(e.out, b)
		e.outRows = append(e.outRows, rows)
		return nil
	}
	// The bound above should hold; if a writer ever lays out a group larger
	// than its parts, fall back to one payload per batch, each known to fit.
	e.out = append(e.out, e.singles...)
	for _, rec := range e.group {
		e.outRows = append(e.outRows, int(rec.NumRows()))
	}
	return nil
}

func (e *encoder) releaseGroup() {
	for _, rec := range e.group {
		rec.Release()
	}
	e.group = e.group[:0]
	e.singles = e.singles[:0]
	e.groupCost = 0
}
