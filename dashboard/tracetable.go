package dashboard

import (
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// traceTable is what a trace search needs of one record batch, computed
// once per cached batch: its traces with their time range, span and error
// counts, root span and services, and each span's trace. A search then
// merges one entry per trace and batch instead of one per span, and looks
// at single spans only for its filters.
type traceTable struct {
	ids       [][16]byte
	spanTrace []int32 // per row: the index of its trace, -1 without a trace id
	aggs      []traceAgg
	minStart  int64 // the batch's span start range
	maxStart  int64
}

// size estimates the memory the table holds.
func (t *traceTable) size() int64 {
	return int64(len(t.spanTrace))*4 + int64(len(t.ids))*(16+120)
}

// newTraceTable builds the table of a traces batch.
func newTraceTable(rec arrow.RecordBatch) *traceTable {
	n := int(rec.NumRows())
	t := &traceTable{spanTrace: make([]int32, n), minStart: 1<<63 - 1, maxStart: -1 << 63}
	tid := col[*array.FixedSizeBinary](rec, "trace_id")
	if tid == nil {
		for i := range t.spanTrace {
			t.spanTrace[i] = -1
		}
		return t
	}
	sc := newSpanCols(rec)
	index := make(map[[16]byte]int32, n/4+1)
	var key [16]byte
	for i := range n {
		if tid.IsNull(i) {
			t.spanTrace[i] = -1
			continue
		}
		copy(key[:], tid.Value(i))
		s, e := sc.times(i)
		t.minStart, t.maxStart = min(t.minStart, s), max(t.maxStart, s)
		j, ok := index[key]
		if !ok {
			j = int32(len(t.ids))
			index[key] = j
			t.ids = append(t.ids, key)
			t.aggs = append(t.aggs, traceAgg{start: s, end: e})
		}
		t.spanTrace[i] = j
		t.aggs[j].addSpan(sc, i, s, e)
	}
	for j := range t.aggs {
		a := &t.aggs[j]
		slices.Sort(a.services)
		a.services = slices.Clip(a.services)
	}
	return t
}

// spanCols are the columns a trace search reads of every span.
type spanCols struct {
	parent        *array.FixedSizeBinary
	start, end    *array.Timestamp
	status        *array.Int32
	service, name strCol
}

func newSpanCols(rec arrow.RecordBatch) spanCols {
	return spanCols{
		parent: col[*array.FixedSizeBinary](rec, "parent_span_id"),
		start:  col[*array.Timestamp](rec, "start_time"), end: col[*array.Timestamp](rec, "end_time"),
		status:  col[*array.Int32](rec, "status_code"),
		service: strColumn(rec, "service_name"), name: strColumn(rec, "name"),
	}
}

// times returns row i's start and end (an end before the start is the start).
func (sc spanCols) times(i int) (start, end int64) {
	s, e := tsNanos(sc.start, i), tsNanos(sc.end, i)
	return s, max(s, e)
}

// addSpan counts row i, starting at s and ending at e, in a.
func (a *traceAgg) addSpan(sc spanCols, i int, s, e int64) {
	a.spans++
	a.start = min(a.start, s)
	a.end = max(a.end, e)
	if sc.status != nil && sc.status.IsValid(i) && sc.status.Value(i) == 2 {
		a.errors++
	}
	svc := sc.service.str(i)
	isRoot := sc.parent == nil || sc.parent.IsNull(i)
	name := sc.name
	if svc != "" && !slices.Contains(a.services, svc) {
		a.services = append(a.services, svc)
	}
	if isRoot && !a.hasRoot || !a.hasRoot && (a.spans == 1 || s < a.rootStart) {
		a.rootService, a.rootName, a.rootStart, a.hasRoot = svc, name.str(i), s, isRoot
	}
}

// matches sets the match bits of the table's traces that rec's spans
// satisfy: the service and name filters are decided once per dictionary
// entry, the attribute filters span by span.
func (t *traceTable) matches(rec arrow.RecordBatch, tq *traceQuery) []uint64 {
	bits := make([]uint64, len(t.ids))
	if tq.required == 0 {
		return bits
	}
	service, name := strColumn(rec, "service_name"), strColumn(rec, "name")
	svcOK := dictMatch(service, func(s string) bool { return s == tq.service }, tq.service != "")
	nameOK := dictMatch(name, func(s string) bool { return containsFold(s, tq.lowName) }, tq.name != "")
	var spanAttrs, resAttrs attrCols
	if len(tq.attrs) > 0 {
		spanAttrs, resAttrs = attrColumns(rec, "attributes"), attrColumns(rec, "resource_attributes")
	}
	for i, j := range t.spanTrace {
		if j < 0 {
			continue
		}
		b := bits[j]
		if tq.service != "" && b&matchService == 0 && svcOK(i) {
			b |= matchService
		}
		if tq.name != "" && b&matchName == 0 && nameOK(i) {
			b |= matchName
		}
		for k, f := range tq.attrs {
			bit := uint64(matchAttr0) << k
			if b&bit == 0 && (spanAttrs.match(i, f.key, f.value) || resAttrs.match(i, f.key, f.value)) {
				b |= bit
			}
		}
		bits[j] = b
	}
	return bits
}

// dictMatch returns a per-row test of pred on a string column, decided once
// per dictionary entry when the column is dictionary encoded.
func dictMatch(c strCol, pred func(string) bool, on bool) func(i int) bool {
	if !on || c.values == nil {
		return func(int) bool { return false }
	}
	if c.dict == nil {
		return func(i int) bool { s, ok := c.get(i); return ok && pred(s) }
	}
	ok := make([]bool, c.values.Len())
	for j := range ok {
		ok[j] = c.values.IsValid(j) && pred(c.values.Value(j))
	}
	return func(i int) bool { return c.dict.IsValid(i) && ok[c.dict.GetValueIndex(i)] }
}
