package forward

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
)

// redacted replaces a secret wherever it would be shown.
const redacted = "[REDACTED]"

// Secret is a credential. Its String, GoString, LogValue and MarshalText
// methods redact it, so printing, logging or dumping a Config never shows
// it; Reveal returns the value.
type Secret string

// String returns "[REDACTED]", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts like String, for %#v.
func (s Secret) GoString() string { return `forward.Secret("` + s.String() + `")` }

// LogValue redacts the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts the secret in YAML, JSON and text dumps.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret's value. Never log it.
func (s Secret) Reveal() string { return string(s) }

// requestHeaders returns the headers every request carries: Config.Headers
// and the credentials, reading the secret files. Errors name the file,
// never its content.
func requestHeaders(c Config) (http.Header, error) {
	h := http.Header{}
	for k, v := range c.Headers {
		h.Set(k, v.Reveal())
	}
	a := c.Auth
	apiKey, err := secretValue("Auth.APIKeyFile", a.APIKey, a.APIKeyFile)
	if err != nil {
		return nil, err
	}
	if apiKey != "" {
		name := a.APIKeyHeader
		if name == "" {
			name = DefaultAPIKeyHeader
		}
		h.Set(name, apiKey)
	}
	token, err := secretValue("Auth.BearerTokenFile", a.BearerToken, a.BearerTokenFile)
	if err != nil {
		return nil, err
	}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	password, err := secretValue("Auth.BasicPasswordFile", a.BasicPassword, a.BasicPasswordFile)
	if err != nil {
		return nil, err
	}
	if a.BasicUser != "" {
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(a.BasicUser+":"+password)))
	}
	return h, nil
}

// secretValue returns the inline secret, or the trimmed content of file.
func secretValue(field string, inline Secret, file string) (string, error) {
	if file == "" {
		return inline.Reveal(), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%w: %s: read %s: %w", ErrInvalidConfig, field, file, unwrapPathError(err))
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%w: %s: %s is empty", ErrInvalidConfig, field, file)
	}
	if strings.ContainsAny(v, "\r\n\x00") {
		return "", fmt.Errorf("%w: %s: %s holds more than one line", ErrInvalidConfig, field, file)
	}
	return v, nil
}

// unwrapPathError drops the *fs.PathError wrapper, whose message repeats
// the path.
func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
