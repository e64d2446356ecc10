package dashboard_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

// newServer serves h on loopback until the test ends.
func newServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// smallBufferClient is an HTTP client whose connections get a 32 KiB
// receive buffer before they connect, so a client that stops reading fills
// up after a few hundred rows (and reads at loopback speed once it reads).
func smallBufferClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 32<<10)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return &http.Client{Transport: &http.Transport{DisableCompression: true, DialContext: d.DialContext}}
}
