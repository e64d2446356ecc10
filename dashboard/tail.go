package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// The live tail reads each signal's stream with an ordered consumer: an
// ephemeral consumer without acknowledgements, delivering new messages
// only, so it holds nothing back from the pipeline (the streams' retention
// and the durable consumers do not see it). It runs only while a browser
// listens to that signal. Each message is decoded once, turned into rows,
// and offered to every client's bounded queue; a client that does not keep
// up loses its oldest rows and is told how many.

// heartbeatInterval is how often an idle event stream gets a comment.
const heartbeatInterval = 15 * time.Second

// maxRowsPerEvent bounds the rows of one SSE event.
const maxRowsPerEvent = 500

// tailRow is one row offered to the clients: its JSON object and what the
// filters look at.
type tailRow struct {
	service string
	text    string // span name or log body, for q
	attrs   attrCols
	i       int
	obj     any
}

// tailHub fans the bus out to the clients.
type tailHub struct {
	conn  *nats.Conn
	log   *slog.Logger
	queue int

	mu      sync.Mutex
	clients map[*tailClient]bool
	running map[schema.Signal]jetstream.ConsumeContext
	stopped bool
}

func newTailHub(conn *nats.Conn, queue int, log *slog.Logger) *tailHub {
	return &tailHub{conn: conn, log: log, queue: queue, clients: map[*tailClient]bool{},
		running: map[schema.Signal]jetstream.ConsumeContext{}}
}

// tailClient is one browser: its filters and its bounded queue.
type tailClient struct {
	signal  schema.Signal
	service string
	q       string // lower case
	attrs   []attrFilter

	mu      sync.Mutex
	rows    []any // a ring of at most cap rows
	head    int
	n       int
	dropped atomic.Int64
	notify  chan struct{}
}

// offer queues a row, dropping the oldest when the queue is full.
func (c *tailClient) offer(obj any) {
	c.mu.Lock()
	if c.n == len(c.rows) {
		c.head = (c.head + 1) % len(c.rows)
		c.n--
		c.dropped.Add(1)
	}
	c.rows[(c.head+c.n)%len(c.rows)] = obj
	c.n++
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// take removes up to max queued rows.
func (c *tailClient) take(max int) []any {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := min(c.n, max)
	out := make([]any, k)
	for j := range k {
		out[j] = c.rows[c.head]
		c.rows[c.head] = nil
		c.head = (c.head + 1) % len(c.rows)
	}
	c.n -= k
	return out
}

// wants reports whether the client's filters keep row r.
func (c *tailClient) wants(r *tailRow) bool {
	if c.service != "" && r.service != c.service {
		return false
	}
	if c.q != "" && !containsFold(r.text, c.q) {
		return false
	}
	for _, f := range c.attrs {
		if !r.attrs.match(r.i, f.key, f.value) {
			return false
		}
	}
	return true
}

// add registers a client and starts its signal's consumer if it is the
// first.
func (h *tailHub) add(ctx context.Context, c *tailClient) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return fmt.Errorf("the dashboard is stopping")
	}
	h.clients[c] = true
	if h.running[c.signal] != nil {
		return nil
	}
	cc, err := h.consume(ctx, c.signal)
	if err != nil {
		delete(h.clients, c)
		return err
	}
	h.running[c.signal] = cc
	return nil
}

// remove drops a client and stops its signal's consumer if it was the last.
func (h *tailHub) remove(c *tailClient) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
	for other := range h.clients {
		if other.signal == c.signal {
			return
		}
	}
	if cc := h.running[c.signal]; cc != nil {
		cc.Stop()
		delete(h.running, c.signal)
	}
}

// stop ends every consumer; clients see their streams end.
func (h *tailHub) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	for sig, cc := range h.running {
		cc.Stop()
		delete(h.running, sig)
	}
}

// consume starts an ordered consumer of new messages on the signal's
// subjects.
func (h *tailHub) consume(ctx context.Context, sig schema.Signal) (jetstream.ConsumeContext, error) {
	js, err := jetstream.New(h.conn)
	if err != nil {
		return nil, fmt.Errorf("live tail: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, bus.StreamName(sig), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{bus.SubjectFilter(sig)},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("live tail of %s: %w", sig, err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) { h.deliver(sig, msg.Data()) })
	if err != nil {
		return nil, fmt.Errorf("live tail of %s: %w", sig, err)
	}
	return cc, nil
}

// deliver decodes one message and offers its rows to the signal's clients.
func (h *tailHub) deliver(sig schema.Signal, data []byte) {
	h.mu.Lock()
	var clients []*tailClient
	for c := range h.clients {
		if c.signal == sig {
			clients = append(clients, c)
		}
	}
	h.mu.Unlock()
	if len(clients) == 0 {
		return
	}
	_, recs, err := payload.Decode(data, memory.DefaultAllocator)
	if err != nil {
		h.log.Debug("live tail: payload not decoded", "signal", sig, "err", err)
		return
	}
	defer releaseAll(recs)
	for _, rec := range recs {
		rows := tailRows(sig, rec)
		for _, c := range clients {
			for k := range rows {
				if c.wants(&rows[k]) {
					c.offer(rows[k].obj)
				}
			}
		}
	}
}

// tailSpan is a span of the live tail.
type tailSpan struct {
	TraceID      string  `json:"trace_id"`
	SpanID       string  `json:"span_id"`
	ParentSpanID string  `json:"parent_span_id"`
	Name         string  `json:"name"`
	Kind         int32   `json:"kind"`
	ServiceName  string  `json:"service_name"`
	StartMs      float64 `json:"start_ms"`
	StartNs      string  `json:"start_ns"`
	EndMs        float64 `json:"end_ms"`
	DurationMs   float64 `json:"duration_ms"`
	StatusCode   int32   `json:"status_code"`
	Attributes   []attr  `json:"attributes"`
}

// tailPoint is a metric data point of the live tail.
type tailPoint struct {
	Name        string     `json:"name"`
	Type        string     `json:"type"`
	Unit        string     `json:"unit"`
	ServiceName string     `json:"service_name"`
	TimeMs      float64    `json:"time_ms"`
	TimeNs      string     `json:"time_ns"`
	Value       *jsonFloat `json:"value"`
	Count       *float64   `json:"count"`
	Sum         *jsonFloat `json:"sum"`
	Attributes  []attr     `json:"attributes"`
}

// tailRows turns a batch into the rows of the live tail.
func tailRows(sig schema.Signal, rec arrow.RecordBatch) []tailRow {
	n := int(rec.NumRows())
	rows := make([]tailRow, n)
	service := strColumn(rec, "service_name")
	attrs := attrColumns(rec, "attributes")
	switch sig {
	case schema.Traces:
		spans := spansJSON(rec, seq(n))
		tid := col[*array.FixedSizeBinary](rec, "trace_id")
		for i, s := range spans {
			rows[i] = tailRow{service: s.ServiceName, text: s.Name, attrs: attrs, i: i, obj: tailSpan{
				TraceID: hexID(tid, i), SpanID: s.SpanID, ParentSpanID: s.ParentSpanID, Name: s.Name, Kind: s.Kind,
				ServiceName: s.ServiceName, StartMs: s.StartMs, StartNs: s.StartNs, EndMs: s.EndMs, DurationMs: s.DurationMs,
				StatusCode: s.StatusCode, Attributes: s.Attributes}}
		}
	case schema.Logs:
		for i := range n {
			l := logRecordJSON(rec, i)
			text := ""
			if s, ok := l.Body.Value.(string); ok {
				text = s
			} else if raw, err := json.Marshal(l.Body.Value); err == nil {
				text = string(raw)
			}
			rows[i] = tailRow{service: l.ServiceName, text: text, attrs: attrs, i: i, obj: l}
		}
	case schema.Metrics:
		m := newMetricCols(rec)
		pc := newPointCols(rec)
		for i := range n {
			p := pc.point(i, m)
			t := tsNanos(m.time, i)
			tp := tailPoint{Name: m.name.str(i), Type: m.typ.str(i), Unit: m.unit.str(i), ServiceName: service.str(i),
				TimeMs: ms(t), TimeNs: nsString(t), Attributes: attrs.list(i)}
			if p.hasValue {
				v := jsonFloat(p.value)
				tp.Value = &v
			}
			if pc.count != nil && pc.count.IsValid(i) {
				tp.Count = &p.count
			}
			if p.hasSum {
				s := jsonFloat(p.sum)
				tp.Sum = &s
			}
			rows[i] = tailRow{service: tp.ServiceName, text: tp.Name, attrs: attrs, i: i, obj: tp}
		}
	}
	return rows
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// handleTail streams the live tail of one signal as Server-Sent Events.
func (d *Dashboard) handleTail(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sig, err := schema.ParseSignal(q.Get("signal"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "parameter signal: "+err.Error())
		return
	}
	attrs, err := parseAttrs(r)
	if err != nil {
		badRequest(w, err)
		return
	}
	if d.tail == nil {
		writeError(w, http.StatusServiceUnavailable, "no bus: the live tail needs the dashboard connected to the bus")
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	c := &tailClient{signal: sig, service: q.Get("service"), q: strings.ToLower(q.Get("q")), attrs: attrs,
		rows: make([]any, d.cfg.TailQueue), notify: make(chan struct{}, 1)}
	if err := d.tail.add(r.Context(), c); err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	defer d.tail.remove(c)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": live tail of "+string(sig)+"\n\n")
	flusher.Flush()
	heartbeat := time.NewTicker(heartbeatInterval)
	defer heartbeat.Stop()
	var reported int64
	for {
		select {
		case <-r.Context().Done():
			return
		case <-d.stopping:
			return
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return
			}
			flusher.Flush()
			continue
		case <-c.notify:
		}
		for {
			rows := c.take(maxRowsPerEvent)
			if len(rows) == 0 {
				break
			}
			if err := writeEvent(w, "rows", map[string]any{"signal": sig, "rows": rows}); err != nil {
				return
			}
		}
		if dropped := c.dropped.Load(); dropped != reported {
			reported = dropped
			if err := writeEvent(w, "dropped", map[string]int64{"dropped": dropped}); err != nil {
				return
			}
		}
		flusher.Flush()
	}
}

// writeEvent writes one SSE event of JSON data.
func writeEvent(w http.ResponseWriter, event string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
	return err
}
