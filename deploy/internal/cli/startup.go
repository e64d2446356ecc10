package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/otlp-arrow/otlp-arrow/deploy/pipeline"
)

// startLine is one line of what a stage command says once it is ready: what
// to do (Label, for a person; Key, the attribute of the JSON record) and
// where (Value), with an optional hint.
type startLine struct {
	Key, Label, Value, Hint string
}

// startLines says where to send, where the files go and where to look, for
// what p runs and what adm serves, and the memory bound b. A new line
// (another listener) is one more append here.
func startLines(p *pipeline.Pipeline, adm *admin, b memoryBound) []startLine {
	var ls []startLine
	if a := p.GRPCAddr(); a != nil {
		ls = append(ls, startLine{"otlp_grpc", "OTLP/gRPC", a.String(), "OTEL_EXPORTER_OTLP_ENDPOINT=http://" + a.String()})
	}
	if a := p.HTTPAddr(); a != nil {
		ls = append(ls, startLine{"otlp_http", "OTLP/HTTP", "http://" + a.String(), "POST /v1/traces, /v1/metrics, /v1/logs"})
	}
	if a := p.FlightAddr(); a != nil {
		ls = append(ls, startLine{"arrow_flight", "Arrow Flight", a.String(), "DoPut, and OTel-Arrow (OTAP) streams"})
	}
	if u := p.BusURL(); u != "" {
		ls = append(ls, startLine{"nats", "NATS", u, "subscribe to otlp.<signal>.<service>"})
	}
	if p.Writes() {
		dir := filepath.Join(p.OutputDir(), "otlp")
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		ls = append(ls, startLine{"files", "Files", filepath.Join(dir, "<signal>") + string(filepath.Separator), ""})
	}
	if a := adm.addr(); a != nil {
		ls = append(ls, startLine{"admin", "Admin", "http://" + browsable(a), "/healthz /readyz /metrics"})
		if adm.root {
			ls = append(ls, startLine{"dashboard", "Dashboard", "http://" + browsable(a) + "/", "open it in a browser"})
		}
	}
	return append(ls, startLine{"memory_limit", "Memory bound", b.String(), b.Source})
}

// stopHint is the last line: how to stop, and what stopping does.
const stopHint = "Stop with Ctrl+C (SIGINT) or SIGTERM: ingest stops accepting, accepted data is written, files are finalized."

// printStart says that cmd is ready and lists lines. In text format it
// writes plain lines to w for a person; in JSON format (a log collector
// reads the output, and a plain line would break its parsing) it is one
// record on log, each line an attribute.
func printStart(w io.Writer, log *slog.Logger, format, cmd string, lines []startLine) {
	if format == "json" {
		attrs := make([]any, 0, 2*len(lines)+2)
		attrs = append(attrs, "command", cmd)
		for _, l := range lines {
			attrs = append(attrs, l.Key, l.Value)
		}
		log.Info("ready", attrs...)
		return
	}
	// The hints line up unless a value is long (a path).
	width, vwidth := 0, 0
	for _, l := range lines {
		width = max(width, len(l.Label))
		if len(l.Value) <= 24 {
			vwidth = max(vwidth, len(l.Value))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\notlp-arrow %s is ready.\n", cmd)
	for _, l := range lines {
		line := fmt.Sprintf("  %-*s  %-*s  %s", width, l.Label, vwidth, l.Value, l.Hint)
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	b.WriteString(stopHint + "\n\n")
	_, _ = io.WriteString(w, b.String())
}

// whenReady calls announce once every check passes (what /readyz answers
// 200 to), polling in the background. The returned func stops waiting;
// once it returns, announce is not running and will not run.
func whenReady(ctx context.Context, checks []pipeline.Check, announce func()) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for !ready(checks) {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		announce()
	}()
	return func() { cancel(); wg.Wait() }
}

func ready(checks []pipeline.Check) bool {
	for _, c := range checks {
		if c.Check() != nil {
			return false
		}
	}
	return true
}
