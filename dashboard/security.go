package dashboard

import (
	"crypto/subtle"
	"net/http"
	"path"
	"strings"
)

// contentSecurityPolicy allows the page's own scripts, styles, images and
// requests only: no inline script, no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; " +
	"frame-ancestors 'none'; form-action 'self'"

// tokenCookie carries the token a browser was given with ?token=.
const tokenCookie = "otlp_dashboard_token"

// secure sets the security headers on every response and, when a token is
// configured, refuses requests that do not carry it.
func (d *Dashboard) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if traversal(r) {
			d.log.Warn("dashboard request refused: path traversal", "path", r.URL.EscapedPath(), "remote", r.RemoteAddr)
			http.NotFound(w, r)
			return
		}
		if d.cfg.Token != "" && !d.authorized(w, r) {
			d.log.Warn("dashboard request refused: no valid token", "path", r.URL.Path, "remote", r.RemoteAddr)
			h.Set("WWW-Authenticate", `Bearer realm="otlp-arrow dashboard"`)
			http.Error(w, "token required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// traversal reports a path with a ".." segment (escaped or not) or a
// backslash: answered 404 before the router could clean and redirect it.
func traversal(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/files/") && path.Clean(r.URL.Path) != r.URL.Path {
		return true
	}
	for _, p := range []string{r.URL.Path, r.URL.EscapedPath(), r.RequestURI} {
		p, _, _ = strings.Cut(p, "?")
		if strings.Contains(p, "\\") || strings.Contains(strings.ToLower(p), "%5c") {
			return true
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == ".." || strings.EqualFold(seg, "%2e%2e") || strings.EqualFold(seg, ".%2e") || strings.EqualFold(seg, "%2e.") {
				return true
			}
		}
	}
	return false
}

// authorized checks the bearer header, the cookie, or ?token= (which then
// sets the cookie).
func (d *Dashboard) authorized(w http.ResponseWriter, r *http.Request) bool {
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && d.tokenOK(auth) {
		return true
	}
	if c, err := r.Cookie(tokenCookie); err == nil && d.tokenOK(c.Value) {
		return true
	}
	if q := r.URL.Query().Get("token"); q != "" && d.tokenOK(q) {
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: q, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		return true
	}
	return false
}

func (d *Dashboard) tokenOK(s string) bool {
	return subtle.ConstantTimeCompare([]byte(s), []byte(d.cfg.Token)) == 1
}
