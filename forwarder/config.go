package forward

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Protocols accepted in Config.Protocol.
const (
	ProtocolGRPC        = "grpc"
	ProtocolHTTP        = "http"
	ProtocolProtobuf    = "protobuf" // alias of ProtocolHTTP, as in the seed
	ProtocolArrowFlight = "arrow_flight"
)

// Default values.
const (
	DefaultProtocol         = ProtocolGRPC
	DefaultAPIKeyHeader     = "X-API-Key"
	DefaultCompression      = "gzip"
	DefaultTimeout          = 10 * time.Second
	DefaultInitialInterval  = 500 * time.Millisecond
	DefaultMaxInterval      = 30 * time.Second
	DefaultMultiplier       = 2.0
	DefaultJitterFactor     = 0.2
	DefaultFailureThreshold = 5
	DefaultBreakerDelay     = 30 * time.Second
	DefaultSuccessThreshold = 2
	DefaultShutdownTimeout  = 10 * time.Second
)

// ErrInvalidConfig is wrapped by every error Validate returns.
var ErrInvalidConfig = errors.New("forward: invalid config")

// Config configures a Forwarder. Start from DefaultConfig. The YAML keys
// are the snake_case tags.
type Config struct {
	// Enabled turns forwarding on. A disabled Forwarder's Run waits for its
	// context and does nothing; Validate checks nothing else.
	Enabled bool `yaml:"enabled"`
	// Endpoint of the target; its form depends on Protocol (see the
	// package documentation).
	Endpoint string `yaml:"endpoint"`
	// Protocol is "grpc" (default), "http" (or its alias "protobuf") or
	// "arrow_flight".
	Protocol string `yaml:"protocol"`
	// Signals to forward. Default all three.
	Signals []schema.Signal `yaml:"signals"`
	// SubjectFilter, when set, forwards only messages whose subject matches
	// it (NATS wildcards allowed), e.g. "otlp.traces.checkout"; of a message
	// of several services (otlp.<signal>._mixed), the rows of the services
	// whose own subject would match.
	SubjectFilter string `yaml:"subject_filter"`
	// Headers are added to every request (gRPC metadata, HTTP headers).
	// Their values are secrets (they often carry credentials): redacted in
	// dumps and never logged.
	Headers map[string]Secret `yaml:"headers"`
	// Compression of OTLP requests: "gzip" (default) or "none". Arrow
	// Flight sends the batches as they are.
	Compression string `yaml:"compression"`
	Auth        Auth   `yaml:"auth"`
	TLS         TLS    `yaml:"tls"`
	// Timeout bounds each attempt. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	Retry   Retry         `yaml:"retry"`
	Breaker Breaker       `yaml:"breaker"`
	// Durable is the JetStream durable consumer to pull from. Default
	// bus.DurableForwarder.
	Durable string `yaml:"durable"`
	// ShutdownTimeout bounds the send in flight when Run's context ends.
	// Default 10s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Auth holds the target's credentials. Each secret may be given inline or
// as a file (read once by New, surrounding white space trimmed), not both.
// A bearer token and basic credentials both use the Authorization header
// and cannot be combined.
type Auth struct {
	APIKey     Secret `yaml:"api_key"`
	APIKeyFile string `yaml:"api_key_file"`
	// APIKeyHeader names the header carrying the API key. Default X-API-Key.
	APIKeyHeader      string `yaml:"api_key_header"`
	BearerToken       Secret `yaml:"bearer_token"`
	BearerTokenFile   string `yaml:"bearer_token_file"`
	BasicUser         string `yaml:"basic_user"`
	BasicPassword     Secret `yaml:"basic_password"`
	BasicPasswordFile string `yaml:"basic_password_file"`
}

// TLS configures the connection to the target. TLS itself is chosen by the
// endpoint's scheme (https, grpc+tls, or a bare grpc host:port).
type TLS struct {
	// CAFile holds PEM certificates that verify the server instead of the
	// system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile hold the client certificate, for mutual TLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Insecure makes a bare grpc host:port endpoint plaintext. It must not
	// be combined with a TLS scheme.
	Insecure bool `yaml:"insecure"`
	// InsecureSkipVerify skips server certificate verification.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Retry configures retries of retryable failures: exponential backoff from
// InitialInterval, multiplied by Multiplier up to MaxInterval, each delay
// varied by ±JitterFactor. MaxAttempts bounds the attempts of one round (0:
// no bound, retry until the breaker opens); after a round the message is
// tried again after MaxInterval, so a retryable failure never drops data.
type Retry struct {
	InitialInterval time.Duration `yaml:"initial_interval"`
	MaxInterval     time.Duration `yaml:"max_interval"`
	Multiplier      float64       `yaml:"multiplier"`
	JitterFactor    float64       `yaml:"jitter_factor"`
	MaxAttempts     int           `yaml:"max_attempts"`
}

// Breaker configures the circuit breaker of each signal: FailureThreshold
// consecutive retryable failures open it; after Delay it lets one message
// through (half-open) and closes after SuccessThreshold successes.
type Breaker struct {
	FailureThreshold int           `yaml:"failure_threshold"`
	Delay            time.Duration `yaml:"delay"`
	SuccessThreshold int           `yaml:"success_threshold"`
}

// DefaultConfig returns the default configuration (disabled, grpc).
func DefaultConfig() Config {
	return Config{
		Protocol:    DefaultProtocol,
		Signals:     append([]schema.Signal(nil), schema.Signals...),
		Compression: DefaultCompression,
		Auth:        Auth{APIKeyHeader: DefaultAPIKeyHeader},
		Timeout:     DefaultTimeout,
		Retry: Retry{
			InitialInterval: DefaultInitialInterval,
			MaxInterval:     DefaultMaxInterval,
			Multiplier:      DefaultMultiplier,
			JitterFactor:    DefaultJitterFactor,
		},
		Breaker: Breaker{
			FailureThreshold: DefaultFailureThreshold,
			Delay:            DefaultBreakerDelay,
			SuccessThreshold: DefaultSuccessThreshold,
		},
		Durable:         bus.DurableForwarder,
		ShutdownTimeout: DefaultShutdownTimeout,
	}
}

// protocol returns the canonical protocol name.
func (c Config) protocol() string {
	if c.Protocol == ProtocolProtobuf {
		return ProtocolHTTP
	}
	return c.Protocol
}

// Validate checks every field of an enabled configuration and returns all
// problems joined; each wraps ErrInvalidConfig and names the field, the
// value (never a secret's) and what is allowed.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...)))
	}
	var ep *endpoint
	switch c.protocol() {
	case ProtocolGRPC, ProtocolHTTP, ProtocolArrowFlight:
		var err error
		if ep, err = parseEndpoint(c.protocol(), c.Endpoint, c.TLS.Insecure); err != nil {
			bad("Endpoint", "%v", err)
		}
	default:
		bad("Protocol", "must be grpc, http (or protobuf) or arrow_flight, got %q", c.Protocol)
	}
	if ep != nil && !ep.secure {
		for _, f := range []struct{ name, val string }{
			{"TLS.CAFile", c.TLS.CAFile}, {"TLS.CertFile", c.TLS.CertFile}, {"TLS.KeyFile", c.TLS.KeyFile},
		} {
			if f.val != "" {
				bad(f.name, "set to %q but endpoint %s is plaintext; use a TLS endpoint or remove it", f.val, ep.redacted)
			}
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("TLS.CertFile", "TLS.CertFile and TLS.KeyFile go together")
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
	if c.SubjectFilter != "" {
		if err := validFilter(c.SubjectFilter); err != nil {
			bad("SubjectFilter", "%q: %v", c.SubjectFilter, err)
		} else if !c.filterOverlapsAny() {
			bad("SubjectFilter", "%q matches no subject of the enabled signals %v (subjects are otlp.<signal>.<service>)",
				c.SubjectFilter, c.Signals)
		}
	}
	for k, v := range c.Headers {
		if !validHeaderName(k) {
			bad("Headers", "%q is not a valid header name", k)
		}
		if strings.ContainsAny(string(v), "\r\n\x00") {
			bad("Headers", "the value of %q contains a line break or NUL", k)
		}
	}
	switch c.Compression {
	case "gzip", "none":
	default:
		bad("Compression", "must be gzip or none, got %q", c.Compression)
	}
	errs = append(errs, c.Auth.validate()...)

	if c.Timeout <= 0 {
		bad("Timeout", "must be > 0, got %s", c.Timeout)
	}
	r := c.Retry
	if r.InitialInterval <= 0 {
		bad("Retry.InitialInterval", "must be > 0, got %s", r.InitialInterval)
	}
	if r.MaxInterval < r.InitialInterval {
		bad("Retry.MaxInterval", "must be >= Retry.InitialInterval (%s), got %s", r.InitialInterval, r.MaxInterval)
	}
	if r.Multiplier < 1 {
		bad("Retry.Multiplier", "must be >= 1, got %g", r.Multiplier)
	}
	if r.JitterFactor < 0 || r.JitterFactor >= 1 {
		bad("Retry.JitterFactor", "must be >= 0 and < 1, got %g", r.JitterFactor)
	}
	if r.MaxAttempts < 0 {
		bad("Retry.MaxAttempts", "must be >= 0 (0: until the breaker opens), got %d", r.MaxAttempts)
	}
	b := c.Breaker
	if b.FailureThreshold < 1 {
		bad("Breaker.FailureThreshold", "must be >= 1, got %d", b.FailureThreshold)
	}
	if b.Delay <= 0 {
		bad("Breaker.Delay", "must be > 0, got %s", b.Delay)
	}
	if b.SuccessThreshold < 1 {
		bad("Breaker.SuccessThreshold", "must be >= 1, got %d", b.SuccessThreshold)
	}
	if c.Durable == "" || strings.ContainsAny(c.Durable, ".*> \t") {
		bad("Durable", "must be a non-empty name without '.', '*', '>' or spaces, got %q", c.Durable)
	}
	if c.ShutdownTimeout <= 0 {
		bad("ShutdownTimeout", "must be > 0, got %s", c.ShutdownTimeout)
	}
	return errors.Join(errs...)
}

func (a Auth) validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...)))
	}
	both := func(field, fileField string, inline Secret, file string) {
		if inline != "" && file != "" {
			bad(field, "set both %s and %s; use one", field, fileField)
		}
	}
	both("Auth.APIKey", "Auth.APIKeyFile", a.APIKey, a.APIKeyFile)
	both("Auth.BearerToken", "Auth.BearerTokenFile", a.BearerToken, a.BearerTokenFile)
	both("Auth.BasicPassword", "Auth.BasicPasswordFile", a.BasicPassword, a.BasicPasswordFile)
	hasAPIKey := a.APIKey != "" || a.APIKeyFile != ""
	hasBearer := a.BearerToken != "" || a.BearerTokenFile != ""
	hasBasicPW := a.BasicPassword != "" || a.BasicPasswordFile != ""
	if hasBasicPW && a.BasicUser == "" {
		bad("Auth.BasicUser", "must be set with a basic password")
	}
	if strings.Contains(a.BasicUser, ":") {
		bad("Auth.BasicUser", "must not contain ':', got %q", a.BasicUser)
	}
	hasBasic := a.BasicUser != "" || hasBasicPW
	if hasBearer && hasBasic {
		bad("Auth.BearerToken", "a bearer token and basic credentials both use the Authorization header; set one")
	}
	if hasAPIKey {
		switch {
		case !validHeaderName(a.APIKeyHeader):
			bad("Auth.APIKeyHeader", "%q is not a valid header name", a.APIKeyHeader)
		case (hasBearer || hasBasic) && strings.EqualFold(a.APIKeyHeader, "Authorization"):
			bad("Auth.APIKeyHeader", "Authorization is taken by the bearer token or basic credentials")
		}
	}
	for _, s := range []struct {
		field string
		v     Secret
	}{{"Auth.APIKey", a.APIKey}, {"Auth.BearerToken", a.BearerToken}, {"Auth.BasicPassword", a.BasicPassword}} {
		if strings.ContainsAny(string(s.v), "\r\n\x00") {
			bad(s.field, "contains a line break or NUL")
		}
	}
	return errs
}

// validHeaderName reports whether s is an HTTP token (and so also a valid
// gRPC metadata key once lowercased), not a pseudo or reserved gRPC header.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	l := strings.ToLower(s)
	return !strings.HasPrefix(l, "grpc-") && l != "content-type" && l != "te" &&
		http.CanonicalHeaderKey(s) != "Content-Encoding" && l != "host" && l != "user-agent"
}

// filterOverlapsAny reports whether SubjectFilter can match a subject of
// an enabled signal.
func (c Config) filterOverlapsAny() bool {
	for _, sig := range c.Signals {
		if filterOverlaps(c.SubjectFilter, sig) {
			return true
		}
	}
	return false
}
