package dashboard

import (
	"bytes"
	"cmp"
	"context"
	"net/http"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/otlp-arrow/otlp-arrow/proto/fileindex"
)

// spanJSON is one span of /api/traces/{id}.
type spanJSON struct {
	SpanID        string      `json:"span_id"`
	ParentSpanID  string      `json:"parent_span_id"`
	Name          string      `json:"name"`
	Kind          int32       `json:"kind"`
	ServiceName   string      `json:"service_name"`
	StartMs       float64     `json:"start_ms"`
	StartNs       string      `json:"start_ns"`
	EndMs         float64     `json:"end_ms"`
	DurationMs    float64     `json:"duration_ms"`
	StatusCode    int32       `json:"status_code"`
	StatusMessage string      `json:"status_message"`
	TraceState    string      `json:"trace_state"`
	Flags         uint32      `json:"flags"`
	Attributes    []attr      `json:"attributes"`
	Resource      []attr      `json:"resource"`
	Scope         scopeJSON   `json:"scope"`
	Events        []eventJSON `json:"events"`
	Links         []linkJSON  `json:"links"`

	start, end int64
}

type scopeJSON struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	Attributes []attr `json:"attributes"`
}

type eventJSON struct {
	TimeMs     float64 `json:"time_ms"`
	Name       string  `json:"name"`
	Attributes []attr  `json:"attributes"`
}

type linkJSON struct {
	TraceID    string `json:"trace_id"`
	SpanID     string `json:"span_id"`
	Attributes []attr `json:"attributes"`
}

type traceJSON struct {
	TraceID      string     `json:"trace_id"`
	Spans        []spanJSON `json:"spans"`
	Logs         []logJSON  `json:"logs"`
	CriticalPath []string   `json:"critical_path"`
}

// traceRows calls fn with each batch holding spans of the trace and the
// rows that are its spans.
func (d *Dashboard) traceRows(ctx context.Context, r *http.Request, id []byte, fn func(rec arrow.RecordBatch, rows []int)) error {
	w, err := parseWindow(r)
	if err != nil {
		return err
	}
	_, err = d.scan(ctx, "traces", w, func(_ fileindex.File, rec arrow.RecordBatch) error {
		tid := col[*array.FixedSizeBinary](rec, "trace_id")
		if tid == nil {
			return nil
		}
		var rows []int
		for i := range int(rec.NumRows()) {
			if tid.IsValid(i) && bytes.Equal(tid.Value(i), id) {
				rows = append(rows, i)
			}
		}
		if len(rows) > 0 {
			fn(rec, rows)
		}
		return nil
	})
	return err
}

// traceID reads the {trace_id} of the path: exactly 32 hex digits.
func traceIDParam(r *http.Request) ([]byte, error) {
	v := r.PathValue("trace_id")
	id, err := parseID("trace_id", v, 16)
	if err == nil && len(id) != 16 {
		err = errBadParam{"trace_id", v, "32 hex digits"}
	}
	return id, err
}

func (d *Dashboard) handleTrace(w http.ResponseWriter, r *http.Request) {
	id, err := traceIDParam(r)
	if err != nil {
		badRequest(w, err)
		return
	}
	var spans []spanJSON
	err = d.traceRows(r.Context(), r, id, func(rec arrow.RecordBatch, rows []int) {
		spans = append(spans, spansJSON(rec, rows)...)
	})
	if err != nil {
		if !badRequest(w, err) {
			writeError(w, http.StatusInternalServerError, err.Error())
		}
		return
	}
	if len(spans) == 0 {
		writeError(w, http.StatusNotFound, "no spans of trace "+hexBytes(id)+" in the files")
		return
	}
	slices.SortStableFunc(spans, func(a, b spanJSON) int { return cmp.Compare(a.start, b.start) })
	logs, err := d.searchLogs(r.Context(), logQuery{traceID: id, limit: 1000, asc: true})
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, traceJSON{TraceID: hexBytes(id), Spans: spans, Logs: logs.Logs, CriticalPath: criticalPath(spans)})
}

// spansJSON renders the given rows of a traces batch.
func spansJSON(rec arrow.RecordBatch, rows []int) []spanJSON {
	spanID := col[*array.FixedSizeBinary](rec, "span_id")
	parent := col[*array.FixedSizeBinary](rec, "parent_span_id")
	start := col[*array.Timestamp](rec, "start_time")
	end := col[*array.Timestamp](rec, "end_time")
	kind := col[*array.Int32](rec, "kind")
	status := col[*array.Int32](rec, "status_code")
	statusMsg := strColumn(rec, "status_message")
	traceState := strColumn(rec, "trace_state")
	flags := col[*array.Uint32](rec, "flags")
	service, name := strColumn(rec, "service_name"), strColumn(rec, "name")
	scopeName, scopeVersion := strColumn(rec, "scope_name"), strColumn(rec, "scope_version")
	attrs, res, scopeAttrs := attrColumns(rec, "attributes"), attrColumns(rec, "resource_attributes"), attrColumns(rec, "scope_attributes")
	events := newEventCols(col[*array.List](rec, "events"))
	links := newLinkCols(col[*array.List](rec, "links"))
	out := make([]spanJSON, 0, len(rows))
	for _, i := range rows {
		s, e := tsNanos(start, i), tsNanos(end, i)
		sp := spanJSON{
			SpanID: hexID(spanID, i), ParentSpanID: hexID(parent, i), Name: name.str(i), ServiceName: service.str(i),
			StartMs: ms(s), StartNs: nsString(s), EndMs: ms(e), DurationMs: ms(max(e-s, 0)),
			StatusMessage: statusMsg.str(i), TraceState: traceState.str(i),
			Attributes: attrs.list(i), Resource: res.list(i),
			Scope:  scopeJSON{Name: scopeName.str(i), Version: scopeVersion.str(i), Attributes: scopeAttrs.list(i)},
			Events: events.at(i), Links: links.at(i),
			start: s, end: e,
		}
		if kind != nil && kind.IsValid(i) {
			sp.Kind = kind.Value(i)
		}
		if status != nil && status.IsValid(i) {
			sp.StatusCode = status.Value(i)
		}
		if flags != nil && flags.IsValid(i) {
			sp.Flags = flags.Value(i)
		}
		out = append(out, sp)
	}
	return out
}

// eventCols reads the events column.
type eventCols struct {
	list  *array.List
	time  *array.Timestamp
	name  strCol
	attrs attrCols
}

func newEventCols(l *array.List) eventCols {
	st, ok := listStruct(l)
	if !ok {
		return eventCols{}
	}
	ec := eventCols{list: l, attrs: structAttrColumns(st, "attributes")}
	stt := st.DataType().(*arrow.StructType)
	if idx, ok := stt.FieldIdx("time"); ok {
		ec.time, _ = st.Field(idx).(*array.Timestamp)
	}
	if idx, ok := stt.FieldIdx("name"); ok {
		ec.name = newStrCol(st.Field(idx))
	}
	return ec
}

func (ec eventCols) at(i int) []eventJSON {
	out := []eventJSON{}
	if ec.list == nil || ec.list.IsNull(i) {
		return out
	}
	s, e := ec.list.ValueOffsets(i)
	for j := int(s); j < int(e); j++ {
		out = append(out, eventJSON{TimeMs: ms(tsNanos(ec.time, j)), Name: ec.name.str(j), Attributes: ec.attrs.list(j)})
	}
	return out
}

// linkCols reads the links column.
type linkCols struct {
	list        *array.List
	trace, span *array.FixedSizeBinary
	attrs       attrCols
}

func newLinkCols(l *array.List) linkCols {
	st, ok := listStruct(l)
	if !ok {
		return linkCols{}
	}
	lc := linkCols{list: l, attrs: structAttrColumns(st, "attributes")}
	stt := st.DataType().(*arrow.StructType)
	if idx, ok := stt.FieldIdx("trace_id"); ok {
		lc.trace, _ = st.Field(idx).(*array.FixedSizeBinary)
	}
	if idx, ok := stt.FieldIdx("span_id"); ok {
		lc.span, _ = st.Field(idx).(*array.FixedSizeBinary)
	}
	return lc
}

func (lc linkCols) at(i int) []linkJSON {
	out := []linkJSON{}
	if lc.list == nil || lc.list.IsNull(i) {
		return out
	}
	s, e := lc.list.ValueOffsets(i)
	for j := int(s); j < int(e); j++ {
		out = append(out, linkJSON{TraceID: hexID(lc.trace, j), SpanID: hexID(lc.span, j), Attributes: lc.attrs.list(j)})
	}
	return out
}

func listStruct(l *array.List) (*array.Struct, bool) {
	if l == nil {
		return nil, false
	}
	st, ok := l.ListValues().(*array.Struct)
	return st, ok
}

// criticalPath returns the span ids on the trace's critical path: from the
// root (the earliest span without a parent in the trace), the child that
// finished last before its parent's end, then, walking back, the children
// that finished before that one started, recursively.
func criticalPath(spans []spanJSON) []string {
	byID := make(map[string]int, len(spans))
	for i, s := range spans {
		byID[s.SpanID] = i
	}
	children := map[string][]int{}
	root := -1
	for i, s := range spans {
		if _, ok := byID[s.ParentSpanID]; ok && s.ParentSpanID != s.SpanID {
			children[s.ParentSpanID] = append(children[s.ParentSpanID], i)
		} else if root < 0 || s.start < spans[root].start {
			root = i
		}
	}
	if root < 0 {
		return []string{}
	}
	path := []string{}
	seen := map[int]bool{}
	var walk func(i int, bound int64)
	walk = func(i int, bound int64) {
		if seen[i] {
			return
		}
		seen[i] = true
		path = append(path, spans[i].SpanID)
		kids := slices.Clone(children[spans[i].SpanID])
		slices.SortFunc(kids, func(a, b int) int { return cmp.Compare(spans[b].end, spans[a].end) })
		t := min(spans[i].end, bound)
		for _, k := range kids {
			if spans[k].end <= t && spans[k].end > spans[i].start || spans[k].start < t && spans[k].end > t {
				walk(k, t)
				t = spans[k].start
			}
		}
	}
	walk(root, spans[root].end)
	return path
}
