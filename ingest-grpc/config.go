package ingest

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// ErrInvalidConfig is wrapped by every error [Config.Validate] returns.
var ErrInvalidConfig = errors.New("ingest: invalid config")

// GRPCConfig configures the OTLP/gRPC listener.
type GRPCConfig struct {
	// Enabled turns the gRPC server on.
	Enabled bool
	// Addr is the host:port to listen on; default 127.0.0.1:4317.
	Addr string
}

// HTTPConfig configures the OTLP/HTTP listener.
type HTTPConfig struct {
	// Enabled turns the HTTP server on.
	Enabled bool
	// Addr is the host:port to listen on; default 127.0.0.1:4319.
	Addr string
}

// Config configures the ingest stage. Start from [DefaultConfig].
type Config struct {
	// GRPC configures the OTLP/gRPC server.
	GRPC GRPCConfig
	// HTTP configures the OTLP/HTTP server.
	HTTP HTTPConfig
	// MaxRequestBytes bounds one decompressed request (gRPC MaxRecvMsgSize
	// too); default 16 MiB. Larger requests get RESOURCE_EXHAUSTED / 413.
	MaxRequestBytes int
	// MaxInflightBytes bounds the uncompressed bytes of all requests being
	// handled at once; default 256 MiB. It must be at least MaxRequestBytes.
	MaxInflightBytes int64
	// MaxPayloadBytes bounds one bus message payload; default 8 MiB - 64 KiB
	// (the embedded server's max payload minus header room).
	MaxPayloadBytes int
	// RetryAfter is the delay hinted to clients on backpressure; default 1s.
	RetryAfter time.Duration
	// AdmitWait is how long a request may wait for room among the bytes in
	// flight before it is answered with backpressure; default 250ms.
	AdmitWait time.Duration
	// ShutdownTimeout bounds the graceful stop of the servers; default 10s.
	ShutdownTimeout time.Duration
}

// Defaults of [Config].
const (
	DefaultGRPCAddr         = "127.0.0.1:4317"
	DefaultHTTPAddr         = "127.0.0.1:4319"
	DefaultMaxRequestBytes  = 16 << 20
	DefaultMaxInflightBytes = 256 << 20
	DefaultMaxPayloadBytes  = 8<<20 - 64<<10
	DefaultRetryAfter       = time.Second
	DefaultAdmitWait        = 250 * time.Millisecond
	DefaultShutdownTimeout  = 10 * time.Second
)

// DefaultConfig returns the defaults: both servers enabled on loopback.
func DefaultConfig() Config {
	return Config{
		GRPC:             GRPCConfig{Enabled: true, Addr: DefaultGRPCAddr},
		HTTP:             HTTPConfig{Enabled: true, Addr: DefaultHTTPAddr},
		MaxRequestBytes:  DefaultMaxRequestBytes,
		MaxInflightBytes: DefaultMaxInflightBytes,
		MaxPayloadBytes:  DefaultMaxPayloadBytes,
		RetryAfter:       DefaultRetryAfter,
		AdmitWait:        DefaultAdmitWait,
		ShutdownTimeout:  DefaultShutdownTimeout,
	}
}

// Validate reports every invalid field, each error naming the field and
// wrapping [ErrInvalidConfig], joined with errors.Join.
func (c Config) Validate() error {
	var errs []error
	bad := func(field string, value any, want string) {
		errs = append(errs, fmt.Errorf("%w: %s = %v: %s", ErrInvalidConfig, field, value, want))
	}
	checkAddr := func(field, addr string) {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad(field, fmt.Sprintf("%q", addr), "want host:port")
		}
	}
	if c.GRPC.Enabled {
		checkAddr("grpc.addr", c.GRPC.Addr)
	}
	if c.HTTP.Enabled {
		checkAddr("http.addr", c.HTTP.Addr)
	}
	if c.MaxRequestBytes <= 0 {
		bad("max_request_bytes", c.MaxRequestBytes, "want > 0")
	}
	if c.MaxInflightBytes < int64(c.MaxRequestBytes) {
		bad("max_inflight_bytes", c.MaxInflightBytes, "want >= max_request_bytes")
	}
	if c.MaxPayloadBytes < 1<<10 {
		bad("max_payload_bytes", c.MaxPayloadBytes, "want >= 1024")
	}
	if c.RetryAfter <= 0 {
		bad("retry_after", c.RetryAfter, "want > 0")
	}
	if c.AdmitWait < 0 {
		bad("admit_wait", c.AdmitWait, "want >= 0")
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout", c.ShutdownTimeout, "want > 0")
	}
	return errors.Join(errs...)
}
