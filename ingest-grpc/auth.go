package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/otlp-arrow/otlp-arrow/proto/ingestauth"
)

// ErrUnauthenticated is wrapped when authentication is on and a request
// carries no valid bearer token. Permanent: UNAUTHENTICATED / HTTP 401.
var ErrUnauthenticated = errors.New("ingest: unauthenticated")

// tokenFileCheckInterval is how often the tokens file's modification time is
// looked at, at most.
const tokenFileCheckInterval = ingestauth.FileCheckInterval

// authenticator checks authorization headers with the shared
// [ingestauth.Checker]. It is safe for concurrent use.
type authenticator struct {
	checker *ingestauth.Checker
	now     func() time.Time // the checker's clock; tests replace it
}

// newAuthenticator returns nil when cfg turns authentication off. It fails
// when the tokens file cannot be read or no token is configured at all.
func newAuthenticator(cfg AuthConfig, log *slog.Logger) (*authenticator, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	a := &authenticator{now: time.Now}
	c, err := ingestauth.NewChecker(cfg.Tokens, cfg.TokensFile, log, ingestauth.WithClock(func() time.Time { return a.now() }))
	if err != nil {
		if errors.Is(err, ingestauth.ErrInvalidConfig) {
			return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		return nil, err
	}
	a.checker = c
	return a, nil
}

// checkToken accepts tokens of visible ASCII characters.
func checkToken(tok string) error { return ingestauth.CheckToken(tok) }

// bearerToken extracts the token of an "authorization: Bearer <t>" value.
func bearerToken(header string) (string, bool) { return ingestauth.BearerToken(header) }

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
	if !a.checker.Check(tok) {
		return fmt.Errorf("%w: invalid bearer token", ErrUnauthenticated)
	}
	return nil
}
