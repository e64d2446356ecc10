package writer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
	"github.com/otlp-arrow/otlp-arrow/writer/internal/consume"
	"github.com/otlp-arrow/otlp-arrow/writer/internal/segment"
)

func TestWriteAndReadBack(t *testing.T) {
	js := runBus(t)
	cfg := testConfig(t, "w1")
	reg := prometheus.NewRegistry()
	w, err := New(cfg, js, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Ready(); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("Ready before Run = %v, want ErrNotStarted", err)
	}
	want := map[schema.Signal][]row{}
	for i, sig := range schema.Signals {
		base := int64(i * 1000)
		// Each payload carries its own dictionary.
		want[sig] = append(want[sig], publish(t, js, sig, rowsOf("checkout", base, 3)...)...)
		want[sig] = append(want[sig], publish(t, js, sig, rowsOf("cart", base+10, 2)...)...)
		want[sig] = append(want[sig], publish(t, js, sig, row{"checkout", base + 20, "x"}, row{"cart", base + 21, ""}, row{"db", base + 22, "y"})...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	drain(t, js, schema.Signals, w)
	if err := w.Ready(); err != nil {
		t.Fatalf("Ready while running = %v", err)
	}
	// The writer purges what it acknowledged (its durable is the only one).
	for _, sig := range schema.Signals {
		waitFor(t, string(sig)+" stream purged", func() bool {
			s, err := js.Stream(context.Background(), bus.StreamName(sig))
			return err == nil && s.CachedInfo().State.Msgs == 0
		})
	}
	for _, sig := range schema.Signals {
		names := files(t, cfg, sig)
		if len(names) != 1 || !strings.HasSuffix(names[0], ".arrows.partial") {
			t.Fatalf("%s files while running = %v, want one .partial", sig, names)
		}
		// A reader may tail the open file.
		equalRows(t, readFile(t, filepath.Join(cfg.OutputDir, "otlp", string(sig), names[0])), want[sig])
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if err := w.Flush(context.Background()); !errors.Is(err, ErrStopped) {
		t.Fatalf("Flush after Run = %v, want ErrStopped", err)
	}
	if err := w.Ready(); !errors.Is(err, ErrStopped) {
		t.Fatalf("Ready after Run = %v, want ErrStopped", err)
	}
	for _, sig := range schema.Signals {
		names := finished(t, cfg, sig)
		if len(names) != 1 || !strings.Contains(names[0], "-w1-000001.arrows") {
			t.Fatalf("%s files = %v, want one file with seq 000001", sig, names)
		}
		equalRows(t, readAll(t, cfg, sig), want[sig])
		if got, want := testutil.ToFloat64(w.metrics.RowsWritten.WithLabelValues(string(sig))), float64(len(want[sig])); got != want {
			t.Errorf("%s rows_written_total = %v, want %v", sig, got, want)
		}
		if got, want := testutil.ToFloat64(w.metrics.MessagesAcked.WithLabelValues(string(sig))), 3.0; got != want {
			t.Errorf("%s messages_acked_total = %v, want %v", sig, got, want)
		}
		if got, want := testutil.ToFloat64(w.metrics.FilesRotated.WithLabelValues(string(sig))), 1.0; got != want {
			t.Errorf("%s files_rotated_total = %v, want %v", sig, got, want)
		}
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n == 0 {
		t.Fatalf("gathered %d metrics, err %v", n, err)
	}
}

func TestRotation(t *testing.T) {
	t.Run("size", func(t *testing.T) {
		js := runBus(t)
		cfg := testConfig(t, "w1")
		cfg.Signals = []schema.Signal{schema.Traces}
		cfg.MaxFileBytes = 1 // every message fills a file
		var want []row
		for i := range 4 {
			want = append(want, publish(t, js, schema.Traces, rowsOf("svc", int64(i*10), 2)...)...)
		}
		r := start(t, cfg, js, nil)
		drain(t, js, cfg.Signals, r.w)
		if err := r.stop(t); err != nil {
			t.Fatal(err)
		}
		names := finished(t, cfg, schema.Traces)
		if len(names) != 4 {
			t.Fatalf("files = %v, want 4", names)
		}
		for i, name := range names {
			n, _, ok := segment.ParseName(name)
			if !ok || n.Seq != i+1 || n.WriterID != "w1" {
				t.Fatalf("file %d = %q (%+v)", i, name, n)
			}
			equalRows(t, readFile(t, filepath.Join(cfg.OutputDir, "otlp", "traces", name)), want[2*i:2*i+2])
		}
	})
	t.Run("age", func(t *testing.T) {
		js := runBus(t)
		cfg := testConfig(t, "w1")
		cfg.Signals = []schema.Signal{schema.Logs}
		cfg.MaxFileAge = 100 * time.Millisecond
		r := start(t, cfg, js, nil)
		want := publish(t, js, schema.Logs, rowsOf("svc", 0, 3)...)
		drain(t, js, cfg.Signals, r.w)
		waitFor(t, "age rotation", func() bool {
			names := files(t, cfg, schema.Logs)
			return len(names) == 1 && strings.HasSuffix(names[0], ".arrows")
		})
		want = append(want, publish(t, js, schema.Logs, rowsOf("svc", 10, 3)...)...)
		drain(t, js, cfg.Signals, r.w)
		waitFor(t, "second age rotation", func() bool {
			names := files(t, cfg, schema.Logs)
			return len(names) == 2 && strings.HasSuffix(names[1], ".arrows")
		})
		equalRows(t, readAll(t, cfg, schema.Logs), want)
	})
	t.Run("schema change", func(t *testing.T) {
		js := runBus(t)
		cfg := testConfig(t, "w1")
		cfg.Signals = []schema.Signal{schema.Metrics}
		first := publish(t, js, schema.Metrics, rowsOf("svc", 0, 2)...)
		// Same schema, newer version header: a new file.
		m := bus.NewMsg(bus.Message{Signal: schema.Metrics, Services: []string{"svc"}, Source: "test", Rows: 1, Payload: encodeRows(t, rowsOf("svc", 5, 1))})
		m.Header.Set(bus.HeaderSchema, "metrics/v2")
		if _, err := js.PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		r := start(t, cfg, js, nil)
		drain(t, js, cfg.Signals, r.w)
		if err := r.stop(t); err != nil {
			t.Fatal(err)
		}
		names := finished(t, cfg, schema.Metrics)
		if len(names) != 2 {
			t.Fatalf("files = %v, want 2", names)
		}
		equalRows(t, readFile(t, filepath.Join(cfg.OutputDir, "otlp", "metrics", names[0])), first)
		equalRows(t, readFile(t, filepath.Join(cfg.OutputDir, "otlp", "metrics", names[1])), rowsOf("svc", 5, 1))
	})
}

// TestRecoveryAfterCrash writes and journals messages without acknowledging
// them, stops as a killed process would (file left .partial, with a torn
// tail added), then starts a new writer with the same id.
func TestRecoveryAfterCrash(t *testing.T) {
	js := runBus(t)
	cfg := testConfig(t, "w1")
	cfg.Signals = []schema.Signal{schema.Traces}
	want, unacked := crashAfterJournal(t, cfg, js)
	dir := filepath.Join(cfg.OutputDir, "otlp", "traces")
	names := files(t, cfg, schema.Traces)
	if len(names) != 1 || !strings.HasSuffix(names[0], ".partial") {
		t.Fatalf("files after crash = %v, want one .partial", names)
	}
	if got := consumerInfo(t, js, schema.Traces).NumAckPending; got != 4 {
		t.Fatalf("NumAckPending after crash = %d, want 4", got)
	}
	// A torn tail, as if the process died in the middle of a later write.
	f, err := os.OpenFile(filepath.Join(dir, names[0]), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0x40, 0, 0, 0, 'g', 'a', 'r'}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// A .partial of ours that was never journaled (nothing acknowledged),
	// and one of another writer: the first goes, the second stays.
	now := time.Now()
	unjournaled := segment.Name{Signal: "traces", Start: now, WriterID: "w1", Seq: 99}.Partial()
	foreign := segment.Name{Signal: "traces", Start: now, WriterID: "w2", Seq: 1}.Partial()
	for _, n := range []string{unjournaled, foreign} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	unacked.nakAll(t) // redeliver now rather than after AckWait

	restarted := start(t, cfg, js, nil)
	drain(t, js, cfg.Signals, restarted.w)
	// New messages go to a new file numbered after the leftovers.
	more := publish(t, js, schema.Traces, rowsOf("svc", 100, 2)...)
	drain(t, js, cfg.Signals, restarted.w)
	if err := restarted.stop(t); err != nil {
		t.Fatal(err)
	}
	if got, want := testutil.ToFloat64(restarted.w.metrics.RowsWritten.WithLabelValues("traces")), 2.0; got != want {
		t.Fatalf("rows written by the restarted writer = %v, want %v (only the new message)", got, want)
	}
	if got, want := testutil.ToFloat64(restarted.w.metrics.MessagesAcked.WithLabelValues("traces")), 5.0; got != want {
		t.Fatalf("messages acked by the restarted writer = %v, want %v", got, want)
	}
	// Ours: the recovered file and the new one; the other writer's
	// leftover is untouched.
	var ours []string
	foreignKept := false
	for _, n := range files(t, cfg, schema.Traces) {
		if n == foreign {
			foreignKept = true
			continue
		}
		if !namePattern.MatchString(n) || strings.HasSuffix(n, ".partial") {
			t.Fatalf("unexpected file %s", n)
		}
		ours = append(ours, n)
	}
	if !foreignKept {
		t.Fatalf("%s of another writer was removed", foreign)
	}
	if len(ours) != 2 || ours[0] != strings.TrimSuffix(names[0], ".partial") {
		t.Fatalf("files = %v, want %s and a new file", ours, strings.TrimSuffix(names[0], ".partial"))
	}
	if n, _, _ := segment.ParseName(ours[1]); n.Seq != 100 {
		t.Fatalf("new file %s has seq %d, want 100", ours[1], n.Seq)
	}
	equalRows(t, readFile(t, filepath.Join(dir, ours[0])), want)
	equalRows(t, readFile(t, filepath.Join(dir, ours[1])), more)
}

func TestTwoWritersShareConsumer(t *testing.T) {
	js := runBus(t)
	cfgA := testConfig(t, "a")
	cfgB := cfgA
	cfgB.WriterID = "b"
	a := start(t, cfgA, js, nil)
	b := start(t, cfgB, js, nil)
	var want []row
	for i := range 40 {
		want = append(want, publish(t, js, schema.Logs, rowsOf([]string{"x", "y", "z"}[i%3], int64(i*10), 2)...)...)
	}
	drain(t, js, []schema.Signal{schema.Logs}, a.w, b.w)
	for _, r := range []*running{a, b} {
		if err := r.stop(t); err != nil {
			t.Fatal(err)
		}
	}
	got := readAll(t, cfgA, schema.Logs)
	equalRowSets(t, got, want)
	for _, name := range finished(t, cfgA, schema.Logs) {
		if n, _, _ := segment.ParseName(name); n.WriterID != "a" && n.WriterID != "b" {
			t.Fatalf("unexpected file %s", name)
		}
	}
}

// TestPeerJournalPreventsDuplicate: writer a journals messages and dies
// before acknowledging; they are redelivered to writer b, which finds them
// in a's journal and acknowledges them without writing; a's restart
// finishes its file.
func TestPeerJournalPreventsDuplicate(t *testing.T) {
	js := runBus(t)
	cfgA := testConfig(t, "a")
	cfgA.Signals = []schema.Signal{schema.Traces}
	cfgB := cfgA
	cfgB.WriterID = "b"
	var want []row
	for i := range 3 {
		want = append(want, publish(t, js, schema.Traces, rowsOf("svc", int64(i*10), 2)...)...)
	}
	var unacked collector
	a := start(t, cfgA, js, func(w *Writer) { w.hooks = &consume.Hooks{Crash: true, Unacked: unacked.add} })
	waitFor(t, "journaled", func() bool {
		if err := a.w.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		return unacked.len() == 3
	})
	if err := a.stop(t); err != nil {
		t.Fatal(err)
	}
	unacked.nakAll(t)
	b := start(t, cfgB, js, nil)
	drain(t, js, cfgB.Signals, b.w)
	if got := testutil.ToFloat64(b.w.metrics.RowsWritten.WithLabelValues("traces")); got != 0 {
		t.Fatalf("writer b wrote %v rows, want 0", got)
	}
	a2 := start(t, cfgA, js, nil)
	drain(t, js, cfgA.Signals, a2.w)
	for _, r := range []*running{a2, b} {
		if err := r.stop(t); err != nil {
			t.Fatal(err)
		}
	}
	equalRowSets(t, readAll(t, cfgA, schema.Traces), want)
}

func TestBadMessagesTerminated(t *testing.T) {
	js := runBus(t)
	cfg := testConfig(t, "w1")
	cfg.Signals = []schema.Signal{schema.Traces}
	ctx := context.Background()
	garbage := nats.NewMsg(bus.Subject(schema.Traces, "svc"))
	garbage.Header.Set(bus.HeaderSignal, "traces")
	garbage.Data = []byte("not an arrow stream")
	if _, err := js.PublishMsg(ctx, garbage); err != nil {
		t.Fatal(err)
	}
	wrong := bus.NewMsg(bus.Message{Signal: schema.Traces, Services: []string{"svc"}, Source: "test", Rows: 1, Payload: encodeRows(t, rowsOf("svc", 0, 1))})
	wrong.Header.Set(bus.HeaderSignal, "logs")
	if _, err := js.PublishMsg(ctx, wrong); err != nil {
		t.Fatal(err)
	}
	want := publish(t, js, schema.Traces, rowsOf("svc", 10, 2)...)
	r := start(t, cfg, js, nil)
	drain(t, js, cfg.Signals, r.w)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if got, want := testutil.ToFloat64(r.w.metrics.MessagesTerminated.WithLabelValues("traces")), 2.0; got != want {
		t.Fatalf("messages_terminated_total = %v, want %v", got, want)
	}
	equalRows(t, readAll(t, cfg, schema.Traces), want)
}

// TestWriteFailureRecovers replaces the signal directory with a plain file
// so that opening the next file fails; nothing is acknowledged, Ready
// reports the error, and once the directory is back the data is written.
func TestWriteFailureRecovers(t *testing.T) {
	for _, format := range []string{"arrow", "parquet"} {
		t.Run(format, func(t *testing.T) { writeFailureRecovers(t, format) })
	}
}

func writeFailureRecovers(t *testing.T, format string) {
	js := runBus(t)
	cfg := testConfig(t, "w1")
	cfg.Format = format
	cfg.Signals = []schema.Signal{schema.Traces}
	cfg.MaxFileBytes = 1 // every flush opens a new file
	r := start(t, cfg, js, nil)
	want := publish(t, js, schema.Traces, rowsOf("svc", 0, 2)...)
	drain(t, js, cfg.Signals, r.w)

	dir := filepath.Join(cfg.OutputDir, "otlp", "traces")
	if err := os.Rename(dir, dir+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	want = append(want, publish(t, js, schema.Traces, rowsOf("svc", 10, 2)...)...)
	waitFor(t, "Ready to fail", func() bool { return r.w.Ready() != nil })
	if got := testutil.ToFloat64(r.w.metrics.WriteErrors.WithLabelValues("traces")); got < 1 {
		t.Fatalf("write_errors_total = %v, want >= 1", got)
	}
	if got := testutil.ToFloat64(r.w.metrics.MessagesAcked.WithLabelValues("traces")); got != 1 {
		t.Fatalf("messages_acked_total = %v, want 1", got)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dir+".away", dir); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Ready again", func() bool { return r.w.Ready() == nil })
	drain(t, js, cfg.Signals, r.w)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	equalRows(t, readAll(t, cfg, schema.Traces), want)
}

func TestRunWaitsForStreams(t *testing.T) {
	srv, err := bus.StartServer(bus.ServerConfig{StoreDir: t.TempDir(), Port: bus.NoListen}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx := context.Background()
	nc, js, err := bus.Connect(ctx, bus.ConnConfig{InProcess: srv.NATS()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	cfg := testConfig(t, "w1")
	r := start(t, cfg, js, nil)
	time.Sleep(100 * time.Millisecond)
	if err := r.w.Ready(); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("Ready without streams = %v, want ErrNotStarted", err)
	}
	if err := bus.EnsureStreams(ctx, js, bus.DefaultStreamsConfig()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ready", func() bool { return r.w.Ready() == nil })
	want := publish(t, js, schema.Traces, rowsOf("svc", 0, 1)...)
	drain(t, js, []schema.Signal{schema.Traces}, r.w)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	equalRows(t, readAll(t, cfg, schema.Traces), want)
}
