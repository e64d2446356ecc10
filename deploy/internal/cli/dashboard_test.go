package cli

import (
	"bytes"
	"context"
	"net/http"
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

// run serves the dashboard on its admin address at /, beside the admin
// endpoints, with the dashboard's headers on the dashboard only.
func TestRunServesDashboard(t *testing.T) {
	p := startRun(t)
	for _, tt := range []struct {
		path, csp string
	}{
		{"/", "default-src 'self'"},
		{"/api/overview", "default-src 'self'"},
		{"/healthz", ""},
	} {
		resp, err := http.Get(p.adminURL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Security-Policy"), tt.csp) ||
			(tt.csp == "") != (resp.Header.Get("Content-Security-Policy") == "") {
			t.Errorf("%s: %d, CSP %q", tt.path, resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
		}
	}
}
