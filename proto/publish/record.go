package publish

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// PublishRecord publishes a batch that already has sig's full schema,
// without any conversion: rows are split by their service_name column into
// otlp.<signal>.<service> messages. It returns the rows published; on error
// nothing may be assumed published (a retry is deduplicated by the bus
// unless the rows were coalesced with other requests'; see
// [CoalesceConfig]). Coalescing, the per-service slices of rec are
// retained until flushed, and rec's slices of concurrent calls share
// messages (one IPC stream of several batches).
func (p *Publisher) PublishRecord(ctx context.Context, sig schema.Signal, rec arrow.RecordBatch, source string) (int64, error) {
	rows := rec.NumRows()
	label := string(sig)
	p.m.rowsReceived.WithLabelValues(source, label).Add(float64(rows))
	if rows == 0 {
		return 0, nil
	}
	groups, err := serviceRuns(rec)
	if err != nil {
		p.m.rowsRejected.WithLabelValues(source, label, reasonInvalid).Add(float64(rows))
		return 0, err
	}
	gs := make([]*group[arrow.RecordBatch], len(groups))
	for i, g := range groups {
		slices := make([]arrow.RecordBatch, len(g.runs))
		for j, r := range g.runs {
			if r[0] == 0 && r[1] == rows {
				// One service: the batch as it is, without building
				// sliced copies of its ~200 arrays.
				rec.Retain()
				slices[j] = rec
				continue
			}
			slices[j] = rec.NewSlice(r[0], r[1])
		}
		gs[i] = &group[arrow.RecordBatch]{service: g.service, items: slices, rows: g.rows}
	}
	res := p.bounded(ctx, func(ctx context.Context) result {
		if p.recordQ != nil {
			return publishQueued(ctx, p, sig, p.recordQ, gs, source) // the queue owns the slices
		}
		msgs, res := encodeRecord(p, sig, gs, source)
		releaseGroups(gs)
		if res.err == nil {
			res = p.publishResult(ctx, sig, msgs)
		}
		return res
	})
	if res.err != nil {
		p.m.rowsRejected.WithLabelValues(source, label, res.reason).Add(float64(rows))
		return 0, res.err
	}
	return rows, nil
}

// encodeRecord encodes the slices of each group into bus messages, in
// group order. Any error fails the whole record.
func encodeRecord(p *Publisher, sig schema.Signal, groups []*group[arrow.RecordBatch], source string) ([]bus.Message, result) {
	var msgs []bus.Message
	for _, g := range groups {
		payloads, counts, err := p.encode(g.items)
		if err != nil {
			return nil, encodeFailure(sig, err)
		}
		msgs = appendMessages(msgs, sig, g.service, source, payloads, counts)
	}
	return msgs, result{}
}

// encodeFailure is the answer to a record that could not be encoded.
func encodeFailure(sig schema.Signal, err error) result {
	reason := reasonError
	if errors.Is(err, payload.ErrTooLarge) {
		reason = reasonTooLarge
	}
	return result{err: fmt.Errorf("encode %s: %w", sig, err), reason: reason}
}

func releaseGroups(groups []*group[arrow.RecordBatch]) {
	for _, g := range groups {
		releaseAll(g.items)
		g.items = nil
	}
}

// serviceGroup is the row runs [start, end) of one service, in row order.
type serviceGroup struct {
	service string
	runs    [][2]int64
	rows    int64
}

// serviceRuns groups rec's rows by the service_name column into runs of
// consecutive rows. A batch without the column is one group, "".
func serviceRuns(rec arrow.RecordBatch) ([]*serviceGroup, error) {
	n := rec.NumRows()
	idx := rec.Schema().FieldIndices("service_name")
	if len(idx) == 0 {
		return []*serviceGroup{{runs: [][2]int64{{0, n}}, rows: n}}, nil
	}
	col := rec.Column(idx[0])
	value := func(i int) string { return "" }
	switch c := col.(type) {
	case *array.Dictionary:
		d, ok := c.Dictionary().(*array.String)
		if !ok {
			return nil, fmt.Errorf("%w: service_name is %s, want utf8", schema.ErrInvalid, col.DataType())
		}
		value = func(i int) string {
			if c.IsNull(i) {
				return ""
			}
			return d.Value(c.GetValueIndex(i))
		}
	case *array.String:
		value = func(i int) string { return c.Value(i) }
	default:
		return nil, fmt.Errorf("%w: service_name is %s, want utf8", schema.ErrInvalid, col.DataType())
	}
	var groups []*serviceGroup
	index := map[string]*serviceGroup{}
	start := int64(0)
	cur := value(0)
	flush := func(end int64) {
		g, ok := index[cur]
		if !ok {
			g = &serviceGroup{service: cur}
			index[cur] = g
			groups = append(groups, g)
		}
		g.runs = append(g.runs, [2]int64{start, end})
		g.rows += end - start
	}
	for i := int64(1); i < n; i++ {
		if v := value(int(i)); v != cur {
			flush(i)
			start, cur = i, v
		}
	}
	flush(n)
	return groups, nil
}
