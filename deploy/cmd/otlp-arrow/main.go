// Command otlp-arrow is the one binary of otlp-arrow: every stage is a
// subcommand (run, bus, ingest-grpc, writer, cat, config). Run
// `otlp-arrow help` for the list.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/otlp-arrow/otlp-arrow/deploy/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
