package ingest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// ErrUnauthenticated is wrapped when authentication is on and a request
// carries no valid bearer token. Permanent: UNAUTHENTICATED / HTTP 401.
var ErrUnauthenticated = errors.New("ingest: unauthenticated")

// tokenFileCheckInterval is how often the tokens file's modification time is
// looked at, at most.
const tokenFileCheckInterval = 5 * time.Second

// tokenHash is how tokens are kept and compared: hashing first makes the
// constant-time comparison independent of the tokens' lengths too.
type tokenHash [sha256.Size]byte

// authenticator checks bearer tokens against the configured ones and those
// of the tokens file. It is safe for concurrent use.
type authenticator struct {
	static []tokenHash
	file   string
	log    *slog.Logger
	now    func() time.Time

	mu         sync.Mutex
	fileTokens []tokenHash
	modTime    time.Time
	size       int64
	checked    time.Time
	lastErr    string
}

// newAuthenticator returns nil when cfg turns authentication off. It fails
// when the tokens file cannot be read or no token is configured at all.
func newAuthenticator(cfg AuthConfig, log *slog.Logger) (*authenticator, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	a := &authenticator{file: cfg.TokensFile, log: log, now: time.Now}
	for _, t := range cfg.Tokens {
		a.static = append(a.static, sha256.Sum256([]byte(t)))
	}
	if a.file != "" {
		fi, err := os.Stat(a.file)
		if err != nil {
			return nil, fmt.Errorf("read auth_tokens_file: %w", err)
		}
		toks, err := readTokens(a.file)
		if err != nil {
			return nil, err
		}
		a.fileTokens, a.modTime, a.size, a.checked = toks, fi.ModTime(), fi.Size(), a.now()
	}
	if len(a.static) == 0 && len(a.fileTokens) == 0 {
		return nil, fmt.Errorf("%w: auth_tokens_file %s holds no token", ErrInvalidConfig, a.file)
	}
	return a, nil
}

// readTokens reads a tokens file: one token per line, blank lines and #
// comments ignored. Errors name the line, never the token.
func readTokens(path string) ([]tokenHash, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read auth_tokens_file: %w", err)
	}
	var out []tokenHash
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := checkToken(line); err != nil {
			return nil, fmt.Errorf("%w: auth_tokens_file %s line %d: %v", ErrInvalidConfig, path, n, err)
		}
		out = append(out, sha256.Sum256([]byte(line)))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read auth_tokens_file: %w", err)
	}
	return out, nil
}

// checkToken accepts tokens of visible ASCII characters (RFC 6750's
// b64token and more), so that they travel in a header unchanged.
func checkToken(tok string) error {
	if tok == "" {
		return errors.New("want a non-empty token")
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < 0x21 || tok[i] > 0x7e {
			return errors.New("want visible ASCII characters only")
		}
	}
	return nil
}

// bearerToken extracts the token of an "authorization: Bearer <t>" value.
func bearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// check returns nil when header (the authorization value; "" when absent)
// carries an accepted bearer token, else an error wrapping
// [ErrUnauthenticated] that does not repeat what the client sent.
func (a *authenticator) check(header string) error {
	if header == "" {
		return fmt.Errorf("%w: missing bearer token (want authorization: Bearer <token>)", ErrUnauthenticated)
	}
	tok, ok := bearerToken(header)
	if !ok {
		return fmt.Errorf("%w: authorization is not a bearer token", ErrUnauthenticated)
	}
	h := sha256.Sum256([]byte(tok))
	match := 0
	for i := range a.static {
		match |= subtle.ConstantTimeCompare(h[:], a.static[i][:])
	}
	for _, t := range a.currentFileTokens() {
		match |= subtle.ConstantTimeCompare(h[:], t[:])
	}
	if match != 1 {
		return fmt.Errorf("%w: invalid bearer token", ErrUnauthenticated)
	}
	return nil
}

// currentFileTokens returns the tokens file's tokens, re-reading the file
// when its modification time or size changed (looked at no more often than
// tokenFileCheckInterval). A file that became unreadable or invalid keeps
// the previous tokens, with one warning.
func (a *authenticator) currentFileTokens() []tokenHash {
	if a.file == "" {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if now.Sub(a.checked) < tokenFileCheckInterval {
		return a.fileTokens
	}
	a.checked = now
	fi, err := os.Stat(a.file)
	if err == nil && fi.ModTime().Equal(a.modTime) && fi.Size() == a.size {
		return a.fileTokens
	}
	var toks []tokenHash
	if err == nil {
		toks, err = readTokens(a.file)
	}
	if err != nil {
		if msg := err.Error(); msg != a.lastErr {
			a.lastErr = msg
			a.log.Warn("keeping the previous bearer tokens", "file", a.file, "err", err)
		}
		return a.fileTokens
	}
	a.lastErr = ""
	a.fileTokens, a.modTime, a.size = toks, fi.ModTime(), fi.Size()
	a.log.Info("reloaded bearer tokens", "file", a.file, "tokens", len(toks))
	return a.fileTokens
}
