package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of one run; WriteJSON gives it machine-readable,
// WriteTable for people. Rates are per second of the measured window; CPU
// is in seconds (user + system).
type Report struct {
	Config  ReportConfig `json:"config"`
	Started time.Time    `json:"started"`
	Seconds float64      `json:"seconds"` // measured window, including the last answers

	Requests        int64            `json:"requests"`
	RequestsOK      int64            `json:"requests_ok"`
	RowsSent        int64            `json:"rows_sent"`
	RowsAccepted    int64            `json:"rows_accepted"`
	RowsPerSecond   float64          `json:"rows_per_second"`
	OTLPBytesPerRow float64          `json:"otlp_bytes_per_row"` // protobuf size of the same data
	Errors          map[string]int64 `json:"errors,omitempty"`
	LastError       string           `json:"last_error,omitempty"`
	Latency         Latency          `json:"latency_ms"`

	// Target is what the pipeline's /metrics says (when -metrics-url).
	Target *TargetFigures `json:"target,omitempty"`
	// Processes is what /proc says of each -pid, and their sum.
	Processes []ProcFigures `json:"processes,omitempty"`
	ProcTotal *ProcFigures  `json:"processes_total,omitempty"`
	// DiskBytes is the growth of -disk-dir.
	DiskBytes       *int64   `json:"disk_bytes,omitempty"`
	DiskBytesPerRow *float64 `json:"disk_bytes_per_row,omitempty"`

	LoadCPUSeconds float64 `json:"load_tool_cpu_seconds"` // this tool's own CPU while measuring
	LoadAvgStart   float64 `json:"loadavg_start"`
	LoadAvgEnd     float64 `json:"loadavg_end"`
}

// ReportConfig echoes the run's settings.
type ReportConfig struct {
	Label       string  `json:"label,omitempty"`
	Workload    string  `json:"workload"`
	Protocol    string  `json:"protocol"`
	Signal      string  `json:"signal"`
	Endpoint    string  `json:"endpoint"`
	Connections int     `json:"connections"`
	Workers     int     `json:"workers"`
	Rate        float64 `json:"rate_rows_per_second"`
	Batch       int     `json:"batch_rows"`
	Resources   int     `json:"resources_per_request"`
	Services    int     `json:"services"`
	Duration    string  `json:"duration"`
}

// Latency holds request latency percentiles (request sent to OK answered),
// in milliseconds, over the successful requests.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// TargetFigures are the pipeline's own counters over the measurement: from
// the start of the measured load to the end of the drain (all rows written).
type TargetFigures struct {
	CPUSeconds           float64 `json:"cpu_seconds"`
	CPUSecondsAtLoadEnd  float64 `json:"cpu_seconds_at_load_end"`
	CPUPerMillionRows    float64 `json:"cpu_seconds_per_million_rows"`
	RSSBytesMax          int64   `json:"rss_bytes_max"`
	RowsWritten          int64   `json:"rows_written"`
	BytesWritten         int64   `json:"bytes_written"`
	DiskBytesPerRow      float64 `json:"disk_bytes_per_row"`
	DiskVsOTLP           float64 `json:"disk_vs_otlp_ratio"`
	RowsWrittenPerSecond float64 `json:"rows_written_per_second"`
}

// ProcFigures are one process's figures from /proc.
type ProcFigures struct {
	PID               int     `json:"pid,omitempty"`
	CPUSeconds        float64 `json:"cpu_seconds"`
	CPUPerMillionRows float64 `json:"cpu_seconds_per_million_rows"`
	RSSBytesEnd       int64   `json:"rss_bytes_end"`
	RSSBytesMax       int64   `json:"rss_bytes_max,omitempty"`
	Error             string  `json:"error,omitempty"`
}

func reportConfig(c Config) ReportConfig {
	return ReportConfig{Label: c.Label, Workload: c.Workload, Services: c.Services, Protocol: c.Protocol, Signal: string(c.Signal), Endpoint: c.Endpoint,
		Connections: c.Connections, Workers: c.Workers, Rate: c.Rate, Batch: c.Batch, Resources: c.Resources,
		Duration: c.Duration.String()}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// fill computes the report from the workers' results and the readings.
func (r *Report) fill(cfg Config, results []*workerResult, elapsed time.Duration, before, loadEnd, final sample, procRSS, targetRSS int64) {
	r.Seconds = elapsed.Seconds()
	var lats []time.Duration
	var sentBytes int64
	for _, w := range results {
		if w == nil {
			continue
		}
		r.Requests += w.requests
		r.RowsSent += w.sentRows
		r.RowsAccepted += w.rows
		sentBytes += w.sentBytes
		lats = append(lats, w.latencies...)
		for code, n := range w.errors {
			if r.Errors == nil {
				r.Errors = map[string]int64{}
			}
			r.Errors[code] += n
		}
		if w.lastErr != nil {
			r.LastError = w.lastErr.Error()
		}
	}
	r.RequestsOK = int64(len(lats))
	if r.Seconds > 0 {
		r.RowsPerSecond = float64(r.RowsAccepted) / r.Seconds
	}
	if r.RowsSent > 0 {
		r.OTLPBytesPerRow = float64(sentBytes) / float64(r.RowsSent)
	}
	sortDurations(lats)
	r.Latency = Latency{P50: ms(percentile(lats, 50)), P90: ms(percentile(lats, 90)), P99: ms(percentile(lats, 99)),
		P999: ms(percentile(lats, 99.9))}
	if len(lats) > 0 {
		r.Latency.Max = ms(lats[len(lats)-1])
	}

	rows := float64(r.RowsAccepted)
	perMillion := func(cpu, rows float64) float64 {
		if rows <= 0 {
			return 0
		}
		return cpu / rows * 1e6
	}
	if cfg.MetricsURL != "" {
		sig := `signal="` + string(cfg.Signal) + `"`
		d := func(s sample, name string, match ...string) float64 {
			return sumSeries(s.metrics, name, match...) - sumSeries(before.metrics, name, match...)
		}
		t := &TargetFigures{
			CPUSeconds:          d(final, "process_cpu_seconds_total"),
			CPUSecondsAtLoadEnd: d(loadEnd, "process_cpu_seconds_total"),
			RowsWritten:         int64(d(final, "otlp_arrow_writer_rows_written_total", sig)),
			BytesWritten:        int64(d(final, "otlp_arrow_writer_bytes_written_total", sig)),
		}
		t.RSSBytesMax = max(targetRSS, int64(final.metrics["process_resident_memory_bytes"]))
		written := float64(t.RowsWritten)
		t.CPUPerMillionRows = perMillion(t.CPUSeconds, max(written, rows))
		if written > 0 {
			t.DiskBytesPerRow = float64(t.BytesWritten) / written
			if r.OTLPBytesPerRow > 0 {
				t.DiskVsOTLP = t.DiskBytesPerRow / r.OTLPBytesPerRow
			}
		}
		if r.Seconds > 0 {
			t.RowsWrittenPerSecond = written / r.Seconds
		}
		r.Target = t
	}
	if len(cfg.PIDs) > 0 {
		total := &ProcFigures{RSSBytesMax: procRSS}
		for i, p := range final.procs {
			f := ProcFigures{PID: p.pid, RSSBytesEnd: p.rss}
			if !p.ok || !before.procs[i].ok {
				f.Error = p.readErr + before.procs[i].readErr
			} else {
				f.CPUSeconds = p.cpu - before.procs[i].cpu
				f.CPUPerMillionRows = perMillion(f.CPUSeconds, rows)
			}
			total.CPUSeconds += f.CPUSeconds
			total.RSSBytesEnd += f.RSSBytesEnd
			r.Processes = append(r.Processes, f)
		}
		total.CPUPerMillionRows = perMillion(total.CPUSeconds, rows)
		r.ProcTotal = total
	}
	if cfg.DiskDir != "" {
		n := final.disk - before.disk
		r.DiskBytes = &n
		if rows > 0 {
			v := float64(n) / rows
			r.DiskBytesPerRow = &v
		}
	}
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// WriteTable writes the report as an aligned table.
func (r *Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	c := r.Config
	row := func(k string, format string, a ...any) {
		fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, a...)...)
	}
	if c.Label != "" {
		row("label", "%s", c.Label)
	}
	rate := "full speed"
	if c.Rate > 0 {
		rate = fmt.Sprintf("%.0f rows/s", c.Rate)
	}
	row("load", "%s %s -> %s, %d rows/request, %d connections, %d workers, %s, %s", c.Protocol, c.Signal, c.Endpoint, c.Batch, c.Connections, c.Workers, rate, c.Duration)
	row("requests", "%d (%d ok)", r.Requests, r.RequestsOK)
	row("rows accepted", "%d (%.0f rows/s)", r.RowsAccepted, r.RowsPerSecond)
	row("OTLP bytes/row", "%.1f", r.OTLPBytesPerRow)
	row("latency ms", "p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.P999, r.Latency.Max)
	if len(r.Errors) > 0 {
		codes := make([]string, 0, len(r.Errors))
		for k, v := range r.Errors {
			codes = append(codes, fmt.Sprintf("%s=%d", k, v))
		}
		sort.Strings(codes)
		row("errors", "%s", strings.Join(codes, " "))
		row("last error", "%s", r.LastError)
	}
	if t := r.Target; t != nil {
		row("target cpu", "%.2f s (%.2f at load end), %.2f s per million rows", t.CPUSeconds, t.CPUSecondsAtLoadEnd, t.CPUPerMillionRows)
		row("target rss max", "%.1f MiB", float64(t.RSSBytesMax)/(1<<20))
		row("rows written", "%d (%.0f rows/s), %d bytes, %.1f bytes/row (%.2fx OTLP)", t.RowsWritten, t.RowsWrittenPerSecond, t.BytesWritten, t.DiskBytesPerRow, t.DiskVsOTLP)
	}
	for _, p := range r.Processes {
		if p.Error != "" {
			row(fmt.Sprintf("pid %d", p.PID), "error: %s", p.Error)
			continue
		}
		row(fmt.Sprintf("pid %d", p.PID), "cpu %.2f s, %.2f s per million rows, rss %.1f MiB", p.CPUSeconds, p.CPUPerMillionRows, float64(p.RSSBytesEnd)/(1<<20))
	}
	if p := r.ProcTotal; p != nil {
		row("processes", "cpu %.2f s, %.2f s per million rows, rss max %.1f MiB", p.CPUSeconds, p.CPUPerMillionRows, float64(p.RSSBytesMax)/(1<<20))
	}
	if r.DiskBytes != nil {
		per := 0.0
		if r.DiskBytesPerRow != nil {
			per = *r.DiskBytesPerRow
		}
		row("disk", "%d bytes, %.1f bytes/row", *r.DiskBytes, per)
	}
	row("load tool cpu", "%.2f s", r.LoadCPUSeconds)
	row("loadavg", "%.2f -> %.2f", r.LoadAvgStart, r.LoadAvgEnd)
	_ = tw.Flush()
}
