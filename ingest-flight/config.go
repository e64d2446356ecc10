package ingestflight

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// ErrInvalidConfig is wrapped by every error [Config.Validate] returns.
var ErrInvalidConfig = errors.New("ingestflight: invalid config")

// Config configures the Flight and OTAP server. Start from [DefaultConfig].
type Config struct {
	// Addr is the host:port to listen on; default 127.0.0.1:4318.
	Addr string
	// Enabled turns the server on. A disabled Service's Run waits for its
	// context and returns nil.
	Enabled bool
	// MaxMessageBytes bounds one gRPC message (a Flight batch, an OTAP
	// BatchArrowRecords): gRPC MaxRecvMsgSize; default 16 MiB.
	MaxMessageBytes int
	// MaxBatchRows bounds the rows of one Flight batch; default 1 Mi rows.
	MaxBatchRows int64
	// MaxPayloadBytes bounds one bus message payload; default 8 MiB - 64 KiB
	// (the embedded server's max payload minus header room).
	MaxPayloadBytes int
	// RetryAfter is the delay hinted to clients on backpressure; default 1s.
	RetryAfter time.Duration
	// ShutdownTimeout bounds the graceful stop of the server; default 10s.
	ShutdownTimeout time.Duration
}

// Defaults of [Config].
const (
	DefaultAddr            = "127.0.0.1:4318"
	DefaultMaxMessageBytes = 16 << 20
	DefaultMaxBatchRows    = 1 << 20
	DefaultMaxPayloadBytes = 8<<20 - 64<<10
	DefaultRetryAfter      = time.Second
	DefaultShutdownTimeout = 10 * time.Second
)

// DefaultConfig returns the defaults: enabled on 127.0.0.1:4318.
func DefaultConfig() Config {
	return Config{
		Addr:            DefaultAddr,
		Enabled:         true,
		MaxMessageBytes: DefaultMaxMessageBytes,
		MaxBatchRows:    DefaultMaxBatchRows,
		MaxPayloadBytes: DefaultMaxPayloadBytes,
		RetryAfter:      DefaultRetryAfter,
		ShutdownTimeout: DefaultShutdownTimeout,
	}
}

// Validate reports every invalid field, each error naming the field and
// wrapping [ErrInvalidConfig], joined with errors.Join.
func (c Config) Validate() error {
	var errs []error
	bad := func(field string, value any, want string) {
		errs = append(errs, fmt.Errorf("%w: %s = %v: %s", ErrInvalidConfig, field, value, want))
	}
	if c.Enabled {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			bad("addr", fmt.Sprintf("%q", c.Addr), "want host:port")
		}
	}
	if c.MaxMessageBytes < 1<<10 {
		bad("max_message_bytes", c.MaxMessageBytes, "want >= 1024")
	}
	if c.MaxBatchRows <= 0 {
		bad("max_batch_rows", c.MaxBatchRows, "want > 0")
	}
	if c.MaxPayloadBytes < 1<<10 {
		bad("max_payload_bytes", c.MaxPayloadBytes, "want >= 1024")
	}
	if c.RetryAfter <= 0 {
		bad("retry_after", c.RetryAfter, "want > 0")
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout", c.ShutdownTimeout, "want > 0")
	}
	return errors.Join(errs...)
}
