package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/otlp-arrow/otlp-arrow/deploy/config"
	"github.com/otlp-arrow/otlp-arrow/deploy/pipeline"
	"github.com/otlp-arrow/otlp-arrow/proto/otlpstatus"
	"github.com/otlp-arrow/otlp-arrow/proto/publish"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
	"github.com/otlp-arrow/otlp-arrow/writer"
)

// errClosed is returned for a handle that is not (or no longer) a running
// pipeline.
var errClosed = errors.New("pipeline is shut down")

// Error kinds, as the Python package maps them to exceptions.
const (
	kindConfig       = "config"       // ValueError
	kindInvalid      = "invalid"      // otlp_arrow.InvalidData
	kindBackpressure = "backpressure" // otlp_arrow.Backpressure
	kindClosed       = "closed"       // otlp_arrow.Closed
	kindError        = "error"        // otlp_arrow.Error
)

// kindOf classifies err for the Python side.
func kindOf(err error) string {
	switch {
	case errors.Is(err, config.ErrInvalid), errors.Is(err, writer.ErrInvalidConfig), errors.Is(err, publish.ErrInvalidConfig):
		// The writer and the publisher check a few limits of their own
		// (writer.write_interval at most 30s, for one).
		return kindConfig
	case errors.Is(err, errInvalidData):
		return kindInvalid
	case errors.Is(err, errClosed), errors.Is(err, pipeline.ErrShutdown):
		return kindClosed
	}
	switch c := otlpstatus.Classify(err); {
	case c == otlpstatus.Invalid:
		return kindInvalid
	case c.Retryable(), c == otlpstatus.Deadline:
		return kindBackpressure
	}
	return kindError
}

// pipelines are the running pipelines by handle; handles are never reused.
var pipelines struct {
	sync.RWMutex
	m    map[int64]*pipeline.Pipeline
	next int64
}

func lookup(h int64) (*pipeline.Pipeline, error) {
	pipelines.RLock()
	p := pipelines.m[h]
	pipelines.RUnlock()
	if p == nil {
		return nil, errClosed
	}
	return p, nil
}

// parseConfig reads the options document, YAML or JSON in the
// configuration file's shape, over the embedded API's defaults (the bus
// listens on no port). It also says which top-level sections the document
// names: the janitor runs and the logs go to stderr only when asked for.
// data_dir defaults to <output_dir>/.bus.
func parseConfig(doc []byte) (config.Config, map[string]bool, error) {
	cfg := config.Default()
	cfg.Bus.Port = 0
	if err := config.Parse(bytes.NewReader(doc), &cfg); err != nil {
		return cfg, nil, fmt.Errorf("options: %w", err)
	}
	var top map[string]any
	named := map[string]bool{}
	if yaml.Unmarshal(doc, &top) == nil {
		for k := range top {
			named[k] = true
		}
	}
	if !named["data_dir"] {
		cfg.DataDir = filepath.Join(cfg.OutputDir, ".bus")
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, fmt.Errorf("options: %w", err)
	}
	return cfg, named, nil
}

// start starts a pipeline from the options document and returns its handle.
func start(doc []byte) (int64, error) {
	cfg, named, err := parseConfig(doc)
	if err != nil {
		return 0, err
	}
	opts := []pipeline.Option{pipeline.WithConfig(cfg), pipeline.WithForwarder(true), pipeline.WithJanitor(named["janitor"])}
	if named["log"] {
		opts = append(opts, pipeline.WithLogger(newLogger(cfg.Log)))
	}
	if cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.MemoryLimit - cfg.MemoryLimit/8)
	}
	p, err := pipeline.Start(context.Background(), opts...)
	if err != nil {
		return 0, err
	}
	pipelines.Lock()
	defer pipelines.Unlock()
	if pipelines.m == nil {
		pipelines.m = map[int64]*pipeline.Pipeline{}
	}
	pipelines.next++
	pipelines.m[pipelines.next] = p
	return pipelines.next, nil
}

// newLogger logs to stderr at the configured level and format.
func newLogger(c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // validated already
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// exportResult is what an export answers: the rows taken and refused
// (an OTLP partial success, with the reason).
type exportResult struct {
	Accepted int64  `json:"accepted"`
	Rejected int64  `json:"rejected"`
	Message  string `json:"message,omitempty"`
}

// export decodes data and hands it to the pipeline of handle h; it returns
// once the rows are durable in the bus.
func export(h int64, sig schema.Signal, f Format, data []byte) (exportResult, error) {
	p, err := lookup(h)
	if err != nil {
		return exportResult{}, err
	}
	ctx := context.Background()
	var rows int64
	switch sig {
	case schema.Traces:
		req, n, derr := decodeTraces(f, data)
		if derr != nil {
			return exportResult{}, derr
		}
		rows, err = n, p.ExportTraces(ctx, req)
	case schema.Metrics:
		req, n, derr := decodeMetrics(f, data)
		if derr != nil {
			return exportResult{}, derr
		}
		rows, err = n, p.ExportMetrics(ctx, req)
	case schema.Logs:
		req, n, derr := decodeLogs(f, data)
		if derr != nil {
			return exportResult{}, derr
		}
		rows, err = n, p.ExportLogs(ctx, req)
	default:
		return exportResult{}, fmt.Errorf("%w: unknown signal %q", errInvalidData, sig)
	}
	if rej, ok := errors.AsType[*pipeline.RejectedError](err); ok {
		return exportResult{Accepted: rows - rej.Rejected, Rejected: rej.Rejected, Message: rej.Message}, nil
	}
	if err != nil {
		return exportResult{}, err
	}
	return exportResult{Accepted: rows}, nil
}

// flush waits until everything exported so far is in files.
func flush(h int64, timeout time.Duration) error {
	p, err := lookup(h)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}

// shutdown stops the pipeline of handle h, writing what it holds; a handle
// already shut down is no error.
func shutdown(h int64, timeout time.Duration) error {
	pipelines.Lock()
	p := pipelines.m[h]
	delete(pipelines.m, h)
	pipelines.Unlock()
	if p == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// listen opens the pipeline's receivers and returns their addresses by
// protocol (grpc, http, flight), those that are enabled.
func listen(h int64) (map[string]string, error) {
	p, err := lookup(h)
	if err != nil {
		return nil, err
	}
	if err := p.Listen(); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	addrs := map[string]string{}
	for name, a := range map[string]net.Addr{"grpc": p.GRPCAddr(), "http": p.HTTPAddr(), "flight": p.FlightAddr()} {
		if a != nil {
			addrs[name] = a.String()
		}
	}
	return addrs, nil
}
