package janitor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otlp-arrow/otlp-arrow/janitor"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
	"github.com/prometheus/client_golang/prometheus"
)

// now is the fixed clock of every test.
var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// finished returns a finished file name in the writer's format.
func finished(sig schema.Signal, writer string, seq int) string {
	return fmt.Sprintf("%s-20261125T060102.123456789Z-%s-%06d.arrows", sig, writer, seq)
}

// put writes size bytes to <root>/otlp/<sub>/<name> with a modification
// time age before now, and returns the path.
func put(t *testing.T, root, sub, name string, size int, age time.Duration) string {
	t.Helper()
	dir := filepath.Join(root, "otlp", sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	mt := now.Add(-age)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
	return p
}

// exists reports whether path exists.
func exists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Lstat(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

// newJanitor builds a janitor over root with the fixed clock and a fresh
// registry.
func newJanitor(t *testing.T, cfg janitor.Config, log *slog.Logger, opts ...janitor.Option) (*janitor.Janitor, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	opts = append([]janitor.Option{janitor.WithClock(func() time.Time { return now })}, opts...)
	j, err := janitor.New(cfg, log, reg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return j, reg
}

// metric returns the value of the sample of name whose labels include
// labels, or 0 if there is none.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func config(root string) janitor.Config {
	cfg := janitor.DefaultConfig()
	cfg.OutputDir = root
	return cfg
}

func TestScanRetention(t *testing.T) {
	root := t.TempDir()
	oldTrace := put(t, root, "traces", finished(schema.Traces, "w1", 1), 10, 700*time.Second)
	newTrace := put(t, root, "traces", finished(schema.Traces, "w1", 2), 20, 500*time.Second)
	oldMetric := put(t, root, "metrics", finished(schema.Metrics, "w2", 1), 30, 4000*time.Second)
	newMetric := put(t, root, "metrics", finished(schema.Metrics, "w2", 2), 40, 3000*time.Second)
	// A Parquet file counts the same as an Arrow one.
	oldLog := put(t, root, "logs", strings.TrimSuffix(finished(schema.Logs, "w1", 7), ".arrows")+".parquet", 50, 3601*time.Second)
	newLog := put(t, root, "logs", finished(schema.Logs, "w1", 8), 60, 10*time.Second)
	// Everything below is old but must survive.
	survivors := []string{
		put(t, root, "traces", finished(schema.Traces, "w9", 3)+".partial", 5, 10*time.Hour),
		put(t, root, "traces", strings.TrimSuffix(finished(schema.Traces, "w9", 4), ".arrows")+".parquet.partial", 5, 10*time.Hour),
		put(t, root, "traces", "notes.txt", 5, 10*time.Hour),
		put(t, root, "traces", "traces-garbage.arrows", 5, 10*time.Hour),
		put(t, root, "traces", finished(schema.Metrics, "w1", 1), 5, 10*time.Hour), // wrong directory
		put(t, root, "traces", "."+finished(schema.Traces, "w1", 4), 5, 10*time.Hour),
		put(t, root, ".writer", finished(schema.Traces, "w1", 5), 5, 10*time.Hour),
		put(t, root, "traces/sub", finished(schema.Traces, "w1", 6), 5, 10*time.Hour),
	}
	dirLike := filepath.Join(root, "otlp", "traces", finished(schema.Traces, "w1", 7))
	if err := os.Mkdir(dirLike, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "otlp", "traces", finished(schema.Traces, "w1", 8))
	if err := os.Symlink(oldTrace, link); err != nil {
		t.Fatal(err)
	}
	survivors = append(survivors, dirLike, link)

	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	j, reg := newJanitor(t, config(root), log)
	rep, err := j.Scan(t.Context())
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}

	// Oldest first: metrics (4000 s), logs (3601 s), traces (700 s).
	if got, want := rep.Removed, []string{oldMetric, oldLog, oldTrace}; !slices.Equal(got, want) {
		t.Errorf("Removed = %q, want %q", got, want)
	}
	if got, want := rep.Files, 3; got != want {
		t.Errorf("Files = %d, want %d", got, want)
	}
	if got, want := rep.Bytes, int64(30+50+10); got != want {
		t.Errorf("Bytes = %d, want %d", got, want)
	}
	if got, want := rep.Kept, 3; got != want {
		t.Errorf("Kept = %d, want %d", got, want)
	}
	for _, p := range []string{oldTrace, oldMetric, oldLog} {
		if exists(t, p) {
			t.Errorf("%s survived", p)
		}
	}
	for _, p := range append([]string{newTrace, newMetric, newLog}, survivors...) {
		if !exists(t, p) {
			t.Errorf("%s was removed", p)
		}
	}
	if err := j.Ready(); err != nil {
		t.Errorf("Ready after scan: %v", err)
	}

	for _, tc := range []struct {
		sig   string
		files float64
		bytes float64
	}{{"traces", 1, 10}, {"metrics", 1, 30}, {"logs", 1, 50}} {
		l := map[string]string{"signal": tc.sig, "reason": "age"}
		if got := metric(t, reg, "otlp_arrow_janitor_files_removed_total", l); got != tc.files {
			t.Errorf("files_removed_total%v = %v, want %v", l, got, tc.files)
		}
		if got := metric(t, reg, "otlp_arrow_janitor_bytes_removed_total", l); got != tc.bytes {
			t.Errorf("bytes_removed_total%v = %v, want %v", l, got, tc.bytes)
		}
	}
	if got := metric(t, reg, "otlp_arrow_janitor_files", map[string]string{"signal": "metrics"}); got != 1 {
		t.Errorf("files{metrics} = %v, want 1", got)
	}
	if got := metric(t, reg, "otlp_arrow_janitor_bytes", map[string]string{"signal": "logs"}); got != 60 {
		t.Errorf("bytes{logs} = %v, want 60", got)
	}
	if got := metric(t, reg, "otlp_arrow_janitor_scans_total", nil); got != 1 {
		t.Errorf("scans_total = %v, want 1", got)
	}
	if got, want := strings.Count(logBuf.String(), "msg=removed"), 3; got != want {
		t.Errorf("%d 'removed' log lines, want %d:\n%s", got, want, logBuf.String())
	}

	// A second scan removes nothing more.
	rep, err = j.Scan(t.Context())
	if err != nil || rep.Files != 0 {
		t.Errorf("second Scan = %+v, %v; want nothing removed", rep, err)
	}
}

func TestScanRetentionZeroKeepsForever(t *testing.T) {
	root := t.TempDir()
	cfg := config(root)
	cfg.Retention[schema.Logs] = 0
	delete(cfg.Retention, schema.Metrics)
	logs := put(t, root, "logs", finished(schema.Logs, "w1", 1), 1, 1000*time.Hour)
	metrics := put(t, root, "metrics", finished(schema.Metrics, "w1", 1), 1, 1000*time.Hour)
	j, _ := newJanitor(t, cfg, nil)
	rep, err := j.Scan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files != 0 || !exists(t, logs) || !exists(t, metrics) {
		t.Errorf("Scan removed %q, want nothing", rep.Removed)
	}
}

func TestScanMaxTotalBytes(t *testing.T) {
	root := t.TempDir()
	cfg := config(root)
	cfg.Retention = nil
	cfg.MaxTotalBytes = 250
	// 100 bytes each; ages interleave the signals. b1 and b2 tie on mtime
	// and are ordered by name (logs < metrics).
	a := put(t, root, "traces", finished(schema.Traces, "w1", 1), 100, 50*time.Minute)
	b1 := put(t, root, "logs", finished(schema.Logs, "w1", 1), 100, 40*time.Minute)
	b2 := put(t, root, "metrics", finished(schema.Metrics, "w1", 1), 100, 40*time.Minute)
	c := put(t, root, "traces", finished(schema.Traces, "w2", 1), 100, 30*time.Minute)
	d := put(t, root, "logs", finished(schema.Logs, "w1", 2), 100, 20*time.Minute)
	partial := put(t, root, "traces", finished(schema.Traces, "w3", 1)+".partial", 1000, 60*time.Minute)

	j, reg := newJanitor(t, cfg, nil)
	rep, err := j.Scan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rep.Removed, []string{a, b1, b2}; !slices.Equal(got, want) {
		t.Errorf("Removed = %q, want %q", got, want)
	}
	if got, want := rep.KeptBytes, int64(200); got != want {
		t.Errorf("KeptBytes = %d, want %d", got, want)
	}
	for _, p := range []string{c, d, partial} {
		if !exists(t, p) {
			t.Errorf("%s was removed", p)
		}
	}
	for sig, want := range map[string]float64{"traces": 1, "logs": 1, "metrics": 1} {
		l := map[string]string{"signal": sig, "reason": "max_total_bytes"}
		if got := metric(t, reg, "otlp_arrow_janitor_files_removed_total", l); got != want {
			t.Errorf("files_removed_total%v = %v, want %v", l, got, want)
		}
		if got := metric(t, reg, "otlp_arrow_janitor_bytes_removed_total", l); got != want*100 {
			t.Errorf("bytes_removed_total%v = %v, want %v", l, got, want*100)
		}
	}
}

func TestScanMinFree(t *testing.T) {
	root := t.TempDir()
	cfg := config(root)
	cfg.MinFreeBytes = 1250
	young := 10 * time.Second // within every retention
	f1 := put(t, root, "metrics", finished(schema.Metrics, "w1", 1), 100, young+4*time.Second)
	f2 := put(t, root, "traces", finished(schema.Traces, "w1", 1), 100, young+3*time.Second)
	f3 := put(t, root, "logs", finished(schema.Logs, "w1", 1), 100, young+2*time.Second)
	f4 := put(t, root, "traces", finished(schema.Traces, "w1", 2), 100, young+1*time.Second)

	var asked string
	j, reg := newJanitor(t, cfg, nil, janitor.WithFreeSpace(func(dir string) (int64, error) {
		asked = dir
		return 1000, nil
	}))
	rep, err := j.Scan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if asked != root {
		t.Errorf("free space asked for %q, want %q", asked, root)
	}
	if got, want := rep.Removed, []string{f1, f2, f3}; !slices.Equal(got, want) {
		t.Errorf("Removed = %q, want %q", got, want)
	}
	if !exists(t, f4) {
		t.Errorf("%s was removed", f4)
	}
	l := map[string]string{"signal": "traces", "reason": "min_free"}
	if got := metric(t, reg, "otlp_arrow_janitor_files_removed_total", l); got != 1 {
		t.Errorf("files_removed_total%v = %v, want 1", l, got)
	}
}

func TestScanFreeSpaceError(t *testing.T) {
	root := t.TempDir()
	cfg := config(root)
	cfg.MinFreeBytes = 1
	f := put(t, root, "traces", finished(schema.Traces, "w1", 1), 100, time.Second)
	boom := errors.New("boom")
	j, _ := newJanitor(t, cfg, nil, janitor.WithFreeSpace(func(string) (int64, error) { return 0, boom }))
	if err := j.Ready(); !errors.Is(err, janitor.ErrNotReady) {
		t.Errorf("Ready before scan = %v, want ErrNotReady", err)
	}
	_, err := j.Scan(t.Context())
	if !errors.Is(err, boom) {
		t.Errorf("Scan error = %v, want boom", err)
	}
	if err := j.Ready(); !errors.Is(err, janitor.ErrNotReady) || !errors.Is(err, boom) {
		t.Errorf("Ready after failed scan = %v, want ErrNotReady wrapping boom", err)
	}
	if !exists(t, f) {
		t.Errorf("%s was removed", f)
	}
}

func TestScanVanishedFile(t *testing.T) {
	root := t.TempDir()
	cfg := config(root)
	cfg.MinFreeBytes = 150
	f1 := put(t, root, "traces", finished(schema.Traces, "w1", 1), 100, 3*time.Second)
	f2 := put(t, root, "traces", finished(schema.Traces, "w1", 2), 100, 2*time.Second)
	// The free-space probe runs after listing: remove f1 behind the
	// janitor's back, as another janitor replica would.
	j, reg := newJanitor(t, cfg, nil, janitor.WithFreeSpace(func(string) (int64, error) {
		return 0, os.Remove(f1)
	}))
	rep, err := j.Scan(t.Context())
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if got, want := rep.Removed, []string{f2}; !slices.Equal(got, want) {
		t.Errorf("Removed = %q, want %q", got, want)
	}
	l := map[string]string{"signal": "traces", "reason": "min_free"}
	if got := metric(t, reg, "otlp_arrow_janitor_files_removed_total", l); got != 1 {
		t.Errorf("files_removed_total%v = %v, want 1", l, got)
	}
}

func TestScanDryRun(t *testing.T) {
	root := t.TempDir()
	cfg := config(root)
	cfg.DryRun = true
	cfg.MaxTotalBytes = 150
	old := put(t, root, "traces", finished(schema.Traces, "w1", 1), 100, time.Hour)
	mid := put(t, root, "logs", finished(schema.Logs, "w1", 1), 100, 30*time.Minute)
	young := put(t, root, "logs", finished(schema.Logs, "w1", 2), 100, time.Minute)

	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	j, reg := newJanitor(t, cfg, log)
	rep, err := j.Scan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rep.Removed, []string{old, mid}; !slices.Equal(got, want) {
		t.Errorf("Removed = %q, want %q", got, want)
	}
	if got, want := rep.Bytes, int64(200); got != want {
		t.Errorf("Bytes = %d, want %d", got, want)
	}
	for _, p := range []string{old, mid, young} {
		if !exists(t, p) {
			t.Errorf("dry run removed %s", p)
		}
	}
	if got, want := strings.Count(logBuf.String(), `msg="would remove"`), 2; got != want {
		t.Errorf("%d 'would remove' lines, want %d:\n%s", got, want, logBuf.String())
	}
	for _, reason := range []string{"age", "max_total_bytes"} {
		for _, sig := range []string{"traces", "logs"} {
			l := map[string]string{"signal": sig, "reason": reason}
			if got := metric(t, reg, "otlp_arrow_janitor_files_removed_total", l); got != 0 {
				t.Errorf("dry run files_removed_total%v = %v, want 0", l, got)
			}
		}
	}
	if got := metric(t, reg, "otlp_arrow_janitor_files", map[string]string{"signal": "logs"}); got != 2 {
		t.Errorf("files{logs} = %v, want 2 (still on disk)", got)
	}
}

func TestScanMissingOutputDir(t *testing.T) {
	j, _ := newJanitor(t, config(filepath.Join(t.TempDir(), "absent")), nil)
	rep, err := j.Scan(t.Context())
	if err != nil || rep.Files != 0 || rep.Kept != 0 {
		t.Errorf("Scan = %+v, %v; want an empty report", rep, err)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	root := t.TempDir()
	cfg := config(root)
	cfg.ScanInterval = 10 * time.Millisecond
	old := put(t, root, "traces", finished(schema.Traces, "w1", 1), 1, time.Hour)
	j, reg := newJanitor(t, cfg, nil)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- j.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for metric(t, reg, "otlp_arrow_janitor_scans_total", nil) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("fewer than 2 scans after 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if exists(t, old) {
		t.Errorf("Run did not remove %s", old)
	}
	if err := j.Ready(); err != nil {
		t.Errorf("Ready: %v", err)
	}
}

func TestValidate(t *testing.T) {
	if err := janitor.DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	tests := []struct {
		name   string
		modify func(*janitor.Config)
		field  string
	}{
		{"output dir", func(c *janitor.Config) { c.OutputDir = "" }, "output_dir"},
		{"negative retention", func(c *janitor.Config) { c.Retention[schema.Traces] = -time.Second }, "retention.traces"},
		{"unknown signal", func(c *janitor.Config) { c.Retention["profiles"] = time.Second }, "retention.profiles"},
		{"max total bytes", func(c *janitor.Config) { c.MaxTotalBytes = -1 }, "max_total_bytes"},
		{"min free bytes", func(c *janitor.Config) { c.MinFreeBytes = -5 }, "min_free_bytes"},
		{"scan interval", func(c *janitor.Config) { c.ScanInterval = 0 }, "scan_interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := janitor.DefaultConfig()
			tt.modify(&cfg)
			err := cfg.Validate()
			if !errors.Is(err, janitor.ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig", err)
			}
			var ce *janitor.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Validate() = %v, want a *ConfigError", err)
			}
			if got, want := ce.Field, tt.field; got != want {
				t.Errorf("Field = %q, want %q", got, want)
			}
			if !strings.Contains(err.Error(), tt.field) || ce.Allowed == "" {
				t.Errorf("error %q does not name %q and what is allowed", err, tt.field)
			}
			if _, err := janitor.New(cfg, nil, nil); !errors.Is(err, janitor.ErrInvalidConfig) {
				t.Errorf("New() = %v, want ErrInvalidConfig", err)
			}
		})
	}

	// Several bad fields are all reported.
	cfg := janitor.DefaultConfig()
	cfg.MaxTotalBytes, cfg.ScanInterval = -1, -1
	err := cfg.Validate()
	for _, f := range []string{"max_total_bytes", "scan_interval"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Validate() = %v, want it to name %s", err, f)
		}
	}
}

func TestNewRegistersOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := janitor.New(janitor.DefaultConfig(), nil, reg); err != nil {
		t.Fatal(err)
	}
	if _, err := janitor.New(janitor.DefaultConfig(), nil, reg); err == nil {
		t.Error("second New on the same registry succeeded, want a registration error")
	}
}
