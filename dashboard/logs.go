package dashboard

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/otlp-arrow/otlp-arrow/proto/fileindex"
)

// logQuery is a parsed /api/logs request.
type logQuery struct {
	w           window
	service     string
	severityMin int32
	q           string // lower case, a substring of the body
	traceID     []byte
	attrs       []attrFilter
	limit       int
	asc         bool // oldest first (a trace's logs); else newest first
}

// bodyJSON is a log body: its kind and value.
type bodyJSON struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// logJSON is one log record of the API.
type logJSON struct {
	TimeMs         float64  `json:"time_ms"`
	TimeNs         string   `json:"time_ns"`
	ObservedMs     float64  `json:"observed_ms"`
	SeverityNumber int32    `json:"severity_number"`
	SeverityText   string   `json:"severity_text"`
	ServiceName    string   `json:"service_name"`
	Body           bodyJSON `json:"body"`
	TraceID        string   `json:"trace_id"`
	SpanID         string   `json:"span_id"`
	Attributes     []attr   `json:"attributes"`
	Resource       []attr   `json:"resource"`
	EventName      string   `json:"event_name"`
}

type logSearchResult struct {
	Logs         []logJSON `json:"logs"`
	ScannedFiles int       `json:"scanned_files"`
	ScannedRows  int64     `json:"scanned_rows"`
	ElapsedMs    float64   `json:"elapsed_ms"`
}

func parseLogQuery(r *http.Request) (logQuery, error) {
	q := r.URL.Query()
	var lq logQuery
	var err error
	if lq.w, err = parseWindow(r); err != nil {
		return lq, err
	}
	lq.service = q.Get("service")
	lq.q = strings.ToLower(q.Get("q"))
	sev, err := parseInt(r, "severity_min", 0, 0, 24)
	if err != nil {
		return lq, err
	}
	lq.severityMin = int32(sev)
	if lq.traceID, err = parseID("trace_id", q.Get("trace_id"), 16); err != nil {
		return lq, err
	}
	if lq.attrs, err = parseAttrs(r); err != nil {
		return lq, err
	}
	lq.limit, err = parseInt(r, "limit", 200, 1, 10000)
	return lq, err
}

func (d *Dashboard) handleLogs(w http.ResponseWriter, r *http.Request) {
	serveSearch(w, r, parseLogQuery, d.searchLogs)
}

// logHit is a matching record, rendered once it makes the cut.
type logHit struct {
	t   int64
	seq int
	rec arrow.RecordBatch
	row int
}

// searchLogs returns the newest (or, asc, oldest) limit matching records.
func (d *Dashboard) searchLogs(ctx context.Context, lq logQuery) (logSearchResult, error) {
	began := time.Now()
	var hits []logHit
	var held []arrow.RecordBatch
	defer func() { releaseAll(held) }()
	seq := 0
	st, err := d.scan(ctx, "logs", lq.w, func(_ fileindex.File, rec arrow.RecordBatch) error {
		n := len(hits)
		matchLogs(rec, &lq, func(row int, t int64) {
			hits = append(hits, logHit{t: t, seq: seq, rec: rec, row: row})
			seq++
		})
		if len(hits) > n {
			rec.Retain()
			held = append(held, rec)
		}
		return nil
	})
	if err != nil {
		return logSearchResult{}, err
	}
	slices.SortFunc(hits, func(a, b logHit) int {
		c := cmp.Compare(a.t, b.t)
		if c == 0 {
			c = cmp.Compare(a.seq, b.seq)
		}
		if lq.asc {
			return c
		}
		return -c
	})
	hits = hits[:min(len(hits), lq.limit)]
	out := make([]logJSON, 0, len(hits))
	for _, h := range hits {
		out = append(out, logRecordJSON(h.rec, h.row))
	}
	return logSearchResult{Logs: out, ScannedFiles: st.files, ScannedRows: st.rows,
		ElapsedMs: float64(time.Since(began).Microseconds()) / 1000}, nil
}

// matchLogs calls fn with each row of rec that matches lq.
func matchLogs(rec arrow.RecordBatch, lq *logQuery, fn func(row int, t int64)) {
	tm := col[*array.Timestamp](rec, "time")
	observed := col[*array.Timestamp](rec, "observed_time")
	sev := col[*array.Int32](rec, "severity_number")
	tid := col[*array.FixedSizeBinary](rec, "trace_id")
	service := strColumn(rec, "service_name")
	body, bodyJS := strColumn(rec, "body"), strColumn(rec, "body_json")
	var attrs, res attrCols
	if len(lq.attrs) > 0 {
		attrs, res = attrColumns(rec, "attributes"), attrColumns(rec, "resource_attributes")
	}
rows:
	for i := range int(rec.NumRows()) {
		t := tsNanos(tm, i)
		if t == 0 {
			t = tsNanos(observed, i)
		}
		if !lq.w.contains(t) {
			continue
		}
		if lq.severityMin > 0 && (sev == nil || sev.IsNull(i) || sev.Value(i) < lq.severityMin) {
			continue
		}
		if lq.service != "" && service.str(i) != lq.service {
			continue
		}
		if len(lq.traceID) > 0 && (tid == nil || tid.IsNull(i) || !bytes.HasPrefix(tid.Value(i), lq.traceID)) {
			continue
		}
		if lq.q != "" {
			b, ok := body.get(i)
			if !ok {
				b = bodyJS.str(i)
			}
			if !containsFold(b, lq.q) {
				continue
			}
		}
		for _, f := range lq.attrs {
			if !attrs.match(i, f.key, f.value) && !res.match(i, f.key, f.value) {
				continue rows
			}
		}
		fn(i, t)
	}
}

// logRecordJSON renders row i of a logs batch.
func logRecordJSON(rec arrow.RecordBatch, i int) logJSON {
	tm := col[*array.Timestamp](rec, "time")
	observed := col[*array.Timestamp](rec, "observed_time")
	sev := col[*array.Int32](rec, "severity_number")
	t := tsNanos(tm, i)
	l := logJSON{
		TimeMs: ms(t), TimeNs: nsString(t), ObservedMs: ms(tsNanos(observed, i)),
		SeverityText: strColumn(rec, "severity_text").str(i), ServiceName: strColumn(rec, "service_name").str(i),
		TraceID: hexID(col[*array.FixedSizeBinary](rec, "trace_id"), i), SpanID: hexID(col[*array.FixedSizeBinary](rec, "span_id"), i),
		Attributes: attrColumns(rec, "attributes").list(i), Resource: attrColumns(rec, "resource_attributes").list(i),
		EventName: strColumn(rec, "event_name").str(i),
		Body:      bodyJSON{Type: "empty"},
	}
	if sev != nil && sev.IsValid(i) {
		l.SeverityNumber = sev.Value(i)
	}
	if b, ok := strColumn(rec, "body").get(i); ok {
		l.Body = bodyJSON{Type: "string", Value: b}
	} else if js, ok := strColumn(rec, "body_json").get(i); ok {
		l.Body = anyValueBody(js)
	}
	return l
}

// anyValueBody turns the OTLP JSON of a non-string body into {type, value}.
func anyValueBody(js string) bodyJSON {
	var v map[string]json.RawMessage
	if err := json.Unmarshal([]byte(js), &v); err != nil || len(v) == 0 {
		return bodyJSON{Type: "empty"}
	}
	for k, raw := range v {
		switch k {
		case "intValue":
			// As attributes: a number, or a string beyond 2^53.
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return bodyJSON{Type: "int", Value: raw}
			}
			if n, err := strconv.ParseInt(s, 10, 64); err == nil && n <= 1<<53 && n >= -(1<<53) {
				return bodyJSON{Type: "int", Value: n}
			}
			return bodyJSON{Type: "int", Value: s}
		case "doubleValue":
			return bodyJSON{Type: "double", Value: raw}
		case "boolValue":
			return bodyJSON{Type: "bool", Value: raw}
		case "bytesValue":
			return bodyJSON{Type: "bytes", Value: raw}
		case "arrayValue":
			return bodyJSON{Type: "array", Value: json.RawMessage(js)}
		case "kvlistValue":
			return bodyJSON{Type: "kvlist", Value: json.RawMessage(js)}
		}
	}
	return bodyJSON{Type: "empty"}
}
