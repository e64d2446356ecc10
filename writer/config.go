package writer

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Config configures a Writer. Start from DefaultConfig.
type Config struct {
	// OutputDir is the root of the output; files go to
	// <OutputDir>/otlp/<signal>/. Default "./output_dir".
	OutputDir string
	// WriteInterval is how often buffered messages are flushed; at most 30 s
	// so the consumer's 60 s AckWait never expires under a buffered
	// message. Default 5 s.
	WriteInterval time.Duration
	// MaxBatchRows flushes early at this many buffered rows. Default 100000.
	MaxBatchRows int
	// MaxBatchBytes flushes early at this many buffered payload bytes.
	// Default 64 MiB.
	MaxBatchBytes int64
	// FetchBytes bounds one pull request from the bus, and so the payloads
	// held fetched but not yet buffered; 0: 32 MiB. A message larger than
	// it is pulled alone.
	FetchBytes int
	// MaxFileBytes rotates a file once it reaches this size. Default 256 MiB.
	MaxFileBytes int64
	// MaxFileAge rotates a file once it is this old (checked every
	// WriteInterval). Default 5 min.
	MaxFileAge time.Duration
	// Compression of the IPC buffers, or of the Parquet pages: "zstd"
	// (default), "lz4" or "none".
	Compression string
	// Format of the files: "arrow" (default), Arrow IPC stream files
	// (.arrows), or "parquet", Apache Parquet files (.parquet) holding the
	// same Arrow schema, about a fifth of the bytes for more CPU. Parquet is
	// readable only whole, so every flush writes its own file: MaxFileAge
	// does not apply, and a longer WriteInterval gives fewer, larger files.
	Format string
	// TracesSchema is the layout of the trace files: "v1" (default), the
	// bus's traces/v1 schema, or "v2", traces/v2 (docs/schema.md): the same
	// columns with every string dictionary-encoded, map keys included, for
	// about half the bytes per span and more writer CPU. A v2 file's schema
	// metadata says "otlp.schema": "traces/v2". Pass-through never applies
	// to v2 files (every batch is converted). No effect on Parquet files,
	// whose pages are dictionary-encoded already.
	TracesSchema string
	// Passthrough makes the writer append a payload's record batches to its
	// Arrow file as they are, without decoding (beyond validation) and
	// encoding them again, when each has at least PassthroughRows rows and
	// its buffers are compressed as Compression says (bus.payload_compression
	// equal to Compression). Smaller batches are merged as before. The files
	// then hold a batch per such payload, each with its dictionaries
	// (replacing the ones before, which every reader the README names
	// reads). No effect on Parquet files. Default true (DefaultConfig).
	Passthrough bool
	// PassthroughRows is the smallest record batch Passthrough appends as
	// it is. Default 1024.
	PassthroughRows int
	// WriterID names this writer in file names and its journal. It must be
	// stable across restarts (a StatefulSet pod name, a host name) so a
	// restarted writer finishes its own leftovers, and unique among writers
	// sharing an output directory. Letters, digits, '.', '_' and '-', at
	// most 64, not starting with '.' or '-'. Default: the host name made
	// valid, or "w1".
	WriterID string
	// Durable is the JetStream durable consumer to pull from. Default
	// bus.DurableWriter.
	Durable string
	// Signals to consume. Default all three.
	Signals []schema.Signal
	// ShutdownTimeout bounds the final flush and finalization. Default 30 s.
	ShutdownTimeout time.Duration
}

// Default values.
const (
	DefaultOutputDir       = "./output_dir"
	DefaultWriteInterval   = 5 * time.Second
	DefaultMaxBatchRows    = 100000
	DefaultMaxBatchBytes   = 64 << 20
	DefaultMaxFileBytes    = 256 << 20
	DefaultMaxFileAge      = 5 * time.Minute
	DefaultCompression     = "zstd"
	DefaultFormat          = "arrow"
	DefaultTracesSchema    = "v1"
	DefaultPassthroughRows = 1024
	DefaultShutdownTimeout = 30 * time.Second
	// MaxWriteInterval is the largest WriteInterval Validate accepts.
	MaxWriteInterval = 30 * time.Second
)

// ErrInvalidConfig is wrapped by every error Validate returns.
var ErrInvalidConfig = errors.New("writer: invalid config")

var writerIDRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$`)

// DefaultConfig returns the default configuration.
func DefaultConfig() Config {
	return Config{
		OutputDir:       DefaultOutputDir,
		WriteInterval:   DefaultWriteInterval,
		MaxBatchRows:    DefaultMaxBatchRows,
		MaxBatchBytes:   DefaultMaxBatchBytes,
		MaxFileBytes:    DefaultMaxFileBytes,
		MaxFileAge:      DefaultMaxFileAge,
		Compression:     DefaultCompression,
		Format:          DefaultFormat,
		TracesSchema:    DefaultTracesSchema,
		Passthrough:     true,
		PassthroughRows: DefaultPassthroughRows,
		WriterID:        DefaultWriterID(),
		Durable:         bus.DurableWriter,
		Signals:         append([]schema.Signal(nil), schema.Signals...),
		ShutdownTimeout: DefaultShutdownTimeout,
	}
}

// DefaultWriterID returns the host name made into a valid writer id, or
// "w1" when there is none.
func DefaultWriterID() string {
	h, err := os.Hostname()
	if err != nil {
		return "w1"
	}
	return SanitizeWriterID(h)
}

// SanitizeWriterID turns s into a valid writer id: characters other than
// letters, digits, '.', '_' and '-' become '_', a leading '.' or '-' becomes
// '_', and it is cut to 64 characters. An empty s gives "w1".
func SanitizeWriterID(s string) string {
	var b strings.Builder
	for i, r := range s {
		ok := r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' ||
			(i > 0 && (r == '.' || r == '-')))
		if ok {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 64 {
			break
		}
	}
	if b.Len() == 0 {
		return "w1"
	}
	return b.String()
}

// Validate checks every field and returns all problems joined; each wraps
// ErrInvalidConfig and names the field and the allowed values.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...)))
	}
	if c.OutputDir == "" {
		bad("OutputDir", "must not be empty")
	}
	if c.WriteInterval <= 0 || c.WriteInterval > MaxWriteInterval {
		bad("WriteInterval", "must be > 0 and <= %s, got %s", MaxWriteInterval, c.WriteInterval)
	}
	if c.MaxBatchRows <= 0 {
		bad("MaxBatchRows", "must be > 0, got %d", c.MaxBatchRows)
	}
	if c.MaxBatchBytes <= 0 {
		bad("MaxBatchBytes", "must be > 0, got %d", c.MaxBatchBytes)
	}
	if c.MaxFileBytes <= 0 {
		bad("MaxFileBytes", "must be > 0, got %d", c.MaxFileBytes)
	}
	if c.MaxFileAge <= 0 {
		bad("MaxFileAge", "must be > 0, got %s", c.MaxFileAge)
	}
	switch c.Compression {
	case "zstd", "lz4", "none":
	default:
		bad("Compression", "must be zstd, lz4 or none, got %q", c.Compression)
	}
	switch c.Format {
	case "arrow", "parquet":
	default:
		bad("Format", "must be arrow or parquet, got %q", c.Format)
	}
	switch c.TracesSchema {
	case "v1", "v2":
	default:
		bad("TracesSchema", "must be v1 or v2, got %q", c.TracesSchema)
	}
	if c.Passthrough && c.PassthroughRows <= 0 {
		bad("PassthroughRows", "must be > 0 with Passthrough, got %d", c.PassthroughRows)
	}
	if !writerIDRe.MatchString(c.WriterID) {
		bad("WriterID", "must be 1 to 64 of letters, digits, '.', '_', '-', not starting with '.' or '-', got %q", c.WriterID)
	}
	if c.Durable == "" {
		bad("Durable", "must not be empty")
	}
	if len(c.Signals) == 0 {
		bad("Signals", "must list at least one of traces, metrics, logs")
	}
	seen := map[schema.Signal]bool{}
	for _, s := range c.Signals {
		if _, err := schema.ParseSignal(string(s)); err != nil {
			bad("Signals", "%q is not one of traces, metrics, logs", s)
		} else if seen[s] {
			bad("Signals", "%q is listed twice", s)
		}
		seen[s] = true
	}
	if c.ShutdownTimeout <= 0 {
		bad("ShutdownTimeout", "must be > 0, got %s", c.ShutdownTimeout)
	}
	return errors.Join(errs...)
}
