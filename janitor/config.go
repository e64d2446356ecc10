package janitor

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Defaults, from the seed.
const (
	DefaultOutputDir       = "./output_dir"
	DefaultTraceRetention  = 600 * time.Second
	DefaultMetricRetention = 3600 * time.Second
	DefaultLogRetention    = 3600 * time.Second
	DefaultScanInterval    = 30 * time.Second
)

// ErrInvalidConfig is wrapped by every error [Config.Validate] returns.
var ErrInvalidConfig = errors.New("janitor: invalid config")

// Config configures a [Janitor]. Start from [DefaultConfig].
type Config struct {
	// OutputDir is the writer's output directory; files live in
	// OutputDir/otlp/<signal>/. Default "./output_dir".
	OutputDir string
	// Retention is how long a finished file of each signal is kept, measured
	// from its modification time. 0, or a signal missing from the map, keeps
	// that signal's files forever. Defaults: traces 600 s, metrics and logs
	// 3600 s.
	Retention map[schema.Signal]time.Duration
	// MaxTotalBytes caps the total size of finished files over all signals;
	// the oldest files are removed until the total is at most this. 0 means
	// no limit.
	MaxTotalBytes int64
	// MinFreeBytes is the free space to keep on the file system holding
	// OutputDir; the oldest files are removed until at least this much is
	// free. 0 means no limit. Measured with statfs(2) (Linux, macOS,
	// FreeBSD); elsewhere a non-zero value makes every scan fail.
	MinFreeBytes int64
	// ScanInterval is the time between two scans. Default 30 s.
	ScanInterval time.Duration
	// DryRun only logs and reports what would be removed.
	DryRun bool
}

// DefaultConfig returns the configuration with the seed's defaults.
func DefaultConfig() Config {
	return Config{
		OutputDir: DefaultOutputDir,
		Retention: map[schema.Signal]time.Duration{
			schema.Traces:  DefaultTraceRetention,
			schema.Metrics: DefaultMetricRetention,
			schema.Logs:    DefaultLogRetention,
		},
		ScanInterval: DefaultScanInterval,
	}
}

// ConfigError describes one invalid field. It wraps [ErrInvalidConfig].
type ConfigError struct {
	Field   string // the configuration key, e.g. "retention.traces"
	Value   any    // the rejected value
	Allowed string // what is allowed
}

// Error implements error.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("janitor: invalid %s %v: %s", e.Field, e.Value, e.Allowed)
}

// Unwrap returns [ErrInvalidConfig].
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// Validate reports every invalid field, joined with [errors.Join]; each is a
// *[ConfigError] wrapping [ErrInvalidConfig]. It returns nil for a valid
// configuration.
func (c Config) Validate() error {
	var errs []error
	bad := func(field string, value any, allowed string) {
		errs = append(errs, &ConfigError{Field: field, Value: value, Allowed: allowed})
	}
	if c.OutputDir == "" {
		bad("output_dir", `""`, "must not be empty")
	}
	sigs := make([]schema.Signal, 0, len(c.Retention))
	for sig := range c.Retention {
		sigs = append(sigs, sig)
	}
	slices.Sort(sigs)
	for _, sig := range sigs {
		d := c.Retention[sig]
		if _, err := schema.ParseSignal(string(sig)); err != nil {
			bad("retention."+string(sig), d, "signal must be traces, metrics or logs")
			continue
		}
		if d < 0 {
			bad("retention."+string(sig), d, "must be >= 0 (0 keeps files forever)")
		}
	}
	if c.MaxTotalBytes < 0 {
		bad("max_total_bytes", c.MaxTotalBytes, "must be >= 0 (0 means no limit)")
	}
	if c.MinFreeBytes < 0 {
		bad("min_free_bytes", c.MinFreeBytes, "must be >= 0 (0 means no limit)")
	}
	if c.ScanInterval <= 0 {
		bad("scan_interval", c.ScanInterval, "must be > 0")
	}
	return errors.Join(errs...)
}
