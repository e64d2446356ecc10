package ingest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header, tok string
		ok          bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic abc", "", false},
		{"abc", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		tok, ok := bearerToken(tt.header)
		if tok != tt.tok || ok != tt.ok {
			t.Errorf("bearerToken(%q) = %q, %v; want %q, %v", tt.header, tok, ok, tt.tok, tt.ok)
		}
	}
}

func TestAuthenticatorStatic(t *testing.T) {
	a, err := newAuthenticator(AuthConfig{Tokens: []string{"one", "two-longer"}}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		header string
		want   string // "" for success, else the message
	}{
		{"Bearer one", ""},
		{"Bearer two-longer", ""},
		{"Bearer on", "ingest: unauthenticated: invalid bearer token"},
		{"Bearer one1", "ingest: unauthenticated: invalid bearer token"},
		{"", "ingest: unauthenticated: missing bearer token (want authorization: Bearer <token>)"},
		{"Token one", "ingest: unauthenticated: authorization is not a bearer token"},
	}
	for _, tt := range tests {
		err := a.check(tt.header)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("check(%q) = %v, want nil", tt.header, err)
		case tt.want != "" && (err == nil || err.Error() != tt.want || !errors.Is(err, ErrUnauthenticated)):
			t.Errorf("check(%q) = %v, want %q", tt.header, err, tt.want)
		}
	}
	if a, err := newAuthenticator(AuthConfig{}, testLogger(t)); a != nil || err != nil {
		t.Errorf("no tokens: authenticator %v, %v; want off", a, err)
	}
}

func TestAuthenticatorFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	write := func(s string, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().Add(-time.Hour)
	write("# team a\nalpha\n\n  beta  \n", t0)
	a, err := newAuthenticator(AuthConfig{Tokens: []string{"static"}, TokensFile: path}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	a.now = func() time.Time { return now }
	for _, tok := range []string{"alpha", "beta", "static"} {
		if err := a.check("Bearer " + tok); err != nil {
			t.Errorf("token %s: %v", tok, err)
		}
	}
	if err := a.check("Bearer # team a"); err == nil {
		t.Error("a comment line is a token")
	}
	// Rotation: beta goes, gamma comes; seen after the check interval.
	write("alpha\ngamma\n", t0.Add(time.Minute))
	if err := a.check("Bearer gamma"); err == nil {
		t.Error("file re-read before the check interval")
	}
	now = now.Add(tokenFileCheckInterval)
	if err := a.check("Bearer gamma"); err != nil {
		t.Errorf("rotated token: %v", err)
	}
	if err := a.check("Bearer beta"); err == nil {
		t.Error("removed token still accepted")
	}
	// A broken file keeps the previous tokens.
	write("ok\nbad token with spaces\n", t0.Add(2*time.Minute))
	now = now.Add(tokenFileCheckInterval)
	if err := a.check("Bearer gamma"); err != nil {
		t.Errorf("previous token after a broken file: %v", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	now = now.Add(tokenFileCheckInterval)
	if err := a.check("Bearer gamma"); err != nil {
		t.Errorf("previous token after the file went: %v", err)
	}
}

func TestAuthenticatorFileErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	bad := filepath.Join(dir, "bad")
	_ = os.WriteFile(empty, []byte("# nothing\n"), 0o600)
	_ = os.WriteFile(bad, []byte("fine\nsecret\tvalue\n"), 0o600)
	for _, tt := range []struct {
		file, want string
	}{
		{filepath.Join(dir, "missing"), "read auth_tokens_file"},
		{empty, "holds no token"},
		{bad, "line 2: want visible ASCII characters only"},
	} {
		_, err := newAuthenticator(AuthConfig{TokensFile: tt.file}, testLogger(t))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.file, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "value") {
			t.Errorf("error reveals a token: %v", err)
		}
	}
}

func TestAuthConfigRedacted(t *testing.T) {
	c := DefaultConfig()
	c.Auth.Tokens = []string{"s3cr3t-token"}
	for _, s := range []string{c.Auth.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c)} {
		if strings.Contains(s, "s3cr3t") {
			t.Errorf("config shows the token: %s", s)
		}
	}
}
