package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/otlp-arrow/otlp-arrow/deploy/config"
	"github.com/otlp-arrow/otlp-arrow/deploy/pipeline"
)

// logStart logs the start of cmd, and at debug level the effective
// configuration (`otlp-arrow config print` shows it too); secrets are
// redacted by config.Secret; and the memory bound that applies, with where
// it came from.
func logStart(log *slog.Logger, cmd string, c config.Config, b memoryBound) {
	log.Info("starting", "command", cmd, "memory_limit", b.String(), "memory_limit_from", b.Source)
	log.Debug("configuration", "config", c)
}

// startAdmin binds the admin address of c and serves it in the background
// (it outlives ctx, so the stages' shutdown is still observable); the
// returned func stops it and waits.
func startAdmin(ctx context.Context, c config.Config, log *slog.Logger) (*admin, func(), error) {
	adm, err := newAdmin(c.Admin.Addr, c.Admin.Pprof)
	if err != nil {
		return nil, nil, err
	}
	adminCtx, stopAdmin := context.WithCancel(context.WithoutCancel(ctx))
	waitAdmin := serveAdmin(adminCtx, adm, log)
	return adm, func() { stopAdmin(); waitAdmin() }, nil
}

// serveAdmin starts the admin server in the background; the returned func
// waits for it to stop.
func serveAdmin(ctx context.Context, a *admin, log *slog.Logger) func() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.serve(ctx, log) }()
	return wg.Wait
}

// stage returns the command that runs one assembly of stages: it loads the
// configuration, lets prepare adjust or check it, logs the start line and
// runs the pipeline with opts until ctx is done.
func stage(name string, prepare func(*config.Config) error, opts ...pipeline.Option) func(context.Context, *cmdEnv, []string) error {
	return func(ctx context.Context, env *cmdEnv, args []string) error {
		c, bound, err := loadConfig(name, env, args)
		if err != nil {
			return err
		}
		if prepare != nil {
			if err := prepare(&c); err != nil {
				return err
			}
		}
		log := newLogger(env.stderr, c.Log)
		logStart(log, name, c, bound)
		return runPipeline(ctx, env, name, c, bound, log, name == "run", opts...)
	}
}

// The stage commands. run holds every stage and the embedded bus; the
// others reach a bus (`bus`, or OTLP_NATS_URL) and run one stage each.
var (
	cmdRun = stage("run", nil, pipeline.WithIngest(true), pipeline.WithFlight(true), pipeline.WithJanitor(true),
		pipeline.WithForwarder(true), pipeline.WithBusListen(true), pipeline.WithConnName("run"))
	cmdIngestGRPC = stage("ingest-grpc", nil, pipeline.WithEmbeddedBus(false), pipeline.WithWriter(false),
		pipeline.WithIngest(true), pipeline.WithConnName("ingest-grpc"))
	cmdWriter       = stage("writer", nil, pipeline.WithEmbeddedBus(false), pipeline.WithConnName("writer"))
	cmdIngestFlight = stage("ingest-flight", func(c *config.Config) error { c.Flight.Enabled = true; return nil },
		pipeline.WithEmbeddedBus(false), pipeline.WithWriter(false), pipeline.WithFlight(true), pipeline.WithConnName("ingest-flight"))
	cmdForwarder = stage("forwarder", func(c *config.Config) error {
		if !c.Forwarder.Enabled {
			return fmt.Errorf("%w: forwarder.enabled = false: set OTLP_FORWARDING_ENABLED=true and OTLP_FORWARDING_ENDPOINT_URL", config.ErrInvalid)
		}
		return nil
	}, pipeline.WithEmbeddedBus(false), pipeline.WithWriter(false), pipeline.WithForwarder(true), pipeline.WithConnName("forwarder"))
	// The janitor needs no bus.
	cmdJanitor = stage("janitor", func(c *config.Config) error { c.Janitor.Enabled = true; return nil },
		pipeline.WithoutBus(), pipeline.WithWriter(false), pipeline.WithJanitor(true))
)

// runPipeline runs a pipeline with the admin server until ctx is done or a
// stage fails, then shuts it down. Once every stage is ready it says where
// to send and where to look (printStart).
func runPipeline(ctx context.Context, env *cmdEnv, name string, c config.Config, bound memoryBound, log *slog.Logger, withDashboard bool, opts ...pipeline.Option) error {
	adm, stopAdmin, err := startAdmin(ctx, c, log)
	if err != nil {
		return err
	}
	defer stopAdmin()
	opts = append([]pipeline.Option{pipeline.WithConfig(c), pipeline.WithLogger(log), pipeline.WithRegisterer(adm.reg)}, opts...)
	p, err := pipeline.Start(ctx, opts...)
	if err != nil {
		return err
	}
	adm.setChecks(p.Checks())
	stopDashboard := func() {}
	if withDashboard {
		stopDashboard = startDashboard(ctx, c, adm, p.NATSConn(), log)
	}
	stopAnnounce := whenReady(ctx, p.Checks(), func() {
		printStart(env.stdout, log, c.Log.Format, name, startLines(p, adm, bound))
	})
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-p.Failed():
		log.Error("a stage failed; stopping", "err", runErr)
	}
	stopAnnounce()
	stopDashboard()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := errors.Join(runErr, p.Shutdown(sctx)); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// shutdownTimeout bounds a drain on SIGTERM; Kubernetes'
// terminationGracePeriodSeconds must be longer.
const shutdownTimeout = 45 * time.Second

// cmdBus runs only the embedded bus, listening for the other stages.
func cmdBus(ctx context.Context, env *cmdEnv, args []string) error {
	c, bound, err := loadConfig("bus", env, args)
	if err != nil {
		return err
	}
	log := newLogger(env.stderr, c.Log)
	logStart(log, "bus", c, bound)
	if c.Bus.Port == 0 {
		return fmt.Errorf("%w: bus.port = 0: the bus command must listen; want 1-65535", config.ErrInvalid)
	}
	// /healthz answers while a clustered bus waits for its peers; /readyz
	// once the streams are declared.
	adm, stopAdmin, err := startAdmin(ctx, c, log)
	if err != nil {
		return err
	}
	defer stopAdmin()
	srv, nc, err := pipeline.StartBus(ctx, c, log)
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	defer nc.Close()
	log.Info("bus listening for NATS clients", "url", srv.ClientURL())
	adm.setChecks([]pipeline.Check{{Name: "bus", Check: func() error {
		if !nc.IsConnected() {
			return fmt.Errorf("bus: %s", nc.Status())
		}
		return nil
	}}})
	<-ctx.Done()
	log.Info("stopped")
	return nil
}

// cmdConfig prints the effective configuration or validates a file.
func cmdConfig(_ context.Context, env *cmdEnv, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: otlp-arrow config print [--config FILE] | config validate FILE")
	}
	switch args[0] {
	case "print":
		c, _, err := loadConfig("config print", env, args[1:])
		if err != nil {
			return err
		}
		return c.Print(env.stdout)
	case "validate":
		if len(args) != 2 {
			return errors.New("usage: otlp-arrow config validate FILE")
		}
		if _, err := config.Load(args[1], []string{}); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "%s: ok\n", args[1])
		return nil
	}
	return fmt.Errorf("unknown config command %q: want print or validate", args[0])
}
