package dashboard

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTokenRequiredOffLoopback(t *testing.T) {
	for _, tt := range []struct {
		addr, token string
		wantErr     bool
	}{
		{"127.0.0.1:0", "", false},
		{"localhost:8090", "", false},
		{"[::1]:8090", "", false},
		{":8090", "", true},
		{"0.0.0.0:8090", "", true},
		{"192.0.2.1:8090", "", true},
		{"0.0.0.0:8090", "s3cret", false},
	} {
		cfg := DefaultConfig()
		cfg.Addr, cfg.Token, cfg.OutputDir = tt.addr, tt.token, t.TempDir()
		_, err := New(cfg)
		if got := errors.Is(err, ErrTokenRequired); got != tt.wantErr {
			t.Errorf("addr %s token %q: err %v, want token error %v", tt.addr, tt.token, err, tt.wantErr)
		}
	}
}

func TestSecurityHeadersAndToken(t *testing.T) {
	cfg := DefaultConfig()
	cfg.OutputDir, cfg.Addr, cfg.Token, cfg.NoListen = t.TempDir(), "0.0.0.0:0", "s3cret", true
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	defer srv.Close()
	get := func(path string, mod func(*http.Request)) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if mod != nil {
			mod(req)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	checkHeaders := func(resp *http.Response) {
		t.Helper()
		for k, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "style-src 'self';") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP %q", csp)
		}
	}
	resp := get("/", nil)
	checkHeaders(resp)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d", resp.StatusCode)
	}
	if resp := get("/", func(r *http.Request) { r.Header.Set("Authorization", "Bearer wrong") }); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", resp.StatusCode)
	}
	resp = get("/", func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret") })
	checkHeaders(resp)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("bearer token: %d", resp.StatusCode)
	}
	resp = get("/?token=s3cret", nil)
	if resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 1 {
		t.Fatalf("?token=: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	c := resp.Cookies()[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie %+v", c)
	}
	if resp := get("/api/files", func(r *http.Request) { r.AddCookie(c) }); resp.StatusCode == http.StatusUnauthorized {
		t.Errorf("cookie refused")
	}
}
