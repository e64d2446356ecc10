package ingestauth

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

// ErrInvalidConfig is matched (errors.Is) by the errors of [NewChecker]
// and [ServerTLS] for configuration that can never work (an empty tokens
// file, an invalid token line, a client CA file without certificates).
// Their text does not repeat it: it names the key, so that a stage can wrap
// them in its own invalid-config error.
var ErrInvalidConfig = errors.New("ingestauth: invalid config")

// configError is an error matching [ErrInvalidConfig] whose text is only
// the problem.
type configError string

func (e configError) Error() string        { return string(e) }
func (e configError) Is(target error) bool { return target == ErrInvalidConfig }

func invalid(format string, args ...any) error { return configError(fmt.Sprintf(format, args...)) }

// FileCheckInterval is how often, at most, a [Checker] looks at its tokens
// file's modification time and size.
const FileCheckInterval = 5 * time.Second

// tokenHash is how tokens are kept and compared: hashing first makes the
// constant-time comparison independent of the tokens' lengths too.
type tokenHash [sha256.Size]byte

// Checker checks bearer tokens against static tokens and those of a tokens
// file. It is safe for concurrent use.
type Checker struct {
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

// Option configures a [Checker].
type Option func(*Checker)

// WithClock makes the Checker read the time from now (tests).
func WithClock(now func() time.Time) Option { return func(c *Checker) { c.now = now } }

// NewChecker returns a Checker accepting tokens and those of file (one
// token per line; blank lines and # comments ignored; "" for none). It
// returns nil and no error when both are empty: authentication is off. It
// fails when the file cannot be read, holds an invalid line, or no token
// is configured at all (errors matching [ErrInvalidConfig] for the latter two).
// Errors name the file and line, never a token. log receives one line per
// reload of the file and one warning per failed reload; it must not be nil
// when file is set.
func NewChecker(tokens []string, file string, log *slog.Logger, opts ...Option) (*Checker, error) {
	if len(tokens) == 0 && file == "" {
		return nil, nil
	}
	c := &Checker{file: file, log: log, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	for i, t := range tokens {
		if err := CheckToken(t); err != nil {
			return nil, invalid("auth_tokens[%d]: %v", i, err)
		}
		c.static = append(c.static, sha256.Sum256([]byte(t)))
	}
	if file != "" {
		fi, err := os.Stat(file)
		if err != nil {
			return nil, fmt.Errorf("read auth_tokens_file: %w", err)
		}
		toks, err := readTokens(file)
		if err != nil {
			return nil, err
		}
		c.fileTokens, c.modTime, c.size, c.checked = toks, fi.ModTime(), fi.Size(), c.now()
	}
	if len(c.static) == 0 && len(c.fileTokens) == 0 {
		return nil, invalid("auth_tokens_file %s holds no token", file)
	}
	return c, nil
}

// readTokens reads a tokens file. Errors name the line, never the token.
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
		if err := CheckToken(line); err != nil {
			return nil, invalid("auth_tokens_file %s line %d: %v", path, n, err)
		}
		out = append(out, sha256.Sum256([]byte(line)))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read auth_tokens_file: %w", err)
	}
	return out, nil
}

// CheckToken accepts tokens of visible ASCII characters (RFC 6750's
// b64token and more), so that they travel in a header unchanged. Its
// errors never repeat the token.
func CheckToken(tok string) error {
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

// BearerToken extracts the token of an "authorization: Bearer <t>" value;
// the scheme is case-insensitive. ok is false for another scheme or an
// empty token.
func BearerToken(header string) (token string, ok bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// Check reports whether token is accepted. It compares the token's SHA-256
// with every configured token's in constant time, so neither content nor
// length leaks through timing. A nil Checker accepts nothing.
func (c *Checker) Check(token string) bool {
	if c == nil {
		return false
	}
	h := sha256.Sum256([]byte(token))
	match := 0
	for i := range c.static {
		match |= subtle.ConstantTimeCompare(h[:], c.static[i][:])
	}
	for _, t := range c.currentFileTokens() {
		match |= subtle.ConstantTimeCompare(h[:], t[:])
	}
	return match == 1
}

// currentFileTokens returns the tokens file's tokens, re-reading the file
// when its modification time or size changed (looked at no more often than
// FileCheckInterval). A file that became unreadable or invalid keeps the
// previous tokens, with one warning.
func (c *Checker) currentFileTokens() []tokenHash {
	if c.file == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if now.Sub(c.checked) < FileCheckInterval {
		return c.fileTokens
	}
	c.checked = now
	fi, err := os.Stat(c.file)
	if err == nil && fi.ModTime().Equal(c.modTime) && fi.Size() == c.size {
		return c.fileTokens
	}
	var toks []tokenHash
	if err == nil {
		toks, err = readTokens(c.file)
	}
	if err != nil {
		if msg := err.Error(); msg != c.lastErr {
			c.lastErr = msg
			c.log.Warn("keeping the previous bearer tokens", "file", c.file, "err", err)
		}
		return c.fileTokens
	}
	c.lastErr = ""
	c.fileTokens, c.modTime, c.size = toks, fi.ModTime(), fi.Size()
	c.log.Info("reloaded bearer tokens", "file", c.file, "tokens", len(toks))
	return c.fileTokens
}
