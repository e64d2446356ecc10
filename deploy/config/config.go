// Package config is otlp-arrow's configuration: one YAML file with a section
// per stage, OTLP_* environment variables over it, and defaults that follow
// the seed service. Every stage of the binary and the embedded API read it.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	forward "github.com/otlp-arrow/otlp-arrow/forwarder"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
)

// ErrInvalid is wrapped by every configuration error.
var ErrInvalid = errors.New("config: invalid")

// Config is the whole configuration. The YAML keys are the snake_case field
// tags; docs/configuration.md and config.example.yaml describe each.
type Config struct {
	// OutputDir is where the writer puts files: <output_dir>/otlp/<signal>/.
	OutputDir string `yaml:"output_dir"`
	// DataDir holds the embedded bus's JetStream store (<data_dir>/jetstream).
	DataDir string `yaml:"data_dir"`
	// MemoryLimit bounds the process's memory (RSS) in bytes; 0: no bound;
	// MemoryLimitDefault (-1, the default): derived at start from
	// GOMEMLIMIT, else the container's (cgroup's) memory limit, else a fixed
	// default (see docs/operations.md). It sets the Go runtime's soft memory
	// limit a little under it and caps the buffers that grow with load to
	// shares of it (ingest bytes in flight, the writer's batches and pulls),
	// so overload turns into retryable answers, not growth.
	MemoryLimit int64   `yaml:"memory_limit" unit:"bytes"`
	Log         Log     `yaml:"log"`
	Bus         Bus     `yaml:"bus"`
	Ingest      Ingest  `yaml:"ingest_grpc"`
	Flight      Flight  `yaml:"ingest_flight"`
	Writer      Writer  `yaml:"writer"`
	Janitor     Janitor `yaml:"janitor"`
	// Forwarder relays what arrives to a remote OTLP or Arrow Flight
	// endpoint; its keys are documented in the forwarder package.
	Forwarder forward.Config `yaml:"forwarder"`
	Admin     Admin          `yaml:"admin"`
	Dashboard Dashboard      `yaml:"dashboard"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Admin configures the admin HTTP server (health, readiness, metrics).
type Admin struct {
	Addr string `yaml:"addr"` // host:port, default 127.0.0.1:8080; "" turns it off
	// Pprof serves /debug/pprof/ on the admin address (for profiling).
	Pprof bool `yaml:"pprof"`
}

// Dashboard configures the dashboard: `run` serves it on the admin address
// at /, the `dashboard` command on its own address.
type Dashboard struct {
	// Enabled serves the dashboard from `run` (default true).
	Enabled bool `yaml:"enabled"`
	// Addr is the `dashboard` command's listen address (default
	// 127.0.0.1:8090).
	Addr string `yaml:"addr"`
	// Token is required from browsers when the dashboard is reachable off
	// loopback (there it refuses to start without one).
	Token Secret `yaml:"token"`
	// CacheBytes bounds the decoded file contents the dashboard keeps in
	// memory for its queries (default 512 MiB).
	CacheBytes int64 `yaml:"cache_bytes"`
}

// Bus configures the message bus: an external NATS server, or the embedded one.
type Bus struct {
	// URL of an external NATS server (several comma-separated); empty starts
	// the embedded server in `run` and `bus`.
	URL       string `yaml:"url"`
	CredsFile string `yaml:"creds_file"`
	User      string `yaml:"user"`
	Password  Secret `yaml:"password"`
	Token     Secret `yaml:"token"`
	TLSCA     string `yaml:"tls_ca_file"`
	TLSCert   string `yaml:"tls_cert_file"`
	TLSKey    string `yaml:"tls_key_file"`
	// NKeySeedFile holds an NKey user seed (SU...) the stages connect
	// with; the embedded server allows its public key.
	NKeySeedFile string `yaml:"nkey_seed_file"`
	// The embedded server's TLS (cert and key together; a client CA turns
	// on mutual TLS). User/Password, Token and NKeySeedFile above are
	// required by the embedded server as well. See docs/security.md.
	ServerTLSCert     string `yaml:"server_tls_cert_file"`
	ServerTLSKey      string `yaml:"server_tls_key_file"`
	ServerTLSClientCA string `yaml:"server_tls_client_ca_file"`
	// Host and Port where the embedded server listens for NATS clients;
	// Port 0 turns listening off (in-process clients only).
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// SyncInterval is "always" (every write synced to disk before it is
	// acknowledged) or a duration between syncs.
	SyncInterval string `yaml:"sync_interval"`
	// PayloadCompression is the buffer compression of the Arrow IPC
	// payloads the ingest stages publish: "lz4" (the default) or "zstd"
	// (readers need that codec; the bus copies and stores less), or "none"
	// (every Arrow reader reads them). See docs/bus.md.
	PayloadCompression string `yaml:"payload_compression"`
	// PerServiceMessages keeps every bus message to one service's rows, so
	// that every subject names its service (contract 1's layout), at the
	// cost of smaller messages: by default concurrent requests of several
	// services share messages. See docs/bus.md.
	PerServiceMessages bool `yaml:"per_service_messages"`
	// MaxPayload is the embedded server's max message size in bytes.
	MaxPayload int `yaml:"max_payload" unit:"bytes"`
	// MaxStore bounds the embedded server's JetStream file store in bytes
	// (0: the server's default, most of the disk): with it the bus pushes
	// back before the disk fills.
	MaxStore int64 `yaml:"max_store" unit:"bytes"`
	// Streams are the limits of each signal's stream.
	MaxBytes        int64         `yaml:"stream_max_bytes" unit:"bytes"`
	MaxAge          time.Duration `yaml:"stream_max_age"`
	Replicas        int           `yaml:"stream_replicas"`
	DuplicateWindow time.Duration `yaml:"duplicate_window"`
	// AckWait is how long a consumer may hold a message before JetStream
	// delivers it again (to another replica, or after a crash).
	AckWait time.Duration `yaml:"ack_wait"`
	// PlacementTags (comma-separated) put the streams on servers carrying
	// every one of these tags; empty lets JetStream choose.
	PlacementTags string `yaml:"stream_placement_tags"`
	// Clustering of the embedded server (the `bus` command): ClusterPort 0
	// runs a single node; otherwise the node listens for routes on
	// ClusterHost:ClusterPort (ClusterHost "" is Host) and joins the seed Routes (comma-separated
	// nats-route://host:port, every node of the cluster). ServerName must
	// be unique per node (default: the host name); ServerTags
	// (comma-separated) are matched by PlacementTags.
	ClusterName string `yaml:"cluster_name"`
	ClusterHost string `yaml:"cluster_host"`
	ClusterPort int    `yaml:"cluster_port"`
	Routes      string `yaml:"routes"`
	ServerName  string `yaml:"server_name"`
	ServerTags  string `yaml:"server_tags"`
}

// Ingest configures the OTLP/gRPC and OTLP/HTTP receivers.
type Ingest struct {
	GRPCEnabled      bool   `yaml:"grpc_enabled"`
	GRPCAddr         string `yaml:"grpc_addr"`
	HTTPEnabled      bool   `yaml:"http_enabled"`
	HTTPAddr         string `yaml:"http_addr"`
	MaxRequestBytes  int    `yaml:"max_request_bytes"`
	MaxInflightBytes int64  `yaml:"max_inflight_bytes"`
	// AuthTokens are the accepted bearer tokens; with none (and no
	// AuthTokensFile) authentication is off. See docs/security.md.
	AuthTokens []Secret `yaml:"auth_tokens"`
	// AuthTokensFile holds more tokens, one per line; re-read on change.
	AuthTokensFile string `yaml:"auth_tokens_file"`
	// TLSCertFile and TLSKeyFile turn on TLS for both listeners.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// TLSClientCAFile turns on mutual TLS: clients need a certificate it signed.
	TLSClientCAFile string `yaml:"tls_client_ca_file"`
	// MaxAttributes per attribute set (more are dropped); 0: no limit.
	MaxAttributes int `yaml:"max_attributes"`
	// MaxAttributeValueLength in bytes (longer values are truncated); 0: no limit.
	MaxAttributeValueLength int `yaml:"max_attribute_value_length" unit:"bytes"`
	// MaxConcurrentStreams per gRPC or HTTP/2 connection; 0: no limit.
	MaxConcurrentStreams int `yaml:"max_concurrent_streams"`
	// PublishTimeout bounds a request's wait for the bus (and 9/10 of a
	// gRPC client's deadline); past it the answer is a retryable
	// UNAVAILABLE / 503.
	PublishTimeout time.Duration `yaml:"publish_timeout"`
}

// Flight configures the Arrow Flight and OTel-Arrow (OTAP) receiver.
type Flight struct {
	Enabled         bool   `yaml:"enabled"`
	Addr            string `yaml:"addr"`
	MaxMessageBytes int    `yaml:"max_message_bytes"` // one gRPC message (a Flight batch or an OTAP batch)
	MaxBatchRows    int64  `yaml:"max_batch_rows"`
	// MaxInflightBytes bounds the Flight messages and OTAP batches received
	// and not yet published; at least MaxMessageBytes.
	MaxInflightBytes int64 `yaml:"max_inflight_bytes"`
	// MaxConcurrentStreams per connection (DoPut and OTAP streams); 0: no limit.
	MaxConcurrentStreams int `yaml:"max_concurrent_streams"`
	// PublishTimeout bounds one batch's wait for the bus; past it the batch
	// is answered with a retryable UNAVAILABLE.
	PublishTimeout time.Duration `yaml:"publish_timeout"`
	// AuthTokens are the accepted bearer tokens; with none (and no
	// AuthTokensFile) authentication is off. See docs/security.md.
	AuthTokens []Secret `yaml:"auth_tokens"`
	// AuthTokensFile holds more tokens, one per line; re-read on change.
	AuthTokensFile string `yaml:"auth_tokens_file"`
	// TLSCertFile and TLSKeyFile turn on TLS for the listener.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// TLSClientCAFile turns on mutual TLS: clients need a certificate it signed.
	TLSClientCAFile string `yaml:"tls_client_ca_file"`
}

// Writer configures the file writer.
type Writer struct {
	WriteInterval time.Duration `yaml:"write_interval"`
	MaxFileBytes  int64         `yaml:"max_file_bytes"`
	MaxFileAge    time.Duration `yaml:"max_file_age"`
	Compression   string        `yaml:"compression"` // zstd, lz4, none
	// Format of the files: arrow (Arrow IPC streams, .arrows) or parquet
	// (Apache Parquet, .parquet, one file per flush).
	Format string `yaml:"format"`
	// TracesSchema is the layout of the trace files: v1, the bus's schema,
	// or v2, every string dictionary-encoded, map keys included
	// (docs/schema.md); v2 turns pass-through off for traces. Arrow files
	// only.
	TracesSchema string `yaml:"traces_schema"`
	// Passthrough appends a payload's record batches to the Arrow file as
	// they are, without decoding and encoding them again, when each has at
	// least PassthroughRows rows and bus.payload_compression equals
	// compression (docs/configuration.md).
	Passthrough     bool   `yaml:"passthrough"`
	PassthroughRows int    `yaml:"passthrough_rows"`
	WriterID        string `yaml:"writer_id"`
}

// Janitor configures retention over the writer's files.
type Janitor struct {
	Enabled         bool          `yaml:"enabled"`
	TraceRetention  time.Duration `yaml:"trace_retention"`  // 0 keeps files forever
	MetricRetention time.Duration `yaml:"metric_retention"` // 0 keeps files forever
	LogRetention    time.Duration `yaml:"log_retention"`    // 0 keeps files forever
	MaxTotalBytes   int64         `yaml:"max_total_bytes"`  // 0: no limit
	MinFreeBytes    int64         `yaml:"min_free_bytes"`   // 0: no limit
	ScanInterval    time.Duration `yaml:"scan_interval"`
	DryRun          bool          `yaml:"dry_run"`
}

// Secret is a configuration value that never appears in logs or dumps.
type Secret string

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// MarshalYAML redacts the secret in `config print`.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON redacts the secret in JSON logs.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// LogValue redacts the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Reveal returns the secret itself, for the code that authenticates.
func (s Secret) Reveal() string { return string(s) }

// MemoryLimitDefault is memory_limit when it is not set: the stage commands
// derive the bound at start.
const MemoryLimitDefault = -1

// Default returns the defaults: the seed's output directory and write
// interval, every listener on loopback.
func Default() Config {
	return Config{
		OutputDir:   "./output_dir",
		DataDir:     "./data",
		MemoryLimit: MemoryLimitDefault,
		Log:         Log{Level: "info", Format: "text"},
		Admin:       Admin{Addr: "127.0.0.1:8080"},
		Dashboard:   Dashboard{Enabled: true, Addr: "127.0.0.1:8090", CacheBytes: 512 << 20},
		Bus: Bus{
			Host:               "127.0.0.1",
			Port:               4222,
			SyncInterval:       "always",
			PayloadCompression: "lz4",
			MaxPayload:         8 << 20,
			MaxBytes:           1 << 30,
			MaxAge:             24 * time.Hour,
			Replicas:           1,
			DuplicateWindow:    2 * time.Minute,
			AckWait:            60 * time.Second,
			ClusterName:        "otlp-arrow",
		},
		Ingest: Ingest{
			GRPCEnabled:      true,
			GRPCAddr:         "127.0.0.1:4317",
			HTTPEnabled:      true,
			HTTPAddr:         "127.0.0.1:4319",
			MaxRequestBytes:  16 << 20,
			MaxInflightBytes: 64 << 20,
			AuthTokens:       []Secret{},

			MaxAttributes:           1024,
			MaxAttributeValueLength: 64 << 10,
			MaxConcurrentStreams:    100,
			PublishTimeout:          5 * time.Second,
		},
		Forwarder: forward.DefaultConfig(),
		Janitor: Janitor{
			Enabled:         true,
			TraceRetention:  600 * time.Second,
			MetricRetention: 3600 * time.Second,
			LogRetention:    3600 * time.Second,
			ScanInterval:    30 * time.Second,
		},
		Flight: Flight{
			Enabled:         true,
			Addr:            "127.0.0.1:4318",
			MaxMessageBytes: 16 << 20,
			MaxBatchRows:    1 << 20,

			MaxInflightBytes:     64 << 20,
			MaxConcurrentStreams: 100,
			PublishTimeout:       5 * time.Second,
			AuthTokens:           []Secret{},
		},
		Writer: Writer{
			WriteInterval:   5 * time.Second,
			MaxFileBytes:    256 << 20,
			MaxFileAge:      5 * time.Minute,
			Compression:     "zstd",
			Format:          "arrow",
			TracesSchema:    "v1",
			Passthrough:     true,
			PassthroughRows: 1024,
		},
	}
}

// Load reads the YAML file at path (none when path is ""), applies the
// environment env (os.Environ form; nil means the process environment)
// over it, and validates the result.
func Load(path string, env []string) (Config, error) {
	cfg := Default()
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return cfg, fmt.Errorf("open config: %w", err)
		}
		defer f.Close()
		if err := Parse(f, &cfg); err != nil {
			return cfg, inFile(path, err)
		}
	}
	if env == nil {
		env = os.Environ()
	}
	if err := ApplyEnv(&cfg, env); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// inFile names the file in each of the errors err joins.
func inFile(path string, err error) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for i, e := range errs {
		errs[i] = fmt.Errorf("%s: %w", path, e)
	}
	return errors.Join(errs...)
}

// Parse decodes YAML over cfg; unknown keys are errors, and so are values of
// the wrong type or outside an enum key's words, each reported with its
// line, the key's full name and an example of what to write.
func Parse(r io.Reader, cfg *Config) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	// Type errors said in the configuration's words (key, expected value,
	// example) rather than the decoder's.
	if err := checkYAML(&doc); err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// envVar maps one OTLP_* variable onto the configuration.
type envVar struct {
	name  string
	key   string // the YAML key it sets, for messages
	apply func(c *Config, v string) error
}

func setString(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func setBool(p func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("want true or false")
		}
		*p(c) = b
		return nil
	}
}

func setSecs(p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n <= 0 {
			return errors.New("want a positive number of seconds")
		}
		*p(c) = time.Duration(n * float64(time.Second))
		return nil
	}
}

// setRetentionSecs is setSecs where 0 means keep forever.
func setRetentionSecs(p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n < 0 {
			return errors.New("want a number of seconds >= 0 (0 keeps files forever)")
		}
		*p(c) = time.Duration(n * float64(time.Second))
		return nil
	}
}

func setInt(p func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errors.New("want an integer")
		}
		*p(c) = n
		return nil
	}
}

func setInt64(p func(*Config) *int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return errors.New("want an integer")
		}
		*p(c) = n
		return nil
	}
}

// setPort replaces the port of a host:port address.
func setPort(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			return errors.New("want a port number 0-65535")
		}
		host, _, err := net.SplitHostPort(*p(c))
		if err != nil {
			host = "127.0.0.1"
		}
		*p(c) = net.JoinHostPort(host, strconv.Itoa(n))
		return nil
	}
}

// EnvVars lists every OTLP_* variable, the seed's names first.
var EnvVars = []envVar{
	{"OTLP_OUTPUT_DIR", "output_dir", setString(func(c *Config) *string { return &c.OutputDir })},
	{"OTLP_WRITE_INTERVAL_SECS", "writer.write_interval", setSecs(func(c *Config) *time.Duration { return &c.Writer.WriteInterval })},
	{"OTLP_TRACE_CLEANUP_INTERVAL_SECS", "janitor.trace_retention", setRetentionSecs(func(c *Config) *time.Duration { return &c.Janitor.TraceRetention })},
	{"OTLP_METRIC_CLEANUP_INTERVAL_SECS", "janitor.metric_retention", setRetentionSecs(func(c *Config) *time.Duration { return &c.Janitor.MetricRetention })},
	{"OTLP_LOG_CLEANUP_INTERVAL_SECS", "janitor.log_retention", setRetentionSecs(func(c *Config) *time.Duration { return &c.Janitor.LogRetention })},
	{"OTLP_JANITOR_ENABLED", "janitor.enabled", setBool(func(c *Config) *bool { return &c.Janitor.Enabled })},
	{"OTLP_JANITOR_DRY_RUN", "janitor.dry_run", setBool(func(c *Config) *bool { return &c.Janitor.DryRun })},
	{"OTLP_JANITOR_SCAN_INTERVAL_SECS", "janitor.scan_interval", setSecs(func(c *Config) *time.Duration { return &c.Janitor.ScanInterval })},
	{"OTLP_MAX_TOTAL_BYTES", "janitor.max_total_bytes", setInt64(func(c *Config) *int64 { return &c.Janitor.MaxTotalBytes })},
	{"OTLP_MIN_FREE_BYTES", "janitor.min_free_bytes", setInt64(func(c *Config) *int64 { return &c.Janitor.MinFreeBytes })},
	{"OTLP_FORWARDING_ENABLED", "forwarder.enabled", setBool(func(c *Config) *bool { return &c.Forwarder.Enabled })},
	{"OTLP_FORWARDING_ENDPOINT_URL", "forwarder.endpoint", setString(func(c *Config) *string { return &c.Forwarder.Endpoint })},
	{"OTLP_FORWARDING_PROTOCOL", "forwarder.protocol", setString(func(c *Config) *string { return &c.Forwarder.Protocol })},
	{"OTLP_FORWARDING_SUBJECT_FILTER", "forwarder.subject_filter", setString(func(c *Config) *string { return &c.Forwarder.SubjectFilter })},
	{"OTLP_FORWARDING_SIGNALS", "forwarder.signals", func(c *Config, v string) error {
		var sigs []schema.Signal
		for _, s := range strings.Split(v, ",") {
			sig, err := schema.ParseSignal(strings.TrimSpace(s))
			if err != nil {
				return errors.New("want a comma-separated list of traces, metrics, logs")
			}
			sigs = append(sigs, sig)
		}
		c.Forwarder.Signals = sigs
		return nil
	}},
	{"OTLP_FORWARDING_API_KEY", "forwarder.auth.api_key", func(c *Config, v string) error { c.Forwarder.Auth.APIKey = forward.Secret(v); return nil }},
	{"OTLP_FORWARDING_API_KEY_FILE", "forwarder.auth.api_key_file", setString(func(c *Config) *string { return &c.Forwarder.Auth.APIKeyFile })},
	{"OTLP_FORWARDING_API_KEY_HEADER", "forwarder.auth.api_key_header", setString(func(c *Config) *string { return &c.Forwarder.Auth.APIKeyHeader })},
	{"OTLP_FORWARDING_BEARER_TOKEN", "forwarder.auth.bearer_token", func(c *Config, v string) error { c.Forwarder.Auth.BearerToken = forward.Secret(v); return nil }},
	{"OTLP_FORWARDING_BEARER_TOKEN_FILE", "forwarder.auth.bearer_token_file", setString(func(c *Config) *string { return &c.Forwarder.Auth.BearerTokenFile })},
	{"OTLP_FORWARDING_BASIC_USER", "forwarder.auth.basic_user", setString(func(c *Config) *string { return &c.Forwarder.Auth.BasicUser })},
	{"OTLP_FORWARDING_BASIC_PASSWORD", "forwarder.auth.basic_password", func(c *Config, v string) error { c.Forwarder.Auth.BasicPassword = forward.Secret(v); return nil }},
	{"OTLP_FORWARDING_BASIC_PASSWORD_FILE", "forwarder.auth.basic_password_file", setString(func(c *Config) *string { return &c.Forwarder.Auth.BasicPasswordFile })},
	{"OTLP_FORWARDING_TLS_CA_FILE", "forwarder.tls.ca_file", setString(func(c *Config) *string { return &c.Forwarder.TLS.CAFile })},
	{"OTLP_FORWARDING_TLS_CERT_FILE", "forwarder.tls.cert_file", setString(func(c *Config) *string { return &c.Forwarder.TLS.CertFile })},
	{"OTLP_FORWARDING_TLS_KEY_FILE", "forwarder.tls.key_file", setString(func(c *Config) *string { return &c.Forwarder.TLS.KeyFile })},
	{"OTLP_FORWARDING_TLS_INSECURE", "forwarder.tls.insecure", setBool(func(c *Config) *bool { return &c.Forwarder.TLS.Insecure })},
	{"OTLP_FORWARDING_TLS_INSECURE_SKIP_VERIFY", "forwarder.tls.insecure_skip_verify", setBool(func(c *Config) *bool { return &c.Forwarder.TLS.InsecureSkipVerify })},
	{"OTLP_FORWARDING_TIMEOUT_SECS", "forwarder.timeout", setSecs(func(c *Config) *time.Duration { return &c.Forwarder.Timeout })},
	{"OTLP_PROTOBUF_ENABLED", "ingest_grpc.grpc_enabled", setBool(func(c *Config) *bool { return &c.Ingest.GRPCEnabled })},
	{"OTLP_PROTOBUF_PORT", "ingest_grpc.grpc_addr", setPort(func(c *Config) *string { return &c.Ingest.GRPCAddr })},
	{"OTLP_ARROW_FLIGHT_ENABLED", "ingest_flight.enabled", setBool(func(c *Config) *bool { return &c.Flight.Enabled })},
	{"OTLP_ARROW_FLIGHT_PORT", "ingest_flight.addr", setPort(func(c *Config) *string { return &c.Flight.Addr })},
	{"OTLP_FLIGHT_ADDR", "ingest_flight.addr", setString(func(c *Config) *string { return &c.Flight.Addr })},
	{"OTLP_HTTP_ENABLED", "ingest_grpc.http_enabled", setBool(func(c *Config) *bool { return &c.Ingest.HTTPEnabled })},
	{"OTLP_HTTP_PORT", "ingest_grpc.http_addr", setPort(func(c *Config) *string { return &c.Ingest.HTTPAddr })},
	{"OTLP_ADMIN_PORT", "admin.addr", setPort(func(c *Config) *string { return &c.Admin.Addr })},
	{"OTLP_ADMIN_ADDR", "admin.addr", setString(func(c *Config) *string { return &c.Admin.Addr })},
	{"OTLP_ADMIN_PPROF", "admin.pprof", setBool(func(c *Config) *bool { return &c.Admin.Pprof })},
	{"OTLP_DASHBOARD_ENABLED", "dashboard.enabled", setBool(func(c *Config) *bool { return &c.Dashboard.Enabled })},
	{"OTLP_DASHBOARD_PORT", "dashboard.addr", setPort(func(c *Config) *string { return &c.Dashboard.Addr })},
	{"OTLP_DASHBOARD_ADDR", "dashboard.addr", setString(func(c *Config) *string { return &c.Dashboard.Addr })},
	{"OTLP_DASHBOARD_TOKEN", "dashboard.token", func(c *Config, v string) error { c.Dashboard.Token = Secret(v); return nil }},
	{"OTLP_DASHBOARD_CACHE_BYTES", "dashboard.cache_bytes", setInt64(func(c *Config) *int64 { return &c.Dashboard.CacheBytes })},
	{"OTLP_MEMORY_LIMIT", "memory_limit", setInt64(func(c *Config) *int64 { return &c.MemoryLimit })},
	{"OTLP_DATA_DIR", "data_dir", setString(func(c *Config) *string { return &c.DataDir })},
	{"OTLP_LOG_LEVEL", "log.level", setString(func(c *Config) *string { return &c.Log.Level })},
	{"OTLP_LOG_FORMAT", "log.format", setString(func(c *Config) *string { return &c.Log.Format })},
	{"OTLP_NATS_URL", "bus.url", setString(func(c *Config) *string { return &c.Bus.URL })},
	{"OTLP_NATS_HOST", "bus.host", setString(func(c *Config) *string { return &c.Bus.Host })},
	{"OTLP_NATS_PORT", "bus.port", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			return errors.New("want a port number 0-65535 (0 turns listening off)")
		}
		c.Bus.Port = n
		return nil
	}},
	{"OTLP_NATS_CREDS_FILE", "bus.creds_file", setString(func(c *Config) *string { return &c.Bus.CredsFile })},
	{"OTLP_NATS_USER", "bus.user", setString(func(c *Config) *string { return &c.Bus.User })},
	{"OTLP_NATS_PASSWORD", "bus.password", func(c *Config, v string) error { c.Bus.Password = Secret(v); return nil }},
	{"OTLP_NATS_TOKEN", "bus.token", func(c *Config, v string) error { c.Bus.Token = Secret(v); return nil }},
	{"OTLP_NATS_NKEY_SEED_FILE", "bus.nkey_seed_file", setString(func(c *Config) *string { return &c.Bus.NKeySeedFile })},
	{"OTLP_NATS_TLS_CA_FILE", "bus.tls_ca_file", setString(func(c *Config) *string { return &c.Bus.TLSCA })},
	{"OTLP_NATS_TLS_CERT_FILE", "bus.tls_cert_file", setString(func(c *Config) *string { return &c.Bus.TLSCert })},
	{"OTLP_NATS_TLS_KEY_FILE", "bus.tls_key_file", setString(func(c *Config) *string { return &c.Bus.TLSKey })},
	{"OTLP_NATS_SERVER_TLS_CERT_FILE", "bus.server_tls_cert_file", setString(func(c *Config) *string { return &c.Bus.ServerTLSCert })},
	{"OTLP_NATS_SERVER_TLS_KEY_FILE", "bus.server_tls_key_file", setString(func(c *Config) *string { return &c.Bus.ServerTLSKey })},
	{"OTLP_NATS_SERVER_TLS_CLIENT_CA_FILE", "bus.server_tls_client_ca_file", setString(func(c *Config) *string { return &c.Bus.ServerTLSClientCA })},
	{"OTLP_BUS_SYNC_INTERVAL", "bus.sync_interval", setString(func(c *Config) *string { return &c.Bus.SyncInterval })},
	{"OTLP_BUS_PAYLOAD_COMPRESSION", "bus.payload_compression", setString(func(c *Config) *string { return &c.Bus.PayloadCompression })},
	{"OTLP_BUS_PER_SERVICE_MESSAGES", "bus.per_service_messages", setBool(func(c *Config) *bool { return &c.Bus.PerServiceMessages })},
	{"OTLP_BUS_MAX_STORE", "bus.max_store", setInt64(func(c *Config) *int64 { return &c.Bus.MaxStore })},
	{"OTLP_BUS_ACK_WAIT_SECS", "bus.ack_wait", setSecs(func(c *Config) *time.Duration { return &c.Bus.AckWait })},
	{"OTLP_STREAM_MAX_BYTES", "bus.stream_max_bytes", setInt64(func(c *Config) *int64 { return &c.Bus.MaxBytes })},
	{"OTLP_STREAM_REPLICAS", "bus.stream_replicas", setInt(func(c *Config) *int { return &c.Bus.Replicas })},
	{"OTLP_STREAM_PLACEMENT_TAGS", "bus.stream_placement_tags", setString(func(c *Config) *string { return &c.Bus.PlacementTags })},
	{"OTLP_NATS_CLUSTER_NAME", "bus.cluster_name", setString(func(c *Config) *string { return &c.Bus.ClusterName })},
	{"OTLP_NATS_CLUSTER_HOST", "bus.cluster_host", setString(func(c *Config) *string { return &c.Bus.ClusterHost })},
	{"OTLP_NATS_CLUSTER_PORT", "bus.cluster_port", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			return errors.New("want a port number 0-65535 (0: no cluster)")
		}
		c.Bus.ClusterPort = n
		return nil
	}},
	{"OTLP_NATS_ROUTES", "bus.routes", setString(func(c *Config) *string { return &c.Bus.Routes })},
	{"OTLP_NATS_SERVER_NAME", "bus.server_name", setString(func(c *Config) *string { return &c.Bus.ServerName })},
	{"OTLP_NATS_SERVER_TAGS", "bus.server_tags", setString(func(c *Config) *string { return &c.Bus.ServerTags })},
	{"OTLP_GRPC_ADDR", "ingest_grpc.grpc_addr", setString(func(c *Config) *string { return &c.Ingest.GRPCAddr })},
	{"OTLP_HTTP_ADDR", "ingest_grpc.http_addr", setString(func(c *Config) *string { return &c.Ingest.HTTPAddr })},
	{"OTLP_INGEST_AUTH_TOKENS", "ingest_grpc.auth_tokens", func(c *Config, v string) error {
		c.Ingest.AuthTokens = []Secret{}
		for _, tok := range strings.Split(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" {
				c.Ingest.AuthTokens = append(c.Ingest.AuthTokens, Secret(tok))
			}
		}
		return nil
	}},
	{"OTLP_INGEST_AUTH_TOKENS_FILE", "ingest_grpc.auth_tokens_file", setString(func(c *Config) *string { return &c.Ingest.AuthTokensFile })},
	{"OTLP_INGEST_TLS_CERT_FILE", "ingest_grpc.tls_cert_file", setString(func(c *Config) *string { return &c.Ingest.TLSCertFile })},
	{"OTLP_INGEST_TLS_KEY_FILE", "ingest_grpc.tls_key_file", setString(func(c *Config) *string { return &c.Ingest.TLSKeyFile })},
	{"OTLP_INGEST_TLS_CLIENT_CA_FILE", "ingest_grpc.tls_client_ca_file", setString(func(c *Config) *string { return &c.Ingest.TLSClientCAFile })},
	{"OTLP_FLIGHT_AUTH_TOKENS", "ingest_flight.auth_tokens", func(c *Config, v string) error {
		c.Flight.AuthTokens = []Secret{}
		for _, tok := range strings.Split(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" {
				c.Flight.AuthTokens = append(c.Flight.AuthTokens, Secret(tok))
			}
		}
		return nil
	}},
	{"OTLP_FLIGHT_AUTH_TOKENS_FILE", "ingest_flight.auth_tokens_file", setString(func(c *Config) *string { return &c.Flight.AuthTokensFile })},
	{"OTLP_FLIGHT_TLS_CERT_FILE", "ingest_flight.tls_cert_file", setString(func(c *Config) *string { return &c.Flight.TLSCertFile })},
	{"OTLP_FLIGHT_TLS_KEY_FILE", "ingest_flight.tls_key_file", setString(func(c *Config) *string { return &c.Flight.TLSKeyFile })},
	{"OTLP_FLIGHT_TLS_CLIENT_CA_FILE", "ingest_flight.tls_client_ca_file", setString(func(c *Config) *string { return &c.Flight.TLSClientCAFile })},
	{"OTLP_WRITER_ID", "writer.writer_id", setString(func(c *Config) *string { return &c.Writer.WriterID })},
	{"OTLP_WRITER_COMPRESSION", "writer.compression", setString(func(c *Config) *string { return &c.Writer.Compression })},
	{"OTLP_WRITER_FORMAT", "writer.format", setString(func(c *Config) *string { return &c.Writer.Format })},
	{"OTLP_WRITER_TRACES_SCHEMA", "writer.traces_schema", setString(func(c *Config) *string { return &c.Writer.TracesSchema })},
	{"OTLP_WRITER_PASSTHROUGH", "writer.passthrough", setBool(func(c *Config) *bool { return &c.Writer.Passthrough })},
	{"OTLP_WRITER_MAX_FILE_BYTES", "writer.max_file_bytes", setInt64(func(c *Config) *int64 { return &c.Writer.MaxFileBytes })},
	{"OTLP_LISTEN_HOST", "every listener's host", func(c *Config, v string) error {
		for _, a := range []*string{&c.Ingest.GRPCAddr, &c.Ingest.HTTPAddr, &c.Flight.Addr, &c.Admin.Addr, &c.Dashboard.Addr} {
			if _, port, err := net.SplitHostPort(*a); err == nil {
				*a = net.JoinHostPort(v, port)
			}
		}
		c.Bus.Host = v
		c.Bus.ClusterHost = v
		return nil
	}},
}

// ApplyEnv sets cfg from the OTLP_* variables in env. An unknown OTLP_*
// variable is an error, so a typo does not pass silently.
func ApplyEnv(cfg *Config, env []string) error {
	var errs []error
	known := map[string]envVar{}
	for _, e := range EnvVars {
		known[e.name] = e
	}
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, "OTLP_") {
			continue
		}
		e, ok := known[name]
		if !ok {
			if ignoredEnv[name] {
				continue
			}
			errs = append(errs, fmt.Errorf("%w: unknown environment variable %s", ErrInvalid, name))
			continue
		}
		if err := e.apply(cfg, val); err != nil {
			shown := val
			if strings.Contains(e.key, "password") || strings.Contains(e.key, "token") || strings.Contains(e.key, "api_key") {
				shown = "[redacted]"
			}
			errs = append(errs, fmt.Errorf("%w: %s=%q (%s): %v", ErrInvalid, name, shown, e.key, err))
		}
	}
	return errors.Join(errs...)
}

// ignoredEnv are OTLP_* names other software sets in the same environment
// (the OpenTelemetry SDKs use OTEL_*, but some tools export these).
var ignoredEnv = map[string]bool{}

// Validate reports every invalid value, naming the key, the value and what
// is allowed.
func (c Config) Validate() error {
	var errs []error
	bad := func(key string, value any, want string) {
		errs = append(errs, fmt.Errorf("%w: %s = %v: %s", ErrInvalid, key, value, want))
	}
	if c.OutputDir == "" {
		bad("output_dir", `""`, "want a directory")
	}
	if c.MemoryLimit < MemoryLimitDefault {
		bad("memory_limit", c.MemoryLimit, "want a number of bytes, 0 for no bound, or -1 (the default) to derive it from GOMEMLIMIT or the container's memory limit")
	}
	if c.DataDir == "" {
		bad("data_dir", `""`, "want a directory")
	}
	oneOf := func(key, v string) {
		if e := enums[key]; !e.valid(v) {
			bad(key, strconv.Quote(v), "want "+e.want())
		}
	}
	oneOf("log.level", c.Log.Level)
	oneOf("log.format", c.Log.Format)
	addr := func(key, a string, allowEmpty bool) {
		if a == "" && allowEmpty {
			return
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			bad(key, strconv.Quote(a), "want host:port")
		}
	}
	addr("admin.addr", c.Admin.Addr, true)
	addr("dashboard.addr", c.Dashboard.Addr, false)
	if c.Dashboard.CacheBytes <= 0 {
		bad("dashboard.cache_bytes", c.Dashboard.CacheBytes, "want > 0")
	}
	if c.Ingest.GRPCEnabled {
		addr("ingest_grpc.grpc_addr", c.Ingest.GRPCAddr, false)
	}
	if c.Ingest.HTTPEnabled {
		addr("ingest_grpc.http_addr", c.Ingest.HTTPAddr, false)
	}
	if c.Flight.Enabled {
		addr("ingest_flight.addr", c.Flight.Addr, false)
	}
	if c.Flight.MaxMessageBytes <= 0 {
		bad("ingest_flight.max_message_bytes", c.Flight.MaxMessageBytes, "want > 0")
	}
	if c.Flight.MaxBatchRows <= 0 {
		bad("ingest_flight.max_batch_rows", c.Flight.MaxBatchRows, "want > 0")
	}
	if c.Flight.MaxInflightBytes < int64(c.Flight.MaxMessageBytes) {
		bad("ingest_flight.max_inflight_bytes", c.Flight.MaxInflightBytes, "want >= max_message_bytes")
	}
	if c.Flight.MaxConcurrentStreams < 0 || c.Flight.MaxConcurrentStreams > math.MaxInt32 {
		bad("ingest_flight.max_concurrent_streams", c.Flight.MaxConcurrentStreams, "want 0 to 2147483647 (0: no limit)")
	}
	if c.Flight.PublishTimeout <= 0 {
		bad("ingest_flight.publish_timeout", c.Flight.PublishTimeout, "want > 0")
	}
	if c.Ingest.PublishTimeout <= 0 {
		bad("ingest_grpc.publish_timeout", c.Ingest.PublishTimeout, "want > 0")
	}
	for i, tok := range c.Flight.AuthTokens {
		if tok == "" || strings.ContainsFunc(tok.Reveal(), func(r rune) bool { return r <= ' ' || r > '~' }) {
			bad(fmt.Sprintf("ingest_flight.auth_tokens[%d]", i), tok, "want a non-empty token of visible ASCII characters")
		}
	}
	if (c.Flight.TLSCertFile == "") != (c.Flight.TLSKeyFile == "") {
		bad("ingest_flight.tls_key_file", strconv.Quote(c.Flight.TLSKeyFile), "want tls_cert_file and tls_key_file together")
	}
	if c.Flight.TLSClientCAFile != "" && c.Flight.TLSCertFile == "" {
		bad("ingest_flight.tls_client_ca_file", strconv.Quote(c.Flight.TLSClientCAFile), "want tls_cert_file and tls_key_file too (mutual TLS needs TLS)")
	}
	if c.Ingest.MaxRequestBytes <= 0 {
		bad("ingest_grpc.max_request_bytes", c.Ingest.MaxRequestBytes, "want > 0")
	}
	if c.Ingest.MaxInflightBytes < int64(c.Ingest.MaxRequestBytes) {
		bad("ingest_grpc.max_inflight_bytes", c.Ingest.MaxInflightBytes, "want >= max_request_bytes")
	}
	for i, tok := range c.Ingest.AuthTokens {
		if tok == "" || strings.ContainsFunc(tok.Reveal(), func(r rune) bool { return r <= ' ' || r > '~' }) {
			bad(fmt.Sprintf("ingest_grpc.auth_tokens[%d]", i), tok, "want a non-empty token of visible ASCII characters")
		}
	}
	if (c.Ingest.TLSCertFile == "") != (c.Ingest.TLSKeyFile == "") {
		bad("ingest_grpc.tls_key_file", strconv.Quote(c.Ingest.TLSKeyFile), "want tls_cert_file and tls_key_file together")
	}
	if c.Ingest.TLSClientCAFile != "" && c.Ingest.TLSCertFile == "" {
		bad("ingest_grpc.tls_client_ca_file", strconv.Quote(c.Ingest.TLSClientCAFile), "want tls_cert_file and tls_key_file too (mutual TLS needs TLS)")
	}
	if c.Ingest.MaxAttributes < 0 {
		bad("ingest_grpc.max_attributes", c.Ingest.MaxAttributes, "want >= 0 (0: no limit)")
	}
	if c.Ingest.MaxAttributeValueLength < 0 {
		bad("ingest_grpc.max_attribute_value_length", c.Ingest.MaxAttributeValueLength, "want >= 0 (0: no limit)")
	}
	if c.Ingest.MaxConcurrentStreams < 0 || c.Ingest.MaxConcurrentStreams > math.MaxInt32 {
		bad("ingest_grpc.max_concurrent_streams", c.Ingest.MaxConcurrentStreams, "want 0 to 2147483647 (0: no limit)")
	}
	if c.Bus.Port < 0 || c.Bus.Port > 65535 {
		bad("bus.port", c.Bus.Port, "want 0-65535 (0 turns listening off)")
	}
	c.Bus.validateSecurity(bad)
	if _, err := c.Bus.Sync(); err != nil {
		bad("bus.sync_interval", strconv.Quote(c.Bus.SyncInterval), `want "always" or a duration such as 2m`)
	}
	oneOf("bus.payload_compression", c.Bus.PayloadCompression)
	if _, err := payload.Compression(c.Bus.PayloadCompression); err != nil && enums["bus.payload_compression"].valid(c.Bus.PayloadCompression) {
		bad("bus.payload_compression", strconv.Quote(c.Bus.PayloadCompression), err.Error())
	}
	if c.Bus.MaxPayload < 1<<20 || c.Bus.MaxPayload > 64<<20 {
		bad("bus.max_payload", c.Bus.MaxPayload, "want 1 MiB to 64 MiB")
	}
	if c.Bus.MaxStore < 0 {
		bad("bus.max_store", c.Bus.MaxStore, "want >= 0 (0: the server's default)")
	}
	if c.Bus.MaxBytes <= 0 {
		bad("bus.stream_max_bytes", c.Bus.MaxBytes, "want > 0")
	}
	if c.Bus.MaxAge < 0 {
		bad("bus.stream_max_age", c.Bus.MaxAge, "want >= 0")
	}
	if c.Bus.Replicas < 1 || c.Bus.Replicas > 5 {
		bad("bus.stream_replicas", c.Bus.Replicas, "want 1 to 5")
	}
	if c.Bus.ClusterPort < 0 || c.Bus.ClusterPort > 65535 {
		bad("bus.cluster_port", c.Bus.ClusterPort, "want 0-65535 (0: no cluster)")
	}
	if c.Bus.ClusterPort != 0 {
		if c.Bus.ClusterName == "" || strings.ContainsAny(c.Bus.ClusterName, " \t\r\n") {
			bad("bus.cluster_name", strconv.Quote(c.Bus.ClusterName), "want a name without white space (the same on every node)")
		}
		if routes, err := bus.ParseRoutes(c.Bus.Routes); err != nil || len(routes) == 0 {
			bad("bus.routes", strconv.Quote(c.Bus.Routes), "want comma-separated nats-route://host:port, every node of the cluster")
		}
		if c.Bus.Port == 0 {
			bad("bus.port", 0, "a cluster node must listen for clients: want 1-65535")
		}
	} else if c.Bus.Routes != "" {
		bad("bus.routes", strconv.Quote(c.Bus.Routes), "routes need bus.cluster_port")
	}
	if c.Bus.AckWait < 5*time.Second || c.Bus.AckWait < 2*c.Writer.WriteInterval {
		bad("bus.ack_wait", c.Bus.AckWait, "want at least 5s and at least twice writer.write_interval")
	}
	if c.Writer.WriteInterval <= 0 {
		bad("writer.write_interval", c.Writer.WriteInterval, "want > 0")
	}
	if c.Writer.MaxFileBytes <= 0 {
		bad("writer.max_file_bytes", c.Writer.MaxFileBytes, "want > 0")
	}
	if c.Writer.MaxFileAge <= 0 {
		bad("writer.max_file_age", c.Writer.MaxFileAge, "want > 0")
	}
	for key, d := range map[string]time.Duration{"janitor.trace_retention": c.Janitor.TraceRetention, "janitor.metric_retention": c.Janitor.MetricRetention, "janitor.log_retention": c.Janitor.LogRetention} {
		if d < 0 {
			bad(key, d, "want >= 0 (0 keeps files forever)")
		}
	}
	if c.Janitor.MaxTotalBytes < 0 {
		bad("janitor.max_total_bytes", c.Janitor.MaxTotalBytes, "want >= 0 (0: no limit)")
	}
	if c.Janitor.MinFreeBytes < 0 {
		bad("janitor.min_free_bytes", c.Janitor.MinFreeBytes, "want >= 0 (0: no limit)")
	}
	if c.Janitor.ScanInterval <= 0 {
		bad("janitor.scan_interval", c.Janitor.ScanInterval, "want > 0")
	}
	if c.Forwarder.Enabled {
		if err := c.Forwarder.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%w: forwarder: %w", ErrInvalid, err))
		}
	}
	oneOf("writer.compression", c.Writer.Compression)
	oneOf("writer.format", c.Writer.Format)
	oneOf("writer.traces_schema", c.Writer.TracesSchema)
	if c.Writer.PassthroughRows <= 0 {
		bad("writer.passthrough_rows", c.Writer.PassthroughRows, "want > 0")
	}
	return errors.Join(errs...)
}

// Sync returns the embedded server's sync interval: 0 means sync always.
func (b Bus) Sync() (time.Duration, error) {
	if b.SyncInterval == "always" || b.SyncInterval == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(b.SyncInterval)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: bus.sync_interval %q", ErrInvalid, b.SyncInterval)
	}
	return d, nil
}

// Print writes the effective configuration as YAML, secrets redacted.
func (c Config) Print(w io.Writer) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("print config: %w", err)
	}
	return enc.Close()
}
