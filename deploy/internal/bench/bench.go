package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Run is `otlp-arrow bench [flags]`: it generates the requests, runs the
// warm-up, waits for the target to drain, measures the load for the
// duration, waits again for the rows to be written, and prints the report
// (table on stdout, JSON where -json says). Progress goes to stderr. It
// returns an error for bad flags or when the target cannot be reached; the
// errors of individual requests are part of the report.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := ParseFlags(args, stderr)
	if err != nil {
		return err
	}
	rep, err := Load(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	if !cfg.Quiet && cfg.JSONPath != "-" {
		rep.WriteTable(stdout)
	}
	switch cfg.JSONPath {
	case "":
	case "-":
		return rep.WriteJSON(stdout)
	default:
		f, err := os.Create(cfg.JSONPath)
		if err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		if err := rep.WriteJSON(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	return nil
}

// Load runs the load cfg describes and returns the report; progress goes to
// stderr.
func Load(ctx context.Context, cfg Config, stderr io.Writer) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Enough distinct requests that a compressor does not see the same rows
	// again within a batch of minPoolRows.
	n := max(cfg.Distinct, cfg.Workers, (minPoolRows+cfg.Batch-1)/cfg.Batch)
	reqs, schemaMsg, err := buildRequests(cfg.build(), n)
	if err != nil {
		return nil, err
	}
	var pbBytes int64
	for _, r := range reqs {
		pbBytes += int64(len(r.pb))
	}
	fmt.Fprintf(stderr, "bench: %s workload: %d distinct %s requests of %d rows over %d resources, %.1f OTLP protobuf bytes per row\n",
		cfg.Workload, len(reqs), cfg.Signal, cfg.Batch, cfg.Resources, float64(pbBytes)/float64(len(reqs)*cfg.Batch))

	conns := make([]conn, 0, cfg.Connections)
	defer func() {
		for _, c := range conns {
			_ = c.close()
		}
	}()
	for range cfg.Connections {
		c, err := dial(cfg, schemaMsg)
		if err != nil {
			return nil, err
		}
		conns = append(conns, c)
	}

	m := newMeter(cfg)
	rep := &Report{Config: reportConfig(cfg), Started: time.Now().UTC(), LoadAvgStart: loadAvg()}
	var seq atomic.Uint64
	seq.Store(uint64(time.Now().UnixNano()) % 1e12)

	if cfg.Warmup > 0 {
		fmt.Fprintf(stderr, "bench: warm-up %s\n", cfg.Warmup)
		now := time.Now()
		if _, err := runLoad(ctx, cfg, conns, reqs, &seq, now.Add(cfg.Warmup), window{}); err != nil {
			return nil, err
		}
		m.drain(ctx, stderr)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	before, err := m.read(ctx)
	if err != nil {
		return nil, err
	}
	stopSampling := m.sampleMax(ctx)
	selfBefore := selfCPU()
	fmt.Fprintf(stderr, "bench: measuring %s\n", cfg.Duration)
	now := time.Now()
	win := window{start: now, end: now.Add(cfg.Duration)}
	results, err := runLoad(ctx, cfg, conns, reqs, &seq, win.end, win)
	if err != nil {
		stopSampling()
		return nil, err
	}
	elapsed := time.Since(win.start)
	loadEnd, err := m.read(ctx)
	selfAfter := selfCPU()
	if err != nil {
		stopSampling()
		return nil, err
	}
	m.drain(ctx, stderr)
	final, err := m.read(ctx)
	procRSS, targetRSS := stopSampling()
	if err != nil {
		return nil, err
	}
	rep.fill(cfg, results, elapsed, before, loadEnd, final, procRSS, targetRSS)
	rep.LoadCPUSeconds = selfAfter - selfBefore
	rep.LoadAvgEnd = loadAvg()
	return rep, nil
}

// minPoolRows is the least number of distinct rows generated.
const minPoolRows = 16384

// meter takes the target's readings.
type meter struct {
	cfg    Config
	client *http.Client
	mu     sync.Mutex
}

func newMeter(cfg Config) *meter {
	return &meter{cfg: cfg, client: &http.Client{Timeout: 5 * time.Second}}
}

func (m *meter) read(ctx context.Context) (sample, error) {
	s := sample{at: time.Now()}
	if m.cfg.MetricsURL != "" {
		mm, err := scrapeMetrics(ctx, m.client, m.cfg.MetricsURL)
		if err != nil {
			return s, err
		}
		s.metrics = mm
	}
	for _, pid := range m.cfg.PIDs {
		s.procs = append(s.procs, readProc(pid))
	}
	if m.cfg.DiskDir != "" {
		s.disk = dirBytes(m.cfg.DiskDir)
	}
	return s, nil
}

// drain waits until the target wrote every row it accepted (with
// -metrics-url, at most -drain), then -settle; the CPU the target spends
// meanwhile is part of the measurement.
func (m *meter) drain(ctx context.Context, stderr io.Writer) {
	if m.cfg.MetricsURL != "" {
		deadline := time.Now().Add(m.cfg.Drain)
		sig := `signal="` + string(m.cfg.Signal) + `"`
		for {
			mm, err := scrapeMetrics(ctx, m.client, m.cfg.MetricsURL)
			if err == nil {
				accepted := sumSeries(mm, "otlp_arrow_ingest_rows_received_total", sig) - sumSeries(mm, "otlp_arrow_ingest_rows_rejected_total", sig)
				written := sumSeries(mm, "otlp_arrow_writer_rows_written_total", sig)
				if written >= accepted {
					break
				}
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				fmt.Fprintf(stderr, "bench: drain: rows written did not catch up within %s\n", m.cfg.Drain)
				break
			}
			sleep(ctx, 100*time.Millisecond)
		}
	}
	sleep(ctx, m.cfg.Settle)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// sampleMax samples the resident memory every 250 ms until the returned
// func is called, which returns the largest seen (bytes): the sum of the
// -pid processes and the target's process_resident_memory_bytes.
func (m *meter) sampleMax(ctx context.Context) func() (procs, target int64) {
	ctx, cancel := context.WithCancel(ctx)
	var maxProcs, maxTarget atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			var rss int64
			for _, pid := range m.cfg.PIDs {
				rss += readProc(pid).rss
			}
			if rss > maxProcs.Load() {
				maxProcs.Store(rss)
			}
			if m.cfg.MetricsURL != "" {
				if mm, err := scrapeMetrics(ctx, m.client, m.cfg.MetricsURL); err == nil {
					if v := int64(mm["process_resident_memory_bytes"]); v > maxTarget.Load() {
						maxTarget.Store(v)
					}
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return func() (int64, int64) { cancel(); wg.Wait(); return maxProcs.Load(), maxTarget.Load() }
}

// percentile returns the p-th percentile (0-100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p / 100 * float64(len(sorted)))
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func sortDurations(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }
