package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The annotated example in the repository root holds every default.
func TestExampleFileIsTheDefaults(t *testing.T) {
	path := filepath.Join("..", "..", "config.example.yaml")
	got, err := Load(path, []string{})
	if err != nil {
		t.Fatalf("load example: %v", err)
	}
	// Compared as printed, where an empty list and no list are the same.
	var g, w bytes.Buffer
	if err := got.Print(&g); err != nil {
		t.Fatal(err)
	}
	if err := Default().Print(&w); err != nil {
		t.Fatal(err)
	}
	if g.String() != w.String() {
		t.Errorf("example differs from defaults:\n got %s\nwant %s", g.String(), w.String())
	}
}

func TestEnvOverFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte("output_dir: /from/file\nwriter:\n  write_interval: 9s\ningest_grpc:\n  grpc_addr: 0.0.0.0:5000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path, []string{"OTLP_OUTPUT_DIR=/from/env", "OTLP_PROTOBUF_PORT=6000", "OTLP_PROTOBUF_ENABLED=false", "PATH=/bin"})
	if err != nil {
		t.Fatal(err)
	}
	if got.OutputDir != "/from/env" {
		t.Errorf("output_dir = %q, want the environment's", got.OutputDir)
	}
	if got.Writer.WriteInterval != 9*time.Second {
		t.Errorf("write_interval = %v, want the file's 9s", got.Writer.WriteInterval)
	}
	if got.Ingest.GRPCAddr != "0.0.0.0:6000" || got.Ingest.GRPCEnabled {
		t.Errorf("grpc = %v %q, want disabled on the file's host with the environment's port", got.Ingest.GRPCEnabled, got.Ingest.GRPCAddr)
	}
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		want []string // substrings of the message
	}{
		{"unknown key", "outptu_dir: x\n", nil, []string{"outptu_dir"}},
		{"unknown nested key", "writer:\n  compresion: zstd\n", nil, []string{"compresion"}},
		{"bad compression", "writer:\n  compression: gzip\n", nil, []string{"line 2: writer.compression: gzip", "zstd, lz4 or none"}},
		{"bad compression env", "", []string{"OTLP_WRITER_COMPRESSION=gzip"}, []string{"writer.compression", `"gzip"`, "zstd, lz4 or none"}},
		{"bad level", "log:\n  level: loud\n", nil, []string{"log.level", "loud", "debug, info, warn or error"}},
		{"bad addr", "ingest_grpc:\n  grpc_addr: nohost\n", nil, []string{"ingest_grpc.grpc_addr", "host:port"}},
		{"bad sync", "bus:\n  sync_interval: sometimes\n", nil, []string{"bus.sync_interval", "always"}},
		{"bad payload compression", "bus:\n  payload_compression: gzip\n", nil, []string{"bus.payload_compression: gzip", "none, lz4 or zstd"}},
		{"bad payload compression env", "", []string{"OTLP_BUS_PAYLOAD_COMPRESSION=snappy"}, []string{"bus.payload_compression", `"snappy"`}},
		{"bad interval env", "", []string{"OTLP_WRITE_INTERVAL_SECS=soon"}, []string{"OTLP_WRITE_INTERVAL_SECS", "soon", "seconds"}},
		{"bad bool env", "", []string{"OTLP_PROTOBUF_ENABLED=maybe"}, []string{"OTLP_PROTOBUF_ENABLED", "true or false"}},
		{"bad port env", "", []string{"OTLP_HTTP_PORT=70000"}, []string{"OTLP_HTTP_PORT", "0-65535"}},
		{"unknown env", "", []string{"OTLP_OUTPUT_DIRR=x"}, []string{"OTLP_OUTPUT_DIRR"}},
		{"memory_limit below -1", "memory_limit: -2\n", nil, []string{"memory_limit = -2", "0 for no bound", "-1 (the default)"}},
		{"memory_limit below -1 env", "", []string{"OTLP_MEMORY_LIMIT=-5"}, []string{"memory_limit = -5", "0 for no bound"}},
		{"memory_limit with a unit env", "", []string{"OTLP_MEMORY_LIMIT=384MiB"}, []string{"OTLP_MEMORY_LIMIT", "integer"}},
		{"secret not echoed", "", []string{"OTLP_NATS_PASSWORD=hunter2", "OTLP_NATS_PORT=x"}, []string{"OTLP_NATS_PORT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			env := tt.env
			if env == nil {
				env = []string{}
			}
			_, err := Load(path, env)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("message shows a secret: %q", err)
			}
		})
	}
}

func TestPrintRedactsSecrets(t *testing.T) {
	c := Default()
	c.Bus.Password = "hunter2"
	c.Bus.Token = "s3cret"
	var buf bytes.Buffer
	if err := c.Print(&buf); err != nil {
		t.Fatal(err)
	}
	if s := buf.String(); strings.Contains(s, "hunter2") || strings.Contains(s, "s3cret") || !strings.Contains(s, "[redacted]") {
		t.Errorf("print shows secrets or no redaction:\n%s", s)
	}
	// What print writes loads back (secrets aside).
	var back Config = Default()
	if err := Parse(&buf, &back); err != nil {
		t.Fatalf("printed config does not parse: %v", err)
	}
}

// memory_limit: not set (or an empty key) is the default, derived at start;
// 0 stays no bound; a number of bytes is the bound.
func TestMemoryLimitValues(t *testing.T) {
	for _, c := range []struct {
		file string
		env  []string
		want int64
	}{
		{"", nil, MemoryLimitDefault},
		{"memory_limit:\n", nil, MemoryLimitDefault},
		{"memory_limit: 0\n", nil, 0},
		{"memory_limit: 402653184\n", nil, 384 << 20},
		{"memory_limit: 0\n", []string{"OTLP_MEMORY_LIMIT=-1"}, MemoryLimitDefault},
		{"", []string{"OTLP_MEMORY_LIMIT=0"}, 0},
	} {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, []byte(c.file), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Load(path, append([]string{}, c.env...))
		if err != nil {
			t.Fatalf("%q %v: %v", c.file, c.env, err)
		}
		if got.MemoryLimit != c.want {
			t.Errorf("%q %v: memory_limit = %d, want %d", c.file, c.env, got.MemoryLimit, c.want)
		}
	}
}
