package dashboard

import (
	"bytes"
	"cmp"
	"context"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/otlp-arrow/otlp-arrow/proto/fileindex"
)

// traceQuery is a parsed /api/traces request.
type traceQuery struct {
	w        window
	service  string
	name     string // a case-insensitive substring of a span name
	attrs    []attrFilter
	traceID  []byte // a prefix of the trace id
	errors   bool
	minMs    float64
	hasMin   bool
	maxMs    float64
	hasMax   bool
	sort     string
	desc     bool
	limit    int
	lowName  string
	required uint64 // the match bits a trace needs
}

// The match bits of a trace: a span of the service, a span of the name,
// then one per attribute filter.
const (
	matchService = 1 << iota
	matchName
	matchAttr0
)

func parseTraceQuery(r *http.Request) (traceQuery, error) {
	q := r.URL.Query()
	var tq traceQuery
	var err error
	if tq.w, err = parseWindow(r); err != nil {
		return tq, err
	}
	tq.service, tq.name = q.Get("service"), q.Get("name")
	tq.lowName = strings.ToLower(tq.name)
	if tq.attrs, err = parseAttrs(r); err != nil {
		return tq, err
	}
	if len(tq.attrs) > 60 {
		return tq, errBadParam{"attr", "", "at most 60 filters"}
	}
	if tq.traceID, err = parseID("trace_id", q.Get("trace_id"), 16); err != nil {
		return tq, err
	}
	tq.errors = q.Get("errors") == "1" || q.Get("errors") == "true"
	if tq.minMs, tq.hasMin, err = parseFloat(r, "min_ms"); err != nil {
		return tq, err
	}
	if tq.maxMs, tq.hasMax, err = parseFloat(r, "max_ms"); err != nil {
		return tq, err
	}
	switch tq.sort = q.Get("sort"); tq.sort {
	case "":
		tq.sort = "start"
	case "start", "duration", "spans":
	default:
		return tq, errBadParam{"sort", tq.sort, "start, duration or spans"}
	}
	switch o := q.Get("order"); o {
	case "", "desc":
		tq.desc = true
	case "asc":
	default:
		return tq, errBadParam{"order", o, "asc or desc"}
	}
	if tq.limit, err = parseInt(r, "limit", 100, 1, 10000); err != nil {
		return tq, err
	}
	if tq.service != "" {
		tq.required |= matchService
	}
	if tq.name != "" {
		tq.required |= matchName
	}
	for i := range tq.attrs {
		tq.required |= matchAttr0 << i
	}
	return tq, nil
}

// traceAgg accumulates one trace's spans.
type traceAgg struct {
	start, end  int64
	spans       int
	errors      int
	rootService string
	rootName    string
	rootStart   int64
	hasRoot     bool
	services    []string
	match       uint64
}

// searchWorkers is the number of goroutines a search reads files with.
var searchWorkers = max(1, min(runtime.GOMAXPROCS(0), 4))

// merge adds the spans b counted (in other files) to a.
func (a *traceAgg) merge(b *traceAgg) {
	a.start, a.end = min(a.start, b.start), max(a.end, b.end)
	a.spans += b.spans
	a.errors += b.errors
	a.match |= b.match
	for _, s := range b.services {
		if !slices.Contains(a.services, s) {
			a.services = append(slices.Clip(a.services), s) // never into a table's slice
		}
	}
	if b.hasRoot && !a.hasRoot || b.hasRoot == a.hasRoot && b.rootStart < a.rootStart {
		a.rootService, a.rootName, a.rootStart, a.hasRoot = b.rootService, b.rootName, b.rootStart, b.hasRoot
	}
}

// traceSummary is one result of /api/traces.
type traceSummary struct {
	TraceID     string   `json:"trace_id"`
	RootService string   `json:"root_service"`
	RootName    string   `json:"root_name"`
	StartMs     float64  `json:"start_ms"`
	StartNs     string   `json:"start_ns"`
	DurationMs  float64  `json:"duration_ms"`
	SpanCount   int      `json:"span_count"`
	ErrorCount  int      `json:"error_count"`
	Services    []string `json:"services"`
}

type traceSearchResult struct {
	Traces       []traceSummary `json:"traces"`
	ScannedFiles int            `json:"scanned_files"`
	ScannedRows  int64          `json:"scanned_rows"`
	ElapsedMs    float64        `json:"elapsed_ms"`
}

func (d *Dashboard) handleTraces(w http.ResponseWriter, r *http.Request) {
	serveSearch(w, r, parseTraceQuery, d.searchTraces)
}

// searchTraces runs a trace search over the files.
func (d *Dashboard) searchTraces(ctx context.Context, tq traceQuery) (traceSearchResult, error) {
	began := time.Now()
	parts := make([]map[[16]byte]*traceAgg, searchWorkers)
	for k := range parts {
		parts[k] = map[[16]byte]*traceAgg{}
	}
	st, err := d.scanParallel(ctx, "traces", tq.w, searchWorkers, func(k int, _ fileindex.File, rec arrow.RecordBatch, t *traceTable) error {
		if t == nil || !tq.w.contains(t.minStart) || !tq.w.contains(t.maxStart) {
			aggregateSpans(rec, &tq, parts[k]) // a batch across the window's ends
			return nil
		}
		mergeTable(rec, t, &tq, parts[k])
		return nil
	})
	if err != nil {
		return traceSearchResult{}, err
	}
	aggs := parts[0]
	for _, p := range parts[1:] {
		for id, a := range p {
			if b := aggs[id]; b != nil {
				b.merge(a)
			} else {
				aggs[id] = a
			}
		}
	}
	out := make([]traceSummary, 0, min(len(aggs), tq.limit))
	type hit struct {
		id [16]byte
		a  *traceAgg
	}
	hits := make([]hit, 0, len(aggs))
	for id, a := range aggs {
		if a.match&tq.required != tq.required || (tq.errors && a.errors == 0) {
			continue
		}
		dur := ms(a.end - a.start)
		if (tq.hasMin && dur < tq.minMs) || (tq.hasMax && dur > tq.maxMs) {
			continue
		}
		hits = append(hits, hit{id, a})
	}
	key := func(h hit) int64 {
		switch tq.sort {
		case "duration":
			return h.a.end - h.a.start
		case "spans":
			return int64(h.a.spans)
		}
		return h.a.start
	}
	slices.SortFunc(hits, func(x, y hit) int {
		c := cmp.Compare(key(x), key(y))
		if c == 0 {
			c = bytes.Compare(x.id[:], y.id[:])
		}
		if tq.desc {
			return -c
		}
		return c
	})
	for _, h := range hits[:min(len(hits), tq.limit)] {
		a := h.a
		svcs := slices.Sorted(slices.Values(a.services))
		if svcs == nil {
			svcs = []string{}
		}
		out = append(out, traceSummary{
			TraceID: hexBytes(h.id[:]), RootService: a.rootService, RootName: a.rootName,
			StartMs: ms(a.start), StartNs: nsString(a.start), DurationMs: ms(a.end - a.start),
			SpanCount: a.spans, ErrorCount: a.errors, Services: svcs,
		})
	}
	return traceSearchResult{Traces: out, ScannedFiles: st.files, ScannedRows: st.rows,
		ElapsedMs: float64(time.Since(began).Microseconds()) / 1000}, nil
}

// mergeTable adds the traces of a batch that lies in the window to aggs.
func mergeTable(rec arrow.RecordBatch, t *traceTable, tq *traceQuery, aggs map[[16]byte]*traceAgg) {
	bits := t.matches(rec, tq)
	slab := make([]traceAgg, 0, len(t.ids))
	for j, id := range t.ids {
		if len(tq.traceID) > 0 && !bytes.HasPrefix(id[:], tq.traceID) {
			continue
		}
		if a := aggs[id]; a != nil {
			a.merge(&t.aggs[j])
			a.match |= bits[j]
			continue
		}
		slab = append(slab, t.aggs[j])
		a := &slab[len(slab)-1]
		a.match = bits[j]
		aggs[id] = a
	}
}

// aggregateSpans adds the spans of rec that lie in the window to aggs.
func aggregateSpans(rec arrow.RecordBatch, tq *traceQuery, aggs map[[16]byte]*traceAgg) {
	tid := col[*array.FixedSizeBinary](rec, "trace_id")
	if tid == nil {
		return
	}
	sc := newSpanCols(rec)
	var spanAttrs, resAttrs attrCols
	if len(tq.attrs) > 0 {
		spanAttrs, resAttrs = attrColumns(rec, "attributes"), attrColumns(rec, "resource_attributes")
	}
	var key [16]byte
	for i := range int(rec.NumRows()) {
		if tid.IsNull(i) {
			continue
		}
		s, e := sc.times(i)
		if !tq.w.contains(s) {
			continue
		}
		id := tid.Value(i)
		if len(tq.traceID) > 0 && !bytes.HasPrefix(id, tq.traceID) {
			continue
		}
		copy(key[:], id)
		a := aggs[key]
		if a == nil {
			a = &traceAgg{start: s, end: e}
			aggs[key] = a
		}
		a.addSpan(sc, i, s, e)
		svc := sc.service.str(i)
		if tq.required == 0 {
			continue
		}
		if tq.service != "" && svc == tq.service {
			a.match |= matchService
		}
		if tq.name != "" && a.match&matchName == 0 && containsFold(sc.name.str(i), tq.lowName) {
			a.match |= matchName
		}
		for k, f := range tq.attrs {
			bit := uint64(matchAttr0) << k
			if a.match&bit == 0 && (spanAttrs.match(i, f.key, f.value) || resAttrs.match(i, f.key, f.value)) {
				a.match |= bit
			}
		}
	}
}

// containsFold reports whether s contains low (lower case), ignoring case.
func containsFold(s, low string) bool {
	if strings.Contains(s, low) {
		return true
	}
	return strings.Contains(strings.ToLower(s), low)
}
