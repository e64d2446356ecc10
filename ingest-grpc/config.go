package ingest

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/publish"
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

// AuthConfig says who may send. With no tokens (the default) bearer
// authentication is off; see docs/security.md.
type AuthConfig struct {
	// Tokens are the accepted bearer tokens ("authorization: Bearer <t>" on
	// gRPC metadata and HTTP headers). They are secrets: [AuthConfig.String]
	// redacts them and nothing logs them.
	Tokens []string
	// TokensFile names a file of more accepted tokens, one per line; blank
	// lines and lines starting with # are ignored. The file is re-read when
	// its modification time changes, so tokens rotate without a restart.
	TokensFile string
}

// Enabled reports whether bearer tokens are required.
func (a AuthConfig) Enabled() bool { return len(a.Tokens) > 0 || a.TokensFile != "" }

// String describes a without revealing the tokens.
func (a AuthConfig) String() string {
	return fmt.Sprintf("{Tokens:%d redacted TokensFile:%q}", len(a.Tokens), a.TokensFile)
}

// TLSConfig configures TLS on both listeners. With no certificate (the
// default) the listeners speak plain text.
type TLSConfig struct {
	// CertFile and KeyFile are the server's PEM certificate chain and key.
	CertFile string
	KeyFile  string
	// ClientCAFile, when set, turns on mutual TLS: clients must present a
	// certificate signed by one of these PEM CAs, or the handshake fails.
	ClientCAFile string
}

// Enabled reports whether the listeners use TLS.
func (t TLSConfig) Enabled() bool { return t.CertFile != "" }

// Config configures the ingest stage. Start from [DefaultConfig].
type Config struct {
	// GRPC configures the OTLP/gRPC server.
	GRPC GRPCConfig
	// HTTP configures the OTLP/HTTP server.
	HTTP HTTPConfig
	// Auth configures bearer token authentication; off by default.
	Auth AuthConfig
	// TLS configures TLS and mutual TLS; off by default.
	TLS TLSConfig
	// MaxAttributes bounds each attribute set of a request; attributes
	// beyond it are dropped and counted. Default 1024; 0 means no limit.
	MaxAttributes int
	// MaxAttributeValueLength bounds string and bytes attribute values in
	// bytes; longer values are truncated and counted. Default 64 KiB; 0
	// means no limit.
	MaxAttributeValueLength int
	// MaxConcurrentStreams bounds the concurrent requests (HTTP/2 streams)
	// of one gRPC or HTTP/2 connection; clients queue beyond it. Default
	// 100; 0 means no limit.
	MaxConcurrentStreams uint32
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
	// PublishTimeout bounds how long a request waits for the bus to
	// acknowledge its rows (also at most 9/10 of a gRPC client's deadline);
	// past it the client gets a retryable UNAVAILABLE (HTTP 503) instead
	// of its own timeout. Default 5s.
	PublishTimeout time.Duration
	// PayloadCompression compresses the buffers of the Arrow IPC payloads
	// published on the bus: "" or "lz4" (the default) or "zstd" (readers
	// need that codec; less for the bus to copy and store), or "none"
	// (every Arrow reader reads them). See docs/bus.md.
	PayloadCompression string
	// PerServiceMessages keeps every bus message to one service's rows (see
	// publish.Config.PerServiceMessages). By default concurrent requests of
	// several services share messages.
	PerServiceMessages bool
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
	DefaultPublishTimeout   = bus.DefaultIngestPublishTimeout

	DefaultMaxAttributes           = publish.DefaultMaxAttributes
	DefaultMaxAttributeValueLength = publish.DefaultMaxAttributeValueLength
	DefaultMaxConcurrentStreams    = 100
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
		PublishTimeout:   DefaultPublishTimeout,

		MaxAttributes:           DefaultMaxAttributes,
		MaxAttributeValueLength: DefaultMaxAttributeValueLength,
		MaxConcurrentStreams:    DefaultMaxConcurrentStreams,
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
	if c.PublishTimeout <= 0 {
		bad("publish_timeout", c.PublishTimeout, "want > 0")
	}
	if _, err := payload.Compression(c.PayloadCompression); err != nil {
		bad("payload_compression", c.PayloadCompression, "want none, lz4 or zstd")
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout", c.ShutdownTimeout, "want > 0")
	}
	if c.MaxAttributes < 0 {
		bad("max_attributes", c.MaxAttributes, "want >= 0 (0: no limit)")
	}
	if c.MaxAttributeValueLength < 0 {
		bad("max_attribute_value_length", c.MaxAttributeValueLength, "want >= 0 (0: no limit)")
	}
	for i, tok := range c.Auth.Tokens {
		if err := checkToken(tok); err != nil {
			bad(fmt.Sprintf("auth_tokens[%d]", i), "[redacted]", err.Error())
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls_key_file", fmt.Sprintf("%q", c.TLS.KeyFile), "want tls_cert_file and tls_key_file together")
	}
	if c.TLS.ClientCAFile != "" && c.TLS.CertFile == "" {
		bad("tls_client_ca_file", fmt.Sprintf("%q", c.TLS.ClientCAFile), "want tls_cert_file and tls_key_file too (mutual TLS needs TLS)")
	}
	return errors.Join(errs...)
}
