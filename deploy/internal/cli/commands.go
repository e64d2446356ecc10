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

// logStart writes the one start line with the effective configuration;
// secrets are redacted by config.Secret.
func logStart(log *slog.Logger, cmd string, c config.Config) {
	log.Info("starting", "command", cmd, "config", c)
}

// serveAdmin starts the admin server in the background; the returned func
// waits for it to stop.
func serveAdmin(ctx context.Context, a *admin, log *slog.Logger) func() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.serve(ctx, log) }()
	return wg.Wait
}

// cmdRun runs the embedded bus and every stage in one process.
func cmdRun(ctx context.Context, env *cmdEnv, args []string) error {
	c, _, err := loadConfig("run", env, args)
	if err != nil {
		return err
	}
	log := newLogger(env.stderr, c.Log)
	logStart(log, "run", c)
	return runPipeline(ctx, c, log, pipeline.WithIngest(true), pipeline.WithFlight(true), pipeline.WithJanitor(true), pipeline.WithForwarder(true), pipeline.WithBusListen(true), pipeline.WithConnName("run"))
}

// runPipeline runs a pipeline with the admin server until ctx is done or a
// stage fails, then shuts it down.
func runPipeline(ctx context.Context, c config.Config, log *slog.Logger, opts ...pipeline.Option) error {
	adm, err := newAdmin(c.Admin.Addr, c.Admin.Pprof)
	if err != nil {
		return err
	}
	adminCtx, stopAdmin := context.WithCancel(context.WithoutCancel(ctx))
	waitAdmin := serveAdmin(adminCtx, adm, log)
	defer func() { stopAdmin(); waitAdmin() }()
	opts = append([]pipeline.Option{pipeline.WithConfig(c), pipeline.WithLogger(log), pipeline.WithRegisterer(adm.reg)}, opts...)
	p, err := pipeline.Start(ctx, opts...)
	if err != nil {
		return err
	}
	adm.setChecks(p.Checks())
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-p.Failed():
		log.Error("a stage failed; stopping", "err", runErr)
	}
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
	c, _, err := loadConfig("bus", env, args)
	if err != nil {
		return err
	}
	log := newLogger(env.stderr, c.Log)
	logStart(log, "bus", c)
	if c.Bus.Port == 0 {
		return fmt.Errorf("%w: bus.port = 0: the bus command must listen; want 1-65535", config.ErrInvalid)
	}
	adm, err := newAdmin(c.Admin.Addr, c.Admin.Pprof)
	if err != nil {
		return err
	}
	// /healthz answers while a clustered bus waits for its peers; /readyz
	// once the streams are declared.
	adminCtx, stopAdmin := context.WithCancel(context.WithoutCancel(ctx))
	waitAdmin := serveAdmin(adminCtx, adm, log)
	defer func() { stopAdmin(); waitAdmin() }()
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

func cmdIngestGRPC(ctx context.Context, env *cmdEnv, args []string) error {
	c, _, err := loadConfig("ingest-grpc", env, args)
	if err != nil {
		return err
	}
	log := newLogger(env.stderr, c.Log)
	logStart(log, "ingest-grpc", c)
	return runPipeline(ctx, c, log, pipeline.WithEmbeddedBus(false), pipeline.WithWriter(false), pipeline.WithIngest(true), pipeline.WithConnName("ingest-grpc"))
}

func cmdWriter(ctx context.Context, env *cmdEnv, args []string) error {
	c, _, err := loadConfig("writer", env, args)
	if err != nil {
		return err
	}
	log := newLogger(env.stderr, c.Log)
	logStart(log, "writer", c)
	return runPipeline(ctx, c, log, pipeline.WithEmbeddedBus(false), pipeline.WithConnName("writer"))
}

func cmdIngestFlight(ctx context.Context, env *cmdEnv, args []string) error {
	c, _, err := loadConfig("ingest-flight", env, args)
	if err != nil {
		return err
	}
	c.Flight.Enabled = true
	log := newLogger(env.stderr, c.Log)
	logStart(log, "ingest-flight", c)
	return runPipeline(ctx, c, log, pipeline.WithEmbeddedBus(false), pipeline.WithWriter(false), pipeline.WithFlight(true), pipeline.WithConnName("ingest-flight"))
}

// cmdForwarder runs the forwarder alone; forwarding must be configured.
func cmdForwarder(ctx context.Context, env *cmdEnv, args []string) error {
	c, _, err := loadConfig("forwarder", env, args)
	if err != nil {
		return err
	}
	if !c.Forwarder.Enabled {
		return fmt.Errorf("%w: forwarder.enabled = false: set OTLP_FORWARDING_ENABLED=true and OTLP_FORWARDING_ENDPOINT_URL", config.ErrInvalid)
	}
	log := newLogger(env.stderr, c.Log)
	logStart(log, "forwarder", c)
	return runPipeline(ctx, c, log, pipeline.WithEmbeddedBus(false), pipeline.WithWriter(false), pipeline.WithForwarder(true), pipeline.WithConnName("forwarder"))
}

// cmdJanitor runs retention over the files alone; it needs no bus.
func cmdJanitor(ctx context.Context, env *cmdEnv, args []string) error {
	c, _, err := loadConfig("janitor", env, args)
	if err != nil {
		return err
	}
	c.Janitor.Enabled = true
	log := newLogger(env.stderr, c.Log)
	logStart(log, "janitor", c)
	return runPipeline(ctx, c, log, pipeline.WithoutBus(), pipeline.WithWriter(false), pipeline.WithJanitor(true))
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
