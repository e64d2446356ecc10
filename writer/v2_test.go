package writer

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// TestTracesV2Files writes a trace file in the v2 layout from payloads of
// which pass-through would append some, and reads it back with arrow-go's
// stream reader (readTraces): the schema is the v2 schema, marked
// traces/v2, no batch was appended as it came (it would be v1), and the
// spans converted back (schema.FromV2) equal what was sent, field by field.
func TestTracesV2Files(t *testing.T) {
	js := runBus(t)
	cfg := testConfig(t, "w1")
	cfg.Signals = []schema.Signal{schema.Traces}
	cfg.TracesSchema = "v2"
	cfg.Passthrough = true
	cfg.PassthroughRows = 8
	var want []*tracepb.ResourceSpans
	for i, p := range []struct {
		svc  string
		rows int
	}{{"checkout", 3}, {"cart", 9}, {"checkout", 2}, {"search", 12}} {
		rss := spans(p.svc, p.rows, byte(i+1))
		want = append(want, rss...)
		publishTraces(t, js, rss, payload.WithZstd())
	}
	r := start(t, cfg, js, nil)
	drain(t, js, cfg.Signals, r.w)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(r.w.metrics.RowsAppended.WithLabelValues("traces")); got != 0 {
		t.Fatalf("rows appended as they came = %v, want 0 in a v2 file", got)
	}
	if n := len(finished(t, cfg, schema.Traces)); n != 1 {
		t.Fatalf("%d files, want 1", n)
	}
	equalTraces(t, readTraces(t, cfg), want)
}
