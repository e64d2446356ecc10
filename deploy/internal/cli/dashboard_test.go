package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Off loopback, the dashboard command refuses to start without a token,
// before it reaches for the bus.
func TestDashboardCommandNeedsTokenOffLoopback(t *testing.T) {
	var stdout, stderr bytes.Buffer
	env := &cmdEnv{stdout: &stdout, stderr: &stderr, environ: []string{
		"OTLP_DASHBOARD_ADDR=0.0.0.0:0", "OTLP_ADMIN_ADDR=", "OTLP_OUTPUT_DIR=" + t.TempDir(),
	}}
	if code := mainEnv(context.Background(), []string{"dashboard"}, env); code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "token") {
		t.Errorf("stderr does not name the token:\n%s", stderr.String())
	}
}
