package writer

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*Config)
		field string // "" means valid
	}{
		{"ok lz4", func(c *Config) { c.Compression = "lz4" }, ""},
		{"ok none", func(c *Config) { c.Compression = "none" }, ""},
		{"ok parquet", func(c *Config) { c.Format = "parquet" }, ""},
		{"ok traces v2", func(c *Config) { c.TracesSchema = "v2" }, ""},
		{"ok one signal", func(c *Config) { c.Signals = []schema.Signal{schema.Logs} }, ""},
		{"ok dashed id", func(c *Config) { c.WriterID = "writer-0.ns" }, ""},
		{"empty dir", func(c *Config) { c.OutputDir = "" }, "OutputDir"},
		{"zero interval", func(c *Config) { c.WriteInterval = 0 }, "WriteInterval"},
		{"long interval", func(c *Config) { c.WriteInterval = time.Minute }, "WriteInterval"},
		{"rows", func(c *Config) { c.MaxBatchRows = 0 }, "MaxBatchRows"},
		{"batch bytes", func(c *Config) { c.MaxBatchBytes = -1 }, "MaxBatchBytes"},
		{"file bytes", func(c *Config) { c.MaxFileBytes = 0 }, "MaxFileBytes"},
		{"file age", func(c *Config) { c.MaxFileAge = 0 }, "MaxFileAge"},
		{"compression", func(c *Config) { c.Compression = "gzip" }, "Compression"},
		{"format", func(c *Config) { c.Format = "orc" }, "Format"},
		{"traces schema", func(c *Config) { c.TracesSchema = "v3" }, "TracesSchema"},
		{"empty id", func(c *Config) { c.WriterID = "" }, "WriterID"},
		{"slash id", func(c *Config) { c.WriterID = "a/b" }, "WriterID"},
		{"dot id", func(c *Config) { c.WriterID = ".." }, "WriterID"},
		{"durable", func(c *Config) { c.Durable = "" }, "Durable"},
		{"no signals", func(c *Config) { c.Signals = nil }, "Signals"},
		{"bad signal", func(c *Config) { c.Signals = []schema.Signal{"profiles"} }, "Signals"},
		{"twice", func(c *Config) { c.Signals = []schema.Signal{schema.Logs, schema.Logs} }, "Signals"},
		{"shutdown", func(c *Config) { c.ShutdownTimeout = 0 }, "ShutdownTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.mod(&cfg)
			err := cfg.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.field+":") {
				t.Fatalf("Validate() = %v, want it to name %s", err, tt.field)
			}
		})
	}
}

func TestSanitizeWriterID(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "w1",
		"host-1.example":        "host-1.example",
		"-x":                    "_x",
		"a b/c":                 "a_b_c",
		"héllo":                 "h_llo",
		strings.Repeat("a", 80): strings.Repeat("a", 64),
	} {
		got := SanitizeWriterID(in)
		if got != want {
			t.Errorf("SanitizeWriterID(%q) = %q, want %q", in, got, want)
		}
		c := DefaultConfig()
		c.WriterID = got
		if err := c.Validate(); err != nil {
			t.Errorf("sanitized %q invalid: %v", got, err)
		}
	}
}
