package writer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
	"github.com/otlp-arrow/otlp-arrow/writer/internal/consume"
)

// testSchema is a small hand-made schema with a dictionary column, like the
// service_name column of the real ones.
var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "service_name", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}},
	{Name: "value", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

type row struct {
	Service string
	Value   int64
	Name    string
}

func (r row) String() string { return fmt.Sprintf("%s/%d/%s", r.Service, r.Value, r.Name) }

// runBus starts an embedded JetStream server, connects in-process and
// declares the streams with the production code.
func runBus(t testing.TB) jetstream.JetStream {
	t.Helper()
	srv, err := bus.StartServer(bus.ServerConfig{StoreDir: t.TempDir(), Port: bus.NoListen}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, js, err := bus.Connect(ctx, bus.ConnConfig{InProcess: srv.NATS(), Name: "writer test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if err := bus.EnsureStreams(ctx, js, bus.DefaultStreamsConfig()); err != nil {
		t.Fatal(err)
	}
	return js
}

func encodeRows(t *testing.T, rows []row) []byte {
	t.Helper()
	rec := buildRows(t, rows)
	defer rec.Release()
	out, err := payload.Encode([]arrow.RecordBatch{rec}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 {
		t.Fatalf("encode: %d payloads, want 1", len(out))
	}
	return out[0]
}

// buildRows builds a record batch of testSchema holding rows.
func buildRows(t *testing.T, rows []row) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, testSchema)
	defer b.Release()
	for _, r := range rows {
		if err := b.Field(0).(*array.BinaryDictionaryBuilder).AppendString(r.Service); err != nil {
			t.Fatal(err)
		}
		b.Field(1).(*array.Int64Builder).Append(r.Value)
		if r.Name == "" {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.StringBuilder).Append(r.Name)
		}
	}
	return b.NewRecordBatch()
}

// publish publishes rows as one message of sig and returns them.
func publish(t *testing.T, js jetstream.JetStream, sig schema.Signal, rows ...row) []row {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m := bus.Message{Signal: sig, Services: []string{rows[0].Service}, Source: "test", Rows: len(rows), Payload: encodeRows(t, rows)}
	if _, err := bus.Publish(ctx, js, m); err != nil {
		t.Fatal(err)
	}
	return rows
}

// rowsOf makes n distinct rows for one message.
func rowsOf(service string, start int64, n int) []row {
	out := make([]row, n)
	for i := range out {
		v := start + int64(i)
		out[i] = row{Service: service, Value: v}
		if v%2 == 0 {
			out[i].Name = fmt.Sprintf("span-%d", v)
		}
	}
	return out
}

func testConfig(t *testing.T, id string) Config {
	cfg := DefaultConfig()
	cfg.OutputDir = t.TempDir()
	cfg.WriterID = id
	cfg.WriteInterval = 50 * time.Millisecond
	cfg.ShutdownTimeout = 10 * time.Second
	return cfg
}

// running is a Writer running in the background.
type running struct {
	w      *Writer
	cancel context.CancelFunc
	done   chan error
}

func start(t testing.TB, cfg Config, js jetstream.JetStream, mod func(*Writer)) *running {
	t.Helper()
	w, err := New(cfg, js, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{w: w, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- w.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run and waits for it; it returns Run's error. Safe to call
// twice.
func (r *running) stop(t testing.TB) error {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok {
			close(r.done)
		}
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// drain flushes the writers until the consumer has nothing pending and
// nothing waiting for an ack on the streams of sigs.
func drain(t testing.TB, js jetstream.JetStream, sigs []schema.Signal, ws ...*Writer) {
	t.Helper()
	waitFor(t, "consumer drained", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, w := range ws {
			if err := w.Flush(ctx); err != nil {
				t.Fatalf("Flush: %v", err)
			}
		}
		for _, sig := range sigs {
			info := consumerInfo(t, js, sig)
			if info.NumPending != 0 || info.NumAckPending != 0 {
				return false
			}
		}
		return true
	})
}

func consumerInfo(t testing.TB, js jetstream.JetStream, sig schema.Signal) *jetstream.ConsumerInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := js.Consumer(ctx, bus.StreamName(sig), bus.DurableWriter)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var namePattern = regexp.MustCompile(`^(traces|metrics|logs)-\d{8}T\d{6}\.\d{9}Z-[A-Za-z0-9._-]+-\d{6,}\.(arrows|parquet)(\.partial)?$`)

// files lists the file names in the signal directory, sorted.
func files(t *testing.T, cfg Config, sig schema.Signal) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(cfg.OutputDir, "otlp", string(sig)))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// finished lists the .arrows files, checking their names, and fails on any
// .partial file.
func finished(t *testing.T, cfg Config, sig schema.Signal) []string {
	t.Helper()
	var out []string
	for _, name := range files(t, cfg, sig) {
		if strings.HasSuffix(name, ".partial") {
			t.Fatalf("%s left open", name)
		}
		if !namePattern.MatchString(name) {
			t.Fatalf("file name %q does not match %s", name, namePattern)
		}
		out = append(out, name)
	}
	return out
}

// readFile reads every row of one IPC stream file.
func readFile(t *testing.T, path string) []row {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ipc.NewReader(f)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	defer r.Release()
	if !r.Schema().Equal(testSchema) {
		t.Fatalf("schema of %s = %s, want %s", path, r.Schema(), testSchema)
	}
	var out []row
	for r.Next() {
		out = appendRows(out, r.RecordBatch())
	}
	if err := r.Err(); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("read %s: %v", path, err)
	}
	return out
}

// appendRows appends the rows of a record of testSchema to out.
func appendRows(out []row, rec arrow.RecordBatch) []row {
	dict := rec.Column(0).(*array.Dictionary)
	services := dict.Dictionary().(*array.String)
	values := rec.Column(1).(*array.Int64)
	names := rec.Column(2).(*array.String)
	for i := 0; i < int(rec.NumRows()); i++ {
		rw := row{Service: services.Value(dict.GetValueIndex(i)), Value: values.Value(i)}
		if names.IsValid(i) {
			rw.Name = names.Value(i)
		}
		out = append(out, rw)
	}
	return out
}

// readAll reads the rows of every finished file of sig (Arrow or Parquet)
// in name order.
func readAll(t *testing.T, cfg Config, sig schema.Signal) []row {
	t.Helper()
	var out []row
	for _, name := range finished(t, cfg, sig) {
		path := filepath.Join(cfg.OutputDir, "otlp", string(sig), name)
		if strings.HasSuffix(name, ".parquet") {
			out = append(out, readParquetTestRows(t, path)...)
			continue
		}
		out = append(out, readFile(t, path)...)
	}
	return out
}

func equalRows(t *testing.T, got, want []row) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("rows differ:\n got %v\nwant %v", got, want)
	}
}

// equalRowSets compares rows ignoring order.
func equalRowSets(t *testing.T, got, want []row) {
	t.Helper()
	less := func(a, b row) int { return strings.Compare(a.String(), b.String()) }
	got, want = slices.Clone(got), slices.Clone(want)
	slices.SortFunc(got, less)
	slices.SortFunc(want, less)
	equalRows(t, got, want)
}

// collector gathers the messages a crashing lane did not acknowledge.
type collector struct {
	mu   sync.Mutex
	msgs []jetstream.Msg
}

func (c *collector) add(m jetstream.Msg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

// nakAll returns the collected messages to the stream at once, instead of
// waiting the consumer's 60 s AckWait as after a real crash.
func (c *collector) nakAll(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.msgs {
		if err := m.Nak(); err != nil {
			t.Fatal(err)
		}
	}
}

// crashAfterJournal publishes four trace messages and runs a writer that
// "dies" once all of them are journaled, before acknowledging any (and, for
// Parquet, before renaming its files). It returns the rows published and the
// unacknowledged messages.
func crashAfterJournal(t *testing.T, cfg Config, js jetstream.JetStream) ([]row, *collector) {
	t.Helper()
	var want []row
	for i := range 4 {
		want = append(want, publish(t, js, schema.Traces, rowsOf("svc", int64(i*10), 3)...)...)
	}
	unacked, _ := crashWhenJournaled(t, cfg, js, 4)
	return want, unacked
}

// crashWhenJournaled runs a writer that "dies" once n messages are
// journaled, before acknowledging any, and returns the unacknowledged
// messages and the writer.
func crashWhenJournaled(t *testing.T, cfg Config, js jetstream.JetStream, n int) (*collector, *Writer) {
	t.Helper()
	unacked := &collector{}
	crashed := start(t, cfg, js, func(w *Writer) {
		w.hooks = &consume.Hooks{Crash: true, Unacked: unacked.add}
	})
	waitFor(t, "journaled", func() bool {
		if err := crashed.w.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		return unacked.len() == n
	})
	if err := crashed.stop(t); err != nil {
		t.Fatal(err)
	}
	return unacked, crashed.w
}
