package dashboard

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Files are served only from under the output directory: every way out is
// a 404 and a log line.
func TestDownloadTraversal(t *testing.T) {
	dir := fixture(t)
	secret := filepath.Join(filepath.Dir(dir), "secret.arrows")
	if err := os.WriteFile(secret, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A link inside the output directory that points out of it.
	link := filepath.Join(dir, "otlp", "traces", "traces-20261125T060102.000000000Z-w1-999999.arrows")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	_, srv := newTestDashboard(t, dir, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	for _, p := range []string{
		"/files/../secret.arrows",
		"/files/otlp/../../secret.arrows",
		"/files/%2e%2e/secret.arrows",
		"/files/otlp/traces/%2E%2E/%2E%2E/%2E%2E/secret.arrows",
		"/files/..%2fsecret.arrows",
		"/files/otlp%2f..%2f..%2fsecret.arrows",
		"/files/otlp/traces/..%5c..%5csecret.arrows",
		"/files//etc/passwd",
		"/files/otlp/traces/traces-20261125T060102.000000000Z-w1-999999.arrows",
		"/files/otlp/traces/notes.txt",
		"/files/otlp/journal/w1.journal",
		"/files/" + strings.TrimPrefix(secret, "/"),
		"/../secret.arrows",
	} {
		logs.Reset()
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		// Raw request: clients would clean the path themselves.
		io.WriteString(conn, "GET "+p+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		resp, _ := io.ReadAll(conn)
		conn.Close()
		status, _, _ := strings.Cut(string(resp), "\r\n")
		if status != "HTTP/1.1 404 Not Found" || strings.Contains(string(resp), "secret\n") || bytes.Contains(resp, []byte("\r\n\r\nsecret")) {
			t.Errorf("%s: %s", p, status)
		}
		if !strings.Contains(logs.String(), "refused") {
			t.Errorf("%s: no log line", p)
		}
	}
}
