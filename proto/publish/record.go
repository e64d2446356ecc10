package publish

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

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
	var groups []*serviceGroup
	var err error
	if p.mixed {
		// The batch as it is: its messages list its services.
		_, err = schema.ServiceColumn(rec)
		groups = []*serviceGroup{{runs: [][2]int64{{0, rows}}, rows: rows}}
	} else {
		groups, err = serviceRuns(rec)
	}
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
		var err error
		if msgs, err = p.messages(msgs, sig, source, g.items); err != nil {
			return nil, encodeFailure(sig, err)
		}
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

// recordServices returns the services of recs' rows, each once, in the
// order they first appear.
func recordServices(recs []arrow.RecordBatch) ([]string, error) {
	var l serviceList
	for _, rec := range recs {
		value, err := schema.ServiceColumn(rec)
		if err != nil {
			return nil, err
		}
		for i := range int(rec.NumRows()) {
			l.add(value(i))
		}
	}
	return l.names, nil
}

// payloadServices returns the services of each payload of recs' rows taken
// in order, counts[i] rows for payload i (as payload.EncodeRows splits).
func payloadServices(recs []arrow.RecordBatch, counts []int) ([][]string, error) {
	out := make([][]string, 0, len(counts))
	r, row := 0, 0
	var value func(int) string
	for _, n := range counts {
		var l serviceList
		for ; n > 0; n-- {
			for value == nil || row == int(recs[r].NumRows()) {
				if value != nil {
					r, row = r+1, 0
				}
				var err error
				if value, err = schema.ServiceColumn(recs[r]); err != nil {
					return nil, err
				}
			}
			l.add(value(row))
			row++
		}
		out = append(out, l.names)
	}
	return out, nil
}

// serviceList collects names once each, in order. Consecutive rows mostly
// share a service, and a message mostly holds a few.
type serviceList struct {
	names []string
	seen  map[string]struct{} // once there are many names
}

func (l *serviceList) add(s string) {
	n := len(l.names)
	switch {
	case n > 0 && l.names[n-1] == s:
		return
	case l.seen != nil:
		if _, ok := l.seen[s]; ok {
			return
		}
		l.seen[s] = struct{}{}
	case slices.Contains(l.names, s):
		return
	case n >= 16:
		l.seen = make(map[string]struct{}, 2*n)
		for _, name := range l.names {
			l.seen[name] = struct{}{}
		}
		l.seen[s] = struct{}{}
	}
	l.names = append(l.names, s)
}

// serviceRuns groups rec's rows by the service_name column into runs of
// consecutive rows. A batch without the column is one group, "".
func serviceRuns(rec arrow.RecordBatch) ([]*serviceGroup, error) {
	n := rec.NumRows()
	value, err := schema.ServiceColumn(rec)
	if err != nil {
		return nil, err
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
