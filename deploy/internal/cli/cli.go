package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/otlp-arrow/otlp-arrow/deploy/config"
	"github.com/otlp-arrow/otlp-arrow/deploy/internal/bench"
	"github.com/otlp-arrow/otlp-arrow/deploy/internal/demo"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, env *cmdEnv, args []string) error
}

// cmdEnv is what every subcommand gets.
type cmdEnv struct {
	stdout, stderr io.Writer
	environ        []string // nil: the process environment
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"run":           {"run every stage in one process with an embedded bus", cmdRun},
		"bus":           {"run the embedded NATS JetStream server alone", cmdBus},
		"ingest-grpc":   {"run the OTLP/gRPC and OTLP/HTTP receivers", cmdIngestGRPC},
		"writer":        {"run the file writer", cmdWriter},
		"ingest-flight": {"run the Arrow Flight and OTel-Arrow receiver", cmdIngestFlight},
		"forwarder":     {"relay the bus to a remote OTLP or Arrow Flight endpoint", cmdForwarder},
		"janitor":       {"run retention over the output files", cmdJanitor},
		"dashboard":     {"serve the dashboard over the output files (and the bus's live tail)", cmdDashboard},
		"cat":           {"print the rows of Arrow files as JSON lines", cmdCat},
		"query":         {"run SQL over the output directory's files (tables traces, metrics, logs)", cmdQuery},
		"config":        {"config print | config validate FILE", cmdConfig},
		"bench": {"send OTLP/gRPC, OTLP/HTTP or Arrow Flight load and report", func(ctx context.Context, env *cmdEnv, args []string) error {
			return bench.Run(ctx, args, env.stdout, env.stderr)
		}},
		"demo": {"generate sample telemetry with the OpenTelemetry SDK", func(ctx context.Context, env *cmdEnv, args []string) error {
			return demo.Run(ctx, args, env.environ, env.stdout, env.stderr)
		}},
		"health": {"health URL: exit 0 when URL answers 200 (container health checks)", cmdHealth},
	}
}

// Main runs the subcommand named by args[0] and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return mainEnv(ctx, args, &cmdEnv{stdout: stdout, stderr: stderr})
}

func mainEnv(ctx context.Context, args []string, env *cmdEnv) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "otlp-arrow: unknown command %q\n", args[0])
		usage(env.stderr)
		return 2
	}
	if err := c.run(ctx, env, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(env.stderr, "otlp-arrow %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: otlp-arrow COMMAND [--config FILE] [args]")
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "Configuration: --config FILE (YAML), then OTLP_* environment variables; see docs/configuration.md.")
}

// loadConfig parses the common flags of a stage subcommand, loads the
// configuration they name and applies its memory bound: memory_limit in
// the returned configuration is the bound that applies (0: none), and the
// bound says where it came from.
func loadConfig(name string, env *cmdEnv, args []string) (config.Config, memoryBound, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	path := fs.String("config", "", "YAML configuration file")
	if err := fs.Parse(args); err != nil {
		return config.Config{}, memoryBound{}, err
	}
	cfg, err := config.Load(*path, env.environ)
	if err != nil {
		return cfg, memoryBound{}, err
	}
	b := resolveMemoryBound(cfg.MemoryLimit, env.environ, "/")
	cfg.MemoryLimit = b.Bytes
	if b.Runtime {
		// The bound is for the whole process (RSS), the runtime's soft
		// limit for what it manages.
		setMemoryLimit(b.Bytes)
	}
	return cfg, b, nil
}

// newLogger builds the process logger from the log section.
func newLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(c.Level)))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
