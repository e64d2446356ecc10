package ingestauth

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

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
		tok, ok := BearerToken(tt.header)
		if tok != tt.tok || ok != tt.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tt.header, tok, ok, tt.tok, tt.ok)
		}
	}
}

func TestCheckerStatic(t *testing.T) {
	c, err := NewChecker([]string{"one", "two-longer"}, "", discard())
	if err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]bool{"one": true, "two-longer": true, "on": false, "one1": false, "": false} {
		if got := c.Check(tok); got != want {
			t.Errorf("Check(%q) = %v, want %v", tok, got, want)
		}
	}
	if c, err := NewChecker(nil, "", discard()); c != nil || err != nil {
		t.Errorf("no tokens: checker %v, %v; want off", c, err)
	}
	var off *Checker
	if off.Check("one") {
		t.Error("a nil checker accepts a token")
	}
	if _, err := NewChecker([]string{"has space"}, "", discard()); !errors.Is(err, ErrInvalidConfig) || strings.Contains(err.Error(), "space") {
		t.Errorf("invalid static token: err = %v, want ErrInvalidConfig without the token", err)
	}
}

func TestCheckerFileReload(t *testing.T) {
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
	now := time.Now()
	c, err := NewChecker([]string{"static"}, path, discard(), WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"alpha", "beta", "static"} {
		if !c.Check(tok) {
			t.Errorf("token %s refused", tok)
		}
	}
	if c.Check("# team a") {
		t.Error("a comment line is a token")
	}
	// Rotation: beta goes, gamma comes; seen after the check interval.
	write("alpha\ngamma\n", t0.Add(time.Minute))
	if c.Check("gamma") {
		t.Error("file re-read before the check interval")
	}
	now = now.Add(FileCheckInterval)
	if !c.Check("gamma") {
		t.Error("rotated token refused")
	}
	if c.Check("beta") {
		t.Error("removed token still accepted")
	}
	// A broken file, then a missing one, keep the previous tokens.
	write("ok\nbad token with spaces\n", t0.Add(2*time.Minute))
	now = now.Add(FileCheckInterval)
	if !c.Check("gamma") {
		t.Error("previous token refused after a broken file")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	now = now.Add(FileCheckInterval)
	if !c.Check("gamma") {
		t.Error("previous token refused after the file went")
	}
}

func TestCheckerFileErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	bad := filepath.Join(dir, "bad")
	_ = os.WriteFile(empty, []byte("# nothing\n"), 0o600)
	_ = os.WriteFile(bad, []byte("fine\nsecret\tvalue\n"), 0o600)
	for _, tt := range []struct {
		file, want string
		invalid    bool
	}{
		{filepath.Join(dir, "missing"), "read auth_tokens_file", false},
		{empty, "holds no token", true},
		{bad, "line 2: want visible ASCII characters only", true},
	} {
		_, err := NewChecker(nil, tt.file, discard())
		if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, ErrInvalidConfig) != tt.invalid {
			t.Errorf("%s: err = %v, want %q (ErrInvalidConfig: %v)", tt.file, err, tt.want, tt.invalid)
		}
		if err != nil && strings.Contains(err.Error(), "value") {
			t.Errorf("error reveals a token: %v", err)
		}
	}
}
