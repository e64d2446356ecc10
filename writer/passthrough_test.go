package writer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// publishTraces publishes rss as one payload of the real traces schema,
// encoded with opts, and returns its bytes.
func publishTraces(t *testing.T, js jetstream.JetStream, rss []*tracepb.ResourceSpans, opts ...payload.Option) []byte {
	t.Helper()
	rec, err := schema.TracesToArrow(memory.DefaultAllocator, rss)
	if err != nil {
		t.Fatal(err)
	}
	rows := int(rec.NumRows())
	payloads, err := payload.Encode([]arrow.RecordBatch{rec}, 8<<20, opts...)
	rec.Release()
	if err != nil || len(payloads) != 1 {
		t.Fatalf("encode: %d payloads, %v", len(payloads), err)
	}
	svc := rss[0].Resource.Attributes[0].Value.GetStringValue()
	m := bus.Message{Signal: schema.Traces, Services: []string{svc}, Source: "test", Rows: rows, Payload: payloads[0]}
	if _, err := bus.Publish(context.Background(), js, m); err != nil {
		t.Fatal(err)
	}
	return payloads[0]
}

// readTraces reads every file of traces with arrow-go's stream reader into
// OTLP, in file and row order. The files must have the schema cfg asks for:
// v1, or v2 (converted back with schema.FromV2).
func readTraces(t *testing.T, cfg Config) []*tracepb.ResourceSpans {
	t.Helper()
	var recs []arrow.RecordBatch
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	for _, name := range finished(t, cfg, schema.Traces) {
		f, err := os.Open(filepath.Join(cfg.OutputDir, "otlp", "traces", name))
		if err != nil {
			t.Fatal(err)
		}
		rd, err := ipc.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		want := schema.Schema(schema.Traces)
		if cfg.TracesSchema == "v2" {
			want = schema.V2Schema(schema.Traces, want)
		}
		if !rd.Schema().Equal(want) || schema.SchemaVersion(schema.Traces, rd.Schema()) != "traces/"+cfg.TracesSchema {
			t.Fatalf("%s: schema differs from the %s schema:\n%s", name, cfg.TracesSchema, rd.Schema())
		}
		for rd.Next() {
			rec, err := schema.FromV2(memory.DefaultAllocator, rd.RecordBatch())
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, rec)
		}
		if err := rd.Err(); err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		rd.Release()
		f.Close()
	}
	got, err := schema.TracesFromArrow(recs)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func equalTraces(t *testing.T, got, want []*tracepb.ResourceSpans) {
	t.Helper()
	want = schema.NormalizeTraces(want)
	if len(got) != len(want) {
		t.Fatalf("got %d resource spans, want %d", len(got), len(want))
	}
	for i := range got {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("resource spans %d:\n got %v\nwant %v", i, got[i], want[i])
		}
	}
}

// TestPassthroughRowsAsSent mixes, in one flush, payloads the writer merges
// (too small, or compressed otherwise than the file) with payloads whose
// batches it appends as they are, each service with its own dictionaries,
// and reads the file back field by field with arrow-go's stream reader,
// which takes the appended dictionaries as replacements.
func TestPassthroughRowsAsSent(t *testing.T) {
	js := runBus(t)
	cfg := testConfig(t, "w1")
	cfg.Signals = []schema.Signal{schema.Traces}
	cfg.Passthrough = true
	cfg.PassthroughRows = 8
	var want []*tracepb.ResourceSpans
	appended := 0
	for i, p := range []struct {
		svc  string
		rows int
		opt  payload.Option
	}{
		{"checkout", 3, payload.WithZstd()},           // merged: small
		{"cart", 9, payload.WithZstd()},               // appended
		{"checkout", 2, payload.WithZstd()},           // merged, the first batch's dictionaries again
		{"payment", 12, payload.WithoutCompression()}, // merged: not compressed like the file
		{"cart", 10, payload.WithZstd()},              // appended
		{"search", 8, payload.WithZstd()},             // appended
		{"checkout", 1, payload.WithZstd()},           // merged
	} {
		rss := spans(p.svc, p.rows, byte(i+1))
		want = append(want, rss...)
		publishTraces(t, js, rss, p.opt)
		if p.rows >= cfg.PassthroughRows && i != 3 {
			appended += p.rows
		}
	}
	r := start(t, cfg, js, nil)
	drain(t, js, cfg.Signals, r.w)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(r.w.metrics.RowsAppended.WithLabelValues("traces")); got != float64(appended) {
		t.Fatalf("rows appended = %v, want %d", got, appended)
	}
	equalTraces(t, readTraces(t, cfg), want)
}

// TestPassthroughCrashMidAppend crashes a writer after it journaled appended
// batches, leaves half of a further payload's batches at the end of its
// .partial file, as a process killed during that append would, and checks
// that the restarted writer cuts the file back to its last journaled
// message, keeps every row once and writes the rest.
func TestPassthroughCrashMidAppend(t *testing.T) {
	js := runBus(t)
	cfg := testConfig(t, "w1")
	cfg.Signals = []schema.Signal{schema.Traces}
	cfg.Passthrough = true
	cfg.PassthroughRows = 4
	var want []*tracepb.ResourceSpans
	var last []byte
	for i := range 4 {
		rss := spans("svc", 5+i, byte(i+1))
		want = append(want, rss...)
		last = publishTraces(t, js, rss, payload.WithZstd())
	}
	unacked, crashed := crashWhenJournaled(t, cfg, js, 4)
	if got := testutil.ToFloat64(crashed.metrics.RowsAppended.WithLabelValues("traces")); got != 5+6+7+8 {
		t.Fatalf("rows appended = %v, want %d", got, 5+6+7+8)
	}
	names := files(t, cfg, schema.Traces)
	if len(names) != 1 || !strings.HasSuffix(names[0], ".partial") {
		t.Fatalf("files after crash = %v, want one .partial", names)
	}
	lay, err := payload.ReadLayout(last, schema.Schema(schema.Traces))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(cfg.OutputDir, "otlp", "traces", names[0]), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(lay.Batches[:len(lay.Batches)/2]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	unacked.nakAll(t)

	rss := spans("svc", 6, 9)
	want = append(want, rss...)
	publishTraces(t, js, rss, payload.WithZstd())
	restarted := start(t, cfg, js, nil)
	drain(t, js, cfg.Signals, restarted.w)
	if err := restarted.stop(t); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(restarted.w.metrics.RowsWritten.WithLabelValues("traces")); got != 6 {
		t.Fatalf("rows written by the restarted writer = %v, want 6 (only the new message)", got)
	}
	equalTraces(t, readTraces(t, cfg), want)
}

// TestPassthroughSchemaOtherwiseEncoded writes a payload whose schema equals
// the file's but whose schema message differs in its bytes (custom metadata,
// as another producer might write; its dictionaries could be numbered
// otherwise too): the writer decodes it again and merges it instead of
// appending its batches.
func TestPassthroughSchemaOtherwiseEncoded(t *testing.T) {
	js := runBus(t)
	cfg := testConfig(t, "w1")
	cfg.Signals = []schema.Signal{schema.Traces}
	cfg.Passthrough = true
	cfg.PassthroughRows = 2
	cfg.Compression = "none"
	want := rowsOf("svc", 0, 4)
	publish(t, js, schema.Traces, want...)
	more := rowsOf("other", 10, 4)
	rec := buildRows(t, more)
	defer rec.Release()
	var buf strings.Builder
	w := ipc.NewWriter(&buf, ipc.WithSchema(arrow.NewSchema(testSchema.Fields(), func() *arrow.Metadata { m := arrow.NewMetadata([]string{"producer"}, []string{"other"}); return &m }())))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	m := bus.Message{Signal: schema.Traces, Services: []string{"other"}, Source: "test", Rows: len(more), Payload: []byte(buf.String())}
	if _, err := bus.Publish(context.Background(), js, m); err != nil {
		t.Fatal(err)
	}
	r := start(t, cfg, js, nil)
	drain(t, js, cfg.Signals, r.w)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	equalRows(t, readAll(t, cfg, schema.Traces), append(want, more...))
	if got := testutil.ToFloat64(r.w.metrics.RowsAppended.WithLabelValues("traces")); got != 4 {
		t.Fatalf("rows appended = %v, want 4 (the first payload only)", got)
	}
}
