package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestConfigPrintAndStartLogRedactSecrets(t *testing.T) {
	env := []string{"OTLP_NATS_USER=u", "OTLP_NATS_PASSWORD=hunter2", "OTLP_FORWARDING_API_KEY=s3cret-token"}
	var out, errb bytes.Buffer
	if code := mainEnv(context.Background(), []string{"config", "print"}, &cmdEnv{stdout: &out, stderr: &errb, environ: env}); code != 0 {
		t.Fatalf("config print exited %d: %s", code, errb.String())
	}
	for _, format := range []string{"text", "json"} {
		var logs bytes.Buffer
		c, b, err := loadConfig("x", &cmdEnv{stderr: &logs, environ: append(env, "OTLP_LOG_FORMAT="+format, "OTLP_LOG_LEVEL=debug")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		logStart(newLogger(&logs, c.Log), "run", c, b)
		if !strings.Contains(logs.String(), "[redacted]") {
			t.Errorf("%s start line shows no redaction: %s", format, logs.String())
		}
		out.WriteString(logs.String())
	}
	for _, secret := range []string{"hunter2", "s3cret-token"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("output shows a secret:\n%s", out.String())
		}
	}
	if !strings.Contains(out.String(), "output_dir: ./output_dir") {
		t.Errorf("config print lacks the output dir:\n%s", out.String())
	}
}

func TestConfigValidate(t *testing.T) {
	var out, errb bytes.Buffer
	if code := mainEnv(context.Background(), []string{"config", "validate", "../../../config.example.yaml"}, &cmdEnv{stdout: &out, stderr: &errb}); code != 0 {
		t.Fatalf("validate example exited %d: %s", code, errb.String())
	}
	if code := mainEnv(context.Background(), []string{"config", "validate", "/nonexistent.yaml"}, &cmdEnv{stdout: &out, stderr: &errb}); code == 0 {
		t.Fatal("validate of a missing file succeeded")
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := mainEnv(context.Background(), []string{"frobnicate"}, &cmdEnv{stdout: &out, stderr: &errb}); code != 2 {
		t.Fatalf("exit = %d, want 2", code)
	}
	if !strings.Contains(errb.String(), `unknown command "frobnicate"`) {
		t.Errorf("stderr = %q", errb.String())
	}
}
