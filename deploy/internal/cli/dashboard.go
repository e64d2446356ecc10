package cli

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/otlp-arrow/otlp-arrow/dashboard"
	"github.com/otlp-arrow/otlp-arrow/deploy/config"
	"github.com/otlp-arrow/otlp-arrow/deploy/pipeline"
)

// busWait bounds how long the dashboard command waits for the bus at start;
// without it the dashboard serves the files, with no live tail or lag.
const busWait = 15 * time.Second

// dashboardConfig maps the configuration onto the dashboard's; alone: the
// dashboard has the process (and its memory bound) to itself.
func dashboardConfig(c config.Config, addr string, nc *nats.Conn, log *slog.Logger, alone bool) dashboard.Config {
	dc := dashboard.DefaultConfig()
	dc.OutputDir = c.OutputDir
	dc.Addr = addr
	dc.Token = c.Dashboard.Token.Reveal()
	dc.CacheBytes = pipeline.DashboardCacheBytes(c, alone)
	dc.Conn = nc
	dc.Logger = log
	return dc
}

// cmdDashboard runs the dashboard alone over the output directory, with the
// live tail and the consumers' lag from the configured bus when it is
// reachable.
func cmdDashboard(ctx context.Context, env *cmdEnv, args []string) error {
	c, bound, err := loadConfig("dashboard", env, args)
	if err != nil {
		return err
	}
	log := newLogger(env.stderr, c.Log)
	logStart(log, "dashboard", c, bound)
	if err := dashboardConfig(c, c.Dashboard.Addr, nil, log, true).Validate(); err != nil {
		return err
	}
	// /healthz, /readyz and /metrics on the admin address, without the
	// dashboard's token: for probes.
	adm, stopAdmin, err := startAdmin(ctx, c, log)
	if err != nil {
		return err
	}
	defer stopAdmin()
	var nc *nats.Conn
	cctx, cancel := context.WithTimeout(ctx, busWait)
	nc, err = pipeline.ConnectBus(cctx, c, "dashboard", log)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("dashboard without the bus: no live tail, no consumer lag", "err", err)
		nc = nil
	} else {
		defer nc.Close()
	}
	d, err := dashboard.New(dashboardConfig(c, c.Dashboard.Addr, nc, log, true))
	if err != nil {
		return err
	}
	adm.setChecks(nil)
	return d.Run(ctx)
}

// startDashboard mounts the dashboard on run's admin server and runs it in
// the background; the returned func stops it and waits. Off loopback
// without a token it is not mounted (the admin port stays as it was).
func startDashboard(ctx context.Context, c config.Config, adm *admin, nc *nats.Conn, log *slog.Logger) func() {
	if !c.Dashboard.Enabled || adm.srv == nil {
		return func() {}
	}
	dc := dashboardConfig(c, adm.ln.Addr().String(), nc, log, false)
	dc.NoListen = true
	d, err := dashboard.New(dc)
	if err != nil {
		log.Warn("dashboard not served on the admin address", "err", err)
		return func() {}
	}
	adm.mount(d) // the start lines name it
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(dctx); err != nil {
			log.Error("dashboard stopped", "err", err)
		}
	}()
	return func() { cancel(); <-done }
}

// browsable returns addr with an unspecified IP replaced by loopback, for a
// URL to open.
func browsable(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
