package ingestflight

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/ingestauth"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
)

// ErrInvalidConfig is wrapped by every error [Config.Validate] returns.
var ErrInvalidConfig = errors.New("ingestflight: invalid config")

// AuthConfig says who may send. With no tokens (the default) bearer
// authentication is off; see docs/security.md.
type AuthConfig struct {
	// Tokens are the accepted bearer tokens ("authorization: Bearer <t>" in
	// the gRPC metadata of every Flight and OTAP call). They are secrets:
	// [AuthConfig.String] redacts them and nothing logs them.
	Tokens []string
	// TokensFile names a file of more accepted tokens, one per line; blank
	// lines and lines starting with # are ignored. The file is re-read when
	// its modification time or size changes, so tokens rotate without a
	// restart.
	TokensFile string
}

// Enabled reports whether bearer tokens are required.
func (a AuthConfig) Enabled() bool { return len(a.Tokens) > 0 || a.TokensFile != "" }

// String describes a without revealing the tokens.
func (a AuthConfig) String() string {
	return fmt.Sprintf("{Tokens:%d redacted TokensFile:%q}", len(a.Tokens), a.TokensFile)
}

// TLSConfig configures TLS on the listener. With no certificate (the
// default) it speaks plain text.
type TLSConfig struct {
	// CertFile and KeyFile are the server's PEM certificate chain and key.
	CertFile string
	KeyFile  string
	// ClientCAFile, when set, turns on mutual TLS: clients must present a
	// certificate signed by one of these PEM CAs, or the handshake fails.
	ClientCAFile string
}

// Enabled reports whether the listener uses TLS.
func (t TLSConfig) Enabled() bool { return t.CertFile != "" }

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
	// Auth configures bearer token authentication; off by default.
	Auth AuthConfig
	// TLS configures TLS and mutual TLS; off by default.
	TLS TLSConfig
	// MaxConcurrentStreams bounds the concurrent calls (HTTP/2 streams:
	// DoPut or OTAP streams) of one connection; clients queue beyond it.
	// Default 100; 0 means no limit.
	MaxConcurrentStreams uint32
	// MaxInflightBytes bounds the bytes of all Flight messages and OTAP
	// batches received and not yet published; default 64 MiB. It must be at
	// least MaxMessageBytes.
	MaxInflightBytes int64
	// AdmitWait is how long a message may wait for room among the bytes in
	// flight before it is answered with backpressure; default 250ms.
	AdmitWait time.Duration
	// RetryAfter is the delay hinted to clients on backpressure; default 1s.
	RetryAfter time.Duration
	// ShutdownTimeout bounds the graceful stop of the server; default 10s.
	ShutdownTimeout time.Duration
	// PublishTimeout bounds how long one Flight or OTAP batch waits for the
	// bus to acknowledge it; past it the batch is answered with a
	// retryable UNAVAILABLE. Default 5s.
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
	DefaultAddr            = "127.0.0.1:4318"
	DefaultMaxMessageBytes = 16 << 20
	DefaultMaxBatchRows    = 1 << 20
	DefaultMaxPayloadBytes = 8<<20 - 64<<10
	DefaultRetryAfter      = time.Second
	DefaultShutdownTimeout = 10 * time.Second
	DefaultPublishTimeout  = bus.DefaultIngestPublishTimeout

	DefaultMaxConcurrentStreams = 100
	DefaultMaxInflightBytes     = 64 << 20
	DefaultAdmitWait            = 250 * time.Millisecond
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
		PublishTimeout:  DefaultPublishTimeout,

		MaxConcurrentStreams: DefaultMaxConcurrentStreams,
		MaxInflightBytes:     DefaultMaxInflightBytes,
		AdmitWait:            DefaultAdmitWait,
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
	if c.PublishTimeout <= 0 {
		bad("publish_timeout", c.PublishTimeout, "want > 0")
	}
	if _, err := payload.Compression(c.PayloadCompression); err != nil {
		bad("payload_compression", c.PayloadCompression, "want none, lz4 or zstd")
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout", c.ShutdownTimeout, "want > 0")
	}
	if c.MaxInflightBytes < int64(c.MaxMessageBytes) {
		bad("max_inflight_bytes", c.MaxInflightBytes, "want >= max_message_bytes")
	}
	if c.AdmitWait < 0 {
		bad("admit_wait", c.AdmitWait, "want >= 0")
	}
	for i, tok := range c.Auth.Tokens {
		if err := ingestauth.CheckToken(tok); err != nil {
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
