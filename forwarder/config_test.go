package forward

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// dumps renders cfg every way a config dump or log might.
func dumps(t *testing.T, cfg Config) []string {
	t.Helper()
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatalf("json: %v", err)
	}
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatalf("yaml: %v", err)
	}
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("cfg", "auth", cfg.Auth, "key", cfg.Auth.APIKey)
	slog.New(slog.NewJSONHandler(&sb, nil)).Info("cfg", "cfg", cfg, "key", cfg.Auth.APIKey)
	return []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprint(cfg.Auth.APIKey),
		fmt.Sprintf("%q", cfg.Auth.APIKey), string(j), string(y), sb.String()}
}

func TestSecretRedacted(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Auth.APIKey = "SECRET-1"
	cfg.Auth.BearerToken = "SECRET-2"
	for _, s := range dumps(t, cfg) {
		if strings.Contains(s, "SECRET") {
			t.Errorf("secret shown: %s", s)
		}
		if !strings.Contains(s, redacted) {
			t.Errorf("no redaction marker: %s", s)
		}
	}
	if got := cfg.Auth.APIKey.Reveal(); got != "SECRET-1" {
		t.Errorf("Reveal: got %q", got)
	}
	if got := Secret("").String(); got != "" {
		t.Errorf("empty secret: got %q", got)
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("disabled default: %v", err)
	}
	cfg.Enabled = true
	cfg.Endpoint = "collector:4317"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("enabled default: %v", err)
	}
	if cfg.Auth.APIKeyHeader != "X-API-Key" || cfg.Timeout.String() != "10s" || cfg.Breaker.FailureThreshold != 5 ||
		cfg.Breaker.Delay.String() != "30s" || cfg.Breaker.SuccessThreshold != 2 || cfg.Durable != "forwarder" ||
		len(cfg.Signals) != 3 {
		t.Errorf("defaults: %+v", cfg)
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*Config)
		want   []string // substrings of the error; none: valid
	}{
		{"grpc host:port", func(c *Config) {}, nil},
		{"grpc http", func(c *Config) { c.Endpoint = "http://collector:4317" }, nil},
		{"grpc https", func(c *Config) { c.Endpoint = "https://collector:4317" }, nil},
		{"grpc insecure bare", func(c *Config) { c.TLS.Insecure = true }, nil},
		{"http", func(c *Config) { c.Protocol = "http"; c.Endpoint = "https://otlp.example.com" }, nil},
		{"protobuf alias with path", func(c *Config) { c.Protocol = "protobuf"; c.Endpoint = "http://h:4318/otlp/" }, nil},
		{"flight", func(c *Config) { c.Protocol = "arrow_flight"; c.Endpoint = "grpc+tls://h:4318" }, nil},
		{"filter", func(c *Config) { c.SubjectFilter = "otlp.traces.checkout" }, nil},
		{"api key and bearer", func(c *Config) { c.Auth.APIKey = "k"; c.Auth.BearerToken = "t" }, nil},

		{"empty endpoint", func(c *Config) { c.Endpoint = "" }, []string{"Endpoint", "empty", "host:port"}},
		{"grpc no port", func(c *Config) { c.Endpoint = "collector" }, []string{"Endpoint", `"collector"`, "host:port"}},
		{"grpc bad port", func(c *Config) { c.Endpoint = "http://collector:99999" }, []string{"Endpoint", `port "99999"`}},
		{"grpc url no port", func(c *Config) { c.Endpoint = "https://collector" }, []string{"missing port"}},
		{"grpc wrong scheme", func(c *Config) { c.Endpoint = "grpc://collector:4317" }, []string{`scheme "grpc" not allowed`, "https://host:port"}},
		{"https with insecure", func(c *Config) { c.Endpoint = "https://c:4317"; c.TLS.Insecure = true }, []string{"TLS.Insecure", "http://"}},
		{"http wrong scheme", func(c *Config) { c.Protocol = "http"; c.Endpoint = "ftp://h:21" }, []string{`scheme "ftp"`, "/v1/<signal>"}},
		{"http bare", func(c *Config) { c.Protocol = "http"; c.Endpoint = "h:4318" }, []string{"Endpoint"}},
		{"http user info", func(c *Config) { c.Protocol = "http"; c.Endpoint = "https://bob:SECRET@h" }, []string{"user info", "Auth.BasicUser"}},
		{"http query", func(c *Config) { c.Protocol = "http"; c.Endpoint = "https://h/?key=SECRET" }, []string{"query"}},
		{"flight http scheme", func(c *Config) { c.Protocol = "arrow_flight"; c.Endpoint = "http://h:4318" }, []string{"grpc+tls://host:port"}},
		{"flight path", func(c *Config) { c.Protocol = "arrow_flight"; c.Endpoint = "grpc://h:4318/x" }, []string{"path"}},
		{"protocol", func(c *Config) { c.Protocol = "thrift" }, []string{"Protocol", `"thrift"`, "arrow_flight"}},
		{"ca on plaintext", func(c *Config) { c.Endpoint = "http://h:1"; c.TLS.CAFile = "/ca.pem" }, []string{"TLS.CAFile", "plaintext"}},
		{"cert without key", func(c *Config) { c.TLS.CertFile = "/c.pem" }, []string{"TLS.KeyFile"}},
		{"no signals", func(c *Config) { c.Signals = nil }, []string{"Signals"}},
		{"bad signal", func(c *Config) { c.Signals = []schema.Signal{"spans"} }, []string{"Signals", `"spans"`}},
		{"bad filter", func(c *Config) { c.SubjectFilter = "otlp.>.x" }, []string{"SubjectFilter", "last token"}},
		{"filter off signals", func(c *Config) {
			c.Signals = []schema.Signal{schema.Logs}
			c.SubjectFilter = "otlp.traces.>"
		}, []string{"SubjectFilter", "matches no subject"}},
		{"bad header", func(c *Config) { c.Headers = map[string]Secret{"Bad Header": "v"} }, []string{"Headers", `"Bad Header"`}},
		{"compression", func(c *Config) { c.Compression = "zstd" }, []string{"Compression", "gzip or none"}},
		{"key twice", func(c *Config) { c.Auth.APIKey = "SECRET"; c.Auth.APIKeyFile = "/k" }, []string{"Auth.APIKey", "Auth.APIKeyFile"}},
		{"bearer and basic", func(c *Config) { c.Auth.BearerToken = "SECRET"; c.Auth.BasicUser = "u" }, []string{"Authorization"}},
		{"basic pw without user", func(c *Config) { c.Auth.BasicPassword = "SECRET" }, []string{"Auth.BasicUser"}},
		{"secret with newline", func(c *Config) { c.Auth.APIKey = "SECRET\nX" }, []string{"Auth.APIKey", "line break"}},
		{"api key header", func(c *Config) { c.Auth.APIKey = "SECRET"; c.Auth.APIKeyHeader = "" }, []string{"Auth.APIKeyHeader"}},
		{"timeout", func(c *Config) { c.Timeout = 0 }, []string{"Timeout"}},
		{"retry", func(c *Config) { c.Retry.MaxInterval = 1 }, []string{"Retry.MaxInterval"}},
		{"jitter", func(c *Config) { c.Retry.JitterFactor = 1 }, []string{"Retry.JitterFactor"}},
		{"breaker", func(c *Config) { c.Breaker.FailureThreshold = 0 }, []string{"Breaker.FailureThreshold"}},
		{"durable", func(c *Config) { c.Durable = "a.b" }, []string{"Durable"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Enabled = true
			cfg.Endpoint = "collector:4317"
			tt.change(&cfg)
			err := cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got valid, want an error with %q", tt.want)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error does not wrap ErrInvalidConfig: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

func TestNewReadsFiles(t *testing.T) {
	js := runBus(t)
	cfg := testConfig(ProtocolHTTP, "https://127.0.0.1:1")
	cfg.Auth.APIKeyFile = "/nonexistent/key"
	_, err := New(cfg, js, nil, nil)
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "Auth.APIKeyFile") {
		t.Errorf("missing key file: got %v", err)
	}
	cfg.Auth.APIKeyFile = ""
	cfg.TLS.CAFile = "/nonexistent/ca.pem"
	_, err = New(cfg, js, nil, nil)
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "TLS.CAFile") {
		t.Errorf("missing CA file: got %v", err)
	}
}

func TestEndpointParse(t *testing.T) {
	for _, tt := range []struct {
		protocol, raw string
		insecure      bool
		addr, base    string
		secure        bool
	}{
		{ProtocolGRPC, "c:4317", false, "c:4317", "", true},
		{ProtocolGRPC, "c:4317", true, "c:4317", "", false},
		{ProtocolGRPC, "http://c:4317", false, "c:4317", "", false},
		{ProtocolGRPC, "https://c:4317/", false, "c:4317", "", true},
		{ProtocolGRPC, "[::1]:4317", false, "[::1]:4317", "", true},
		{ProtocolHTTP, "https://h", false, "h", "https://h", true},
		{ProtocolHTTP, "http://h:4318/", false, "h:4318", "http://h:4318", false},
		{ProtocolHTTP, "http://h:4318/otlp/", false, "h:4318", "http://h:4318/otlp", false},
		{ProtocolArrowFlight, "grpc://h:4318", false, "h:4318", "", false},
		{ProtocolArrowFlight, "grpc+tcp://h:4318", false, "h:4318", "", false},
		{ProtocolArrowFlight, "grpc+tls://h:4318", false, "h:4318", "", true},
	} {
		t.Run(tt.protocol+" "+tt.raw, func(t *testing.T) {
			ep, err := parseEndpoint(tt.protocol, tt.raw, tt.insecure)
			if err != nil {
				t.Fatal(err)
			}
			if ep.addr != tt.addr || ep.base != tt.base || ep.secure != tt.secure {
				t.Errorf("got addr %q base %q secure %v, want %q %q %v", ep.addr, ep.base, ep.secure, tt.addr, tt.base, tt.secure)
			}
		})
	}
}

func TestSubjects(t *testing.T) {
	for _, tt := range []struct {
		filter, subject string
		want            bool
	}{
		{"otlp.traces.checkout", "otlp.traces.checkout", true},
		{"otlp.traces.checkout", "otlp.traces.cart", false},
		{"otlp.*.checkout", "otlp.logs.checkout", true},
		{"otlp.traces.>", "otlp.traces.a", true},
		{"otlp.traces.>", "otlp.traces", false},
		{">", "otlp.traces.a", true},
		{"otlp.traces", "otlp.traces.a", false},
	} {
		if got := subjectMatches(tt.filter, tt.subject); got != tt.want {
			t.Errorf("subjectMatches(%q, %q): got %v, want %v", tt.filter, tt.subject, got, tt.want)
		}
	}
	for _, tt := range []struct {
		filter  string
		sig     schema.Signal
		overlap bool
		cons    string
	}{
		{"otlp.traces.checkout", schema.Traces, true, "otlp.traces.checkout"},
		{"otlp.traces.checkout", schema.Logs, false, ""},
		{"otlp.*.checkout", schema.Logs, true, "otlp.logs.checkout"},
		{"*.*.*", schema.Metrics, true, "otlp.metrics.*"},
		{">", schema.Metrics, true, "otlp.metrics.>"},
		{"otlp.>", schema.Metrics, true, "otlp.metrics.>"},
		{"otlp.traces.a.b", schema.Traces, false, ""},
		{"otlp.dead.>", schema.Traces, false, ""},
	} {
		if got := filterOverlaps(tt.filter, tt.sig); got != tt.overlap {
			t.Errorf("filterOverlaps(%q, %s): got %v, want %v", tt.filter, tt.sig, got, tt.overlap)
		}
		if tt.overlap {
			if got := consumerFilter(tt.filter, tt.sig); got != tt.cons {
				t.Errorf("consumerFilter(%q, %s): got %q, want %q", tt.filter, tt.sig, got, tt.cons)
			}
		}
	}
}
