package forward

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// endpoint is a parsed, validated target endpoint.
type endpoint struct {
	addr     string // host:port, for grpc and arrow_flight
	base     string // scheme://host[:port][/path] without a trailing '/', for http
	host     string // for the TLS server name
	secure   bool
	redacted string // safe to show: no user info, no query
}

var endpointForms = map[string]string{
	ProtocolGRPC:        "http://host:port (plaintext), https://host:port (TLS) or host:port (TLS unless TLS.Insecure)",
	ProtocolHTTP:        "http://host[:port][/path] or https://host[:port][/path] (/v1/<signal> is appended)",
	ProtocolArrowFlight: "grpc://host:port (plaintext) or grpc+tls://host:port (TLS)",
}

// parseEndpoint validates raw for protocol (canonical name) and returns it
// parsed. Errors show the endpoint without user info or query.
func parseEndpoint(protocol, raw string, insecure bool) (*endpoint, error) {
	red := redactEndpoint(raw)
	fail := func(format string, args ...any) (*endpoint, error) {
		return nil, fmt.Errorf("%q: %s; want %s", red, fmt.Sprintf(format, args...), endpointForms[protocol])
	}
	if strings.TrimSpace(raw) == "" {
		return fail("empty")
	}
	if protocol == ProtocolGRPC && !strings.Contains(raw, "://") {
		host, port, err := net.SplitHostPort(raw)
		if err != nil {
			return fail("not host:port (%v)", errors.Unwrap(err))
		}
		if err := checkHostPort(host, port, true); err != nil {
			return fail("%v", err)
		}
		return &endpoint{addr: raw, host: host, secure: !insecure, redacted: red}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fail("not a URL")
	}
	var secure bool
	schemes := map[string][]string{
		ProtocolGRPC:        {"http", "https"},
		ProtocolHTTP:        {"http", "https"},
		ProtocolArrowFlight: {"grpc", "grpc+tcp", "grpc+tls"},
	}[protocol]
	switch u.Scheme {
	case "https", "grpc+tls":
		secure = true
	case "http", "grpc", "grpc+tcp":
	default:
		return fail("scheme %q not allowed", u.Scheme)
	}
	if !slices.Contains(schemes, u.Scheme) {
		return fail("scheme %q not allowed", u.Scheme)
	}
	switch {
	case u.User != nil:
		return fail("user info in the URL is not allowed; use Auth.BasicUser and Auth.BasicPassword")
	case u.RawQuery != "" || u.ForceQuery:
		return fail("a query string is not allowed")
	case u.Fragment != "":
		return fail("a fragment is not allowed")
	case u.Opaque != "":
		return fail("missing '//' after the scheme")
	}
	if err := checkHostPort(u.Hostname(), u.Port(), protocol != ProtocolHTTP); err != nil {
		return fail("%v", err)
	}
	if secure && insecure {
		return fail("TLS.Insecure is set but the scheme %q asks for TLS; use %s", u.Scheme,
			map[string]string{"https": "http://", "grpc+tls": "grpc://"}[u.Scheme])
	}
	ep := &endpoint{addr: u.Host, host: u.Hostname(), secure: secure, redacted: red}
	if protocol == ProtocolHTTP {
		ep.base = u.Scheme + "://" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/")
	} else if u.Path != "" && u.Path != "/" {
		return fail("a path is not allowed")
	}
	return ep, nil
}

func checkHostPort(host, port string, portRequired bool) error {
	if host == "" {
		return errors.New("missing host")
	}
	if port == "" {
		if portRequired {
			return errors.New("missing port")
		}
		return nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

// redactEndpoint returns raw without a password and without a query.
func redactEndpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || !strings.Contains(raw, "://") {
		if i := strings.IndexAny(raw, "?@"); i >= 0 {
			return raw[:i] + "..."
		}
		return raw
	}
	if u.RawQuery != "" {
		u.RawQuery = "redacted"
	}
	if u.User != nil {
		u.User = url.User("redacted")
	}
	return u.String()
}
