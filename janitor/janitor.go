package janitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrNotReady is wrapped by [Janitor.Ready] before the first scan and after
// a scan that failed.
var ErrNotReady = errors.New("janitor: not ready")

// FreeSpaceFunc returns the bytes available on the file system holding dir.
type FreeSpaceFunc func(dir string) (int64, error)

// Option changes how a [Janitor] observes the world; tests use them.
type Option func(*Janitor)

// WithClock makes the janitor read the current time from now instead of
// [time.Now]. Ages are measured against it; the scan interval is not.
func WithClock(now func() time.Time) Option {
	return func(j *Janitor) { j.now = now }
}

// WithFreeSpace makes the janitor measure free space with fn instead of
// statfs(2).
func WithFreeSpace(fn FreeSpaceFunc) Option {
	return func(j *Janitor) { j.freeSpace = fn }
}

// Janitor removes old files from the writer's output directory. Create it
// with [New]; its methods are safe for concurrent use, and scans never
// overlap.
type Janitor struct {
	cfg       Config
	log       *slog.Logger
	m         *metrics
	now       func() time.Time
	freeSpace FreeSpaceFunc

	scanMu sync.Mutex // serialises scans

	stateMu sync.Mutex
	scanned bool  // a scan has finished
	lastErr error // error of the last scan
}

// New validates cfg and returns a janitor. log may be nil (nothing is
// logged); reg may be nil (metrics are kept but not registered). New fails
// with an error wrapping [ErrInvalidConfig] for an invalid cfg, or when the
// metrics cannot be registered with reg.
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer, opts ...Option) (*Janitor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Retention = maps.Clone(cfg.Retention)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	j := &Janitor{cfg: cfg, log: log, m: m, now: time.Now, freeSpace: statfsFree}
	for _, o := range opts {
		o(j)
	}
	return j, nil
}

// Run scans at once and then every [Config.ScanInterval] until ctx is done,
// and returns nil. A failed scan is logged at warn level and retried at the
// next interval.
func (j *Janitor) Run(ctx context.Context) error {
	j.log.Info("janitor started", "output_dir", j.cfg.OutputDir,
		"scan_interval", j.cfg.ScanInterval, "dry_run", j.cfg.DryRun)
	defer j.log.Info("janitor stopped")
	t := time.NewTicker(j.cfg.ScanInterval)
	defer t.Stop()
	for {
		if _, err := j.Scan(ctx); err != nil && ctx.Err() == nil {
			j.log.Warn("janitor scan failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Ready returns nil once a scan has succeeded and the last scan succeeded;
// otherwise an error wrapping [ErrNotReady] (and the scan's error).
func (j *Janitor) Ready() error {
	j.stateMu.Lock()
	defer j.stateMu.Unlock()
	switch {
	case !j.scanned:
		return fmt.Errorf("%w: no scan has finished yet", ErrNotReady)
	case j.lastErr != nil:
		return fmt.Errorf("%w: last scan: %w", ErrNotReady, j.lastErr)
	}
	return nil
}

// setState records the outcome of a scan for Ready.
func (j *Janitor) setState(err error) {
	j.stateMu.Lock()
	defer j.stateMu.Unlock()
	j.scanned = true
	j.lastErr = err
}
