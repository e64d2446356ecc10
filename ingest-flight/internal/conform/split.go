package conform

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// Group is the rows of one service in a batch: zero-copy slices of it, in
// row order. The caller releases the slices (see [Release]).
type Group struct {
	// Service is the service_name value; "" when null or missing.
	Service string
	// Rows is the number of rows in Slices.
	Rows int64
	// Slices are runs of consecutive rows of the service.
	Slices []arrow.RecordBatch
}

// Split groups rec's rows by its service_name column, in order of first
// appearance, as slices of consecutive rows: a batch of one service is one
// slice of the whole batch. A batch without the column is one group with
// Service "".
func Split(rec arrow.RecordBatch) ([]Group, error) {
	n := rec.NumRows()
	if n == 0 {
		return nil, nil
	}
	idx := rec.Schema().FieldIndices(ServiceColumn)
	if len(idx) == 0 {
		return []Group{{Rows: n, Slices: []arrow.RecordBatch{rec.NewSlice(0, n)}}}, nil
	}
	read, err := newStringReader(rec.Column(idx[0]))
	if err != nil {
		return nil, fmt.Errorf("split by %s: %w", ServiceColumn, err)
	}
	var groups []Group
	index := map[string]int{}
	add := func(svc string, from, to int64) {
		g, ok := index[svc]
		if !ok {
			g = len(groups)
			index[svc] = g
			groups = append(groups, Group{Service: svc})
		}
		groups[g].Rows += to - from
		groups[g].Slices = append(groups[g].Slices, rec.NewSlice(from, to))
	}
	start := int64(0)
	cur, _ := read(0)
	for i := int64(1); i < n; i++ {
		s, _ := read(int(i))
		if s != cur {
			add(cur, start, i)
			start, cur = i, s
		}
	}
	add(cur, start, n)
	return groups, nil
}

// Release releases the slices of every group.
func Release(groups []Group) {
	for _, g := range groups {
		for _, s := range g.Slices {
			s.Release()
		}
	}
}
