package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otlp-arrow/otlp-arrow/deploy/config"
	"github.com/otlp-arrow/otlp-arrow/deploy/pipeline"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// shutdownTimeout bounds the final export and flush after the demo stops.
const shutdownTimeout = 30 * time.Second

// options are the demo's flags.
type options struct {
	config             string
	outputDir, dataDir string
	endpoint           string
	rate               float64
	duration           time.Duration
	metricInterval     time.Duration
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: otlp-arrow demo [flags]")
		fmt.Fprintln(stderr, "Generates traces, metrics and logs of a small shop with the OpenTelemetry SDK.")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.config, "config", "", "YAML configuration file, as for run (OTLP_* variables apply over it)")
	fs.StringVar(&o.outputDir, "output-dir", "", "where the embedded pipeline writes files, over the configuration's output_dir (default ./output_dir)")
	fs.StringVar(&o.dataDir, "data-dir", "", "where the embedded bus keeps its store, over the configuration's data_dir (default ./data)")
	fs.StringVar(&o.endpoint, "endpoint", "", "send over OTLP/gRPC (plaintext) to a running otlp-arrow at host:port, e.g. 127.0.0.1:4317, instead of an embedded pipeline")
	fs.Float64Var(&o.rate, "rate", 20, "spans per second")
	fs.DurationVar(&o.duration, "duration", 0, "how long to run (0: until interrupted)")
	fs.DurationVar(&o.metricInterval, "metric-interval", 5*time.Second, "how often metrics are exported")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if !(o.rate > 0) {
		return o, fmt.Errorf("--rate: must be more than 0, got %v", o.rate)
	}
	if o.duration < 0 {
		return o, fmt.Errorf("--duration: must be 0 or more, got %v", o.duration)
	}
	if o.metricInterval <= 0 {
		return o, fmt.Errorf("--metric-interval: must be more than 0, got %v", o.metricInterval)
	}
	return o, nil
}

// sink makes the exporters of one service's providers.
type sink interface {
	spanExporter(ctx context.Context) (sdktrace.SpanExporter, error)
	metricExporter(ctx context.Context) (sdkmetric.Exporter, error)
	logExporter(ctx context.Context) (sdklog.Exporter, error)
}

// pipelineSink writes into an embedded pipeline.
type pipelineSink struct{ p *pipeline.Pipeline }

func (s pipelineSink) spanExporter(context.Context) (sdktrace.SpanExporter, error) {
	return s.p.SpanExporter(), nil
}

func (s pipelineSink) metricExporter(context.Context) (sdkmetric.Exporter, error) {
	return s.p.MetricExporter(), nil
}

func (s pipelineSink) logExporter(context.Context) (sdklog.Exporter, error) {
	return s.p.LogExporter(), nil
}

// grpcSink sends OTLP/gRPC to endpoint.
type grpcSink struct{ endpoint string }

func (s grpcSink) spanExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.endpoint), otlptracegrpc.WithInsecure())
}

func (s grpcSink) metricExporter(ctx context.Context) (sdkmetric.Exporter, error) {
	return otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(s.endpoint), otlpmetricgrpc.WithInsecure())
}

func (s grpcSink) logExporter(ctx context.Context) (sdklog.Exporter, error) {
	return otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(s.endpoint), otlploggrpc.WithInsecure())
}

// Run runs `otlp-arrow demo` with args (the flags after "demo"). It
// generates telemetry until ctx is done or --duration has passed, then
// exports what the SDK holds, flushes the files and returns nil. With
// --endpoint it sends to a running otlp-arrow instead of starting a
// pipeline.
//
// The embedded pipeline takes its configuration as `run` does: --config,
// then the OTLP_* variables of environ (os.Environ form; nil: the process
// environment), then the demo's own --output-dir and --data-dir.
func Run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	cfg, err := config.Load(o.config, environ)
	if err != nil {
		return err
	}
	if o.outputDir != "" {
		cfg.OutputDir = o.outputDir
	}
	if o.dataDir != "" {
		cfg.DataDir = o.dataDir
	}
	log := newLogger(stderr, cfg.Log)

	var (
		s sink
		p *pipeline.Pipeline
	)
	if o.endpoint != "" {
		s = grpcSink{endpoint: o.endpoint}
		fmt.Fprintf(stdout, "demo: sending OTLP/gRPC to %s at about %v spans/s\n", o.endpoint, o.rate)
	} else {
		p, err = pipeline.Start(ctx, pipeline.WithConfig(cfg), pipeline.WithLogger(log), pipeline.WithConnName("demo"))
		if err != nil {
			return fmt.Errorf("start pipeline: %w", err)
		}
		s = pipelineSink{p: p}
		fmt.Fprintf(stdout, "demo: writing to %s at about %v spans/s\n", filepath.Join(absPath(cfg.OutputDir), "otlp"), o.rate)
	}
	if o.duration > 0 {
		fmt.Fprintf(stdout, "demo: running for %v (Ctrl+C stops earlier)\n", o.duration)
	} else {
		fmt.Fprintln(stdout, "demo: running until Ctrl+C")
	}

	shop, err := newShop(ctx, s, o.metricInterval)
	var stats stats
	if err == nil {
		runCtx, cancel := ctx, context.CancelFunc(func() {})
		if o.duration > 0 {
			runCtx, cancel = context.WithTimeout(ctx, o.duration)
		}
		stats = shop.run(runCtx, o.rate)
		cancel()
	}

	// Stop: the providers export what they hold, then the files are
	// flushed and closed. ctx is done by now, so this runs on its own
	// deadline.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if shop != nil {
		if err := shop.shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down sdk: %w", err))
		}
	}
	if p != nil {
		if err := p.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down pipeline: %w", err))
		}
	}
	fmt.Fprintf(stdout, "demo: sent %d traces, %d spans, %d log records\n", stats.traces, stats.spans, stats.logs)
	if p != nil {
		printFiles(stdout, cfg.OutputDir)
	} else {
		fmt.Fprintln(stdout, "demo: the receiving otlp-arrow writes the files; read them there with: otlp-arrow cat FILE")
	}
	return errors.Join(errs...)
}

// newLogger logs in the configured format; the demo's own lines say what
// happens, so its log holds warnings and errors, and more only with
// log.level debug.
func newLogger(w io.Writer, c config.Log) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelWarn}
	if c.Level == "debug" {
		opts.Level = slog.LevelDebug
	}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// printFiles lists the files of each signal and how to read them.
func printFiles(w io.Writer, outputDir string) {
	var first string
	for _, sig := range schema.Signals {
		dir := filepath.Join(outputDir, "otlp", string(sig))
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".arrows") || strings.HasSuffix(e.Name(), ".parquet") {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		fmt.Fprintf(w, "demo: %d %s files in %s\n", len(names), sig, dir)
		if len(names) > 0 && first == "" {
			first = filepath.Join(dir, names[len(names)-1])
		}
	}
	if first != "" {
		fmt.Fprintf(w, "demo: read them with: otlp-arrow cat %s | head\n", first)
		if strings.HasSuffix(first, ".parquet") {
			fmt.Fprintln(w, "demo: or with pyarrow: pyarrow.parquet.read_table(path); DuckDB: SELECT * FROM 'dir/*.parquet'")
		} else {
			fmt.Fprintln(w, "demo: or with pyarrow: pyarrow.ipc.open_stream(path).read_all(); polars: pl.read_ipc_stream(path)")
		}
	}
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
