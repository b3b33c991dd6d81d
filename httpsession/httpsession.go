// Package httpsession puts sessions into net/http applications: a
// middleware that resolves the session token of each request, helpers that
// sign in, sign out and rotate with a cookie, and a cross-origin (CSRF)
// check for state-changing requests.
//
// It works with anything built on http.Handler (http.ServeMux, chi,
// gorilla/mux, …) and with any [sessioning.Service]: the in-process
// *sessioning.Manager or a remote sessiond through the client package.
//
// # Tokens
//
// A request's token is read from the Authorization header ("Bearer
// <token>") if there is one, else from the session cookie. The token is
// never written to a URL or a log.
//
// # Cookies
//
// By default the cookie is named "__Host-session" and set with Path=/,
// HttpOnly, Secure and SameSite=Lax, and with a Max-Age that ends when the
// session does. Browsers accept a __Host- cookie only from an HTTPS origin
// with Secure set, so for development over plain HTTP on localhost set
// [Config.Insecure]: the cookie is then named "session" and not Secure.
// Never set Insecure in production.
//
// # Failures
//
// A request whose token is unknown, expired or malformed is anonymous. A
// request whose session could not be looked up because the store failed
// is answered with 503 Service Unavailable: it is never treated as
// anonymous, which could otherwise hide a sign-in or revocation.
package httpsession

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sessioning/sessioning"
)

// Default cookie names. The secure one carries the __Host- prefix, which
// makes browsers refuse it unless it is Secure, has Path=/ and no Domain,
// so no sibling subdomain can plant or overwrite it.
const (
	DefaultCookieName         = "__Host-session"
	DefaultInsecureCookieName = "session"
)

// renewWindow is how recent a session's last-seen time must be for the
// middleware to renew its cookie; see [Sessions.Optional].
const renewWindow = time.Minute

// Config holds the optional settings. The zero value of each field means
// its documented default.
type Config struct {
	// CookieName is the name of the session cookie. Empty means
	// DefaultCookieName, or DefaultInsecureCookieName if Insecure is set.
	// A name starting with "__Host-" requires Insecure to be false.
	CookieName string
	// MaxAge is how long the browser keeps the cookie. Zero means until the
	// session expires: the cookie is set to the session's Expires at sign
	// in and renewed when a request moves the session's idle deadline.
	// A negative value makes it a browser-session cookie (no Max-Age).
	MaxAge time.Duration
	// SameSite is the cookie's SameSite attribute. Zero means
	// http.SameSiteLaxMode. http.SameSiteNoneMode requires Insecure to be
	// false.
	SameSite http.SameSite
	// Insecure is the development switch for plain-HTTP localhost: the
	// cookie is not Secure and, since browsers reject a __Host- cookie
	// that is not Secure, its default name loses the prefix. Never set it
	// in production.
	Insecure bool
	// LoginPath is where Required redirects HTML requests (those whose
	// Accept header names text/html) that have no session, with the
	// requested path in the "next" query parameter. Empty means they get
	// the 401 like other requests.
	LoginPath string
	// TrustedOrigins are origins ("https://app.example.com") from which
	// CSRF accepts cross-origin unsafe requests.
	TrustedOrigins []string
	// Now is the clock used for cookie lifetimes. Nil means time.Now.
	Now func() time.Time
	// Logger receives store failures (never tokens). Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Sessions is the middleware and cookie helpers over a Service. It is safe
// for concurrent use.
type Sessions struct {
	svc  sessioning.Service
	cfg  Config
	csrf *http.CrossOriginProtection
}

// New returns Sessions over svc. A nil cfg means all defaults. It returns
// an error wrapping sessioning.ErrInvalidInput if cfg is inconsistent.
func New(svc sessioning.Service, cfg *Config) (*Sessions, error) {
	if svc == nil {
		return nil, invalid("service must not be nil")
	}
	var c Config
	if cfg != nil {
		c = *cfg
		c.TrustedOrigins = append([]string(nil), cfg.TrustedOrigins...)
	}
	if c.CookieName == "" {
		c.CookieName = DefaultCookieName
		if c.Insecure {
			c.CookieName = DefaultInsecureCookieName
		}
	}
	if !validCookieName(c.CookieName) {
		return nil, invalid("cookie name %q is not a valid cookie name", c.CookieName)
	}
	if c.Insecure && strings.HasPrefix(c.CookieName, "__Host-") {
		return nil, invalid("cookie name %q needs Secure: it cannot be used with Insecure", c.CookieName)
	}
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteLaxMode
	}
	if c.Insecure && c.SameSite == http.SameSiteNoneMode {
		return nil, invalid("SameSite=None needs Secure: it cannot be used with Insecure")
	}
	if c.LoginPath != "" && !localPath(c.LoginPath) {
		return nil, invalid("login path %q must be a path on this site, starting with one /", c.LoginPath)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	csrf := http.NewCrossOriginProtection()
	for _, o := range c.TrustedOrigins {
		if err := csrf.AddTrustedOrigin(o); err != nil {
			return nil, invalid("trusted origin: %v", err)
		}
	}
	s := &Sessions{svc: svc, cfg: c, csrf: csrf}
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "cross-origin request rejected")
	}))
	return s, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("httpsession: %w: %s", sessioning.ErrInvalidInput, fmt.Sprintf(format, args...))
}

func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// localPath reports whether p is a path on this site ("/x"), not a
// scheme-relative URL ("//evil.example") or anything else a browser would
// take off-site.
func localPath(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "/\\") &&
		!strings.ContainsAny(p, "\r\n")
}

// SafeNext returns next if it is a path on this site, else fallback. Use it
// on the "next" parameter of a login form before redirecting to it, so the
// form cannot be used to send users off-site.
func SafeNext(next, fallback string) string {
	if localPath(next) {
		return next
	}
	return fallback
}

// ctxKey is the context key for the request's session.
type ctxKey struct{}

type ctxValue struct {
	info  sessioning.Info
	token string
}

// InfoFrom returns the session of the request whose context is ctx, if the
// middleware found one.
func InfoFrom(ctx context.Context) (sessioning.Info, bool) {
	v, ok := ctx.Value(ctxKey{}).(ctxValue)
	return v.info, ok
}

// UserFrom returns the signed-in user of the request whose context is ctx,
// if the middleware found a session.
func UserFrom(ctx context.Context) (string, bool) {
	v, ok := ctx.Value(ctxKey{}).(ctxValue)
	return v.info.User, ok
}

// TokenFrom returns the token the request whose context is ctx presented,
// if the middleware found a session for it. Keep it out of logs and URLs.
func TokenFrom(ctx context.Context) (string, bool) {
	v, ok := ctx.Value(ctxKey{}).(ctxValue)
	return v.token, ok
}

// WithSession returns a copy of ctx that carries info and token as the
// middleware would. It is meant for tests of handlers.
func WithSession(ctx context.Context, info sessioning.Info, token string) context.Context {
	return context.WithValue(ctx, ctxKey{}, ctxValue{info: info, token: token})
}

// token returns the token a request presents and whether it came from the
// cookie.
func (s *Sessions) token(r *http.Request) (tok string, fromCookie bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, rest, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(rest), false
		}
	}
	if c, err := r.Cookie(s.cfg.CookieName); err == nil && c.Value != "" {
		return c.Value, true
	}
	return "", false
}

// resolve looks up the request's session. It returns the request to pass
// on (with the session in its context if there is one) and whether a
// session was found; it has already answered with 503 if ok is false and
// err is non-nil.
func (s *Sessions) resolve(w http.ResponseWriter, r *http.Request) (_ *http.Request, found bool, err error) {
	if _, ok := InfoFrom(r.Context()); ok {
		return r, true, nil // an outer Optional already looked it up
	}
	tok, fromCookie := s.token(r)
	if tok == "" {
		return r, false, nil
	}
	info, err := s.svc.Lookup(r.Context(), tok)
	switch {
	case errors.Is(err, sessioning.ErrNotFound):
		// A stale cookie is left alone: clearing it here could delete the
		// fresh cookie of a concurrent sign-in or rotation.
		return r, false, nil
	case err != nil:
		s.cfg.Logger.ErrorContext(r.Context(), "httpsession: session lookup failed", "err", err, "method", r.Method, "path", r.URL.Path)
		writeError(w, http.StatusServiceUnavailable, "session store unavailable")
		return r, false, err
	}
	if fromCookie {
		s.renew(w, tok, info)
	}
	return r.WithContext(WithSession(r.Context(), info, tok)), true, nil
}

// renew sets the cookie again when this lookup moved the session's idle
// deadline (its last-seen time is recent and later than its creation), so
// that the browser keeps the cookie as long as the server keeps the
// session. Lookups move the deadline at most once per touch interval, so
// almost no response carries a Set-Cookie.
func (s *Sessions) renew(w http.ResponseWriter, tok string, info sessioning.Info) {
	if s.cfg.MaxAge != 0 || info.Expires.IsZero() || !info.LastSeen.After(info.Created) {
		return
	}
	if d := s.cfg.Now().Sub(info.LastSeen); d < -renewWindow || d > renewWindow {
		return
	}
	s.setCookie(w, tok, info.Expires)
}

// Optional is middleware that puts the request's session, if any, into
// its context; requests without one pass on anonymous. A store failure is
// answered with 503.
func (s *Sessions) Optional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, _, err := s.resolve(w, r)
		if err != nil {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Required is middleware that lets only requests with a live session
// through, with the session in their context. Inside Optional, it reuses
// the session Optional found instead of looking it up again. Others get 401 with a JSON
// body {"error": "…"}, or, if LoginPath is set and they ask for HTML, a
// 303 redirect to it, with the requested path in the "next" query
// parameter if the request was a GET. A store failure is answered with 503.
func (s *Sessions) Required(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, found, err := s.resolve(w, r)
		switch {
		case err != nil:
			return
		case found:
			next.ServeHTTP(w, r)
		case s.cfg.LoginPath != "" && wantsHTML(r):
			to := s.cfg.LoginPath
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				// Only a page can be returned to; a form post cannot.
				to += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="session"`)
			writeError(w, http.StatusUnauthorized, "sign-in required")
		}
	})
}

// CSRF is middleware that rejects cross-origin state-changing requests
// with 403. Requests with a safe method (GET, HEAD, OPTIONS) always pass;
// others pass if their Sec-Fetch-Site header is same-origin or none (typed
// by the user), or, from browsers that do not send it, if their Origin
// header names this host; requests with neither header are not from a
// browser and pass too. Origins in Config.TrustedOrigins are accepted.
// It is http.CrossOriginProtection with a JSON deny response.
func (s *Sessions) CSRF(next http.Handler) http.Handler {
	return s.csrf.Handler(next)
}

// Login creates a session for user with metadata md and sets the cookie.
// A session the request already had is ended first (best effort), so that
// signing in again or as someone else leaves nothing behind.
func (s *Sessions) Login(w http.ResponseWriter, r *http.Request, user string, md sessioning.Metadata) (sessioning.Session, error) {
	if old, _ := s.token(r); old != "" {
		if err := s.svc.Delete(r.Context(), old); err != nil && !errors.Is(err, sessioning.ErrNotFound) {
			s.cfg.Logger.WarnContext(r.Context(), "httpsession: ending the previous session failed", "err", err)
		}
	}
	sess, err := s.svc.Create(r.Context(), user, md)
	if err != nil {
		return sessioning.Session{}, err
	}
	s.SetCookie(w, sess)
	return sess, nil
}

// Logout ends the request's session and clears the cookie. A request
// without a live session is not an error. If the store fails, the cookie
// is kept (the session still works, so the user should see that signing
// out failed) and the error is returned.
func (s *Sessions) Logout(w http.ResponseWriter, r *http.Request) error {
	tok, ok := TokenFrom(r.Context())
	if !ok {
		tok, _ = s.token(r)
	}
	if tok != "" {
		if err := s.svc.Delete(r.Context(), tok); err != nil && !errors.Is(err, sessioning.ErrNotFound) {
			return err
		}
	}
	s.ClearCookie(w)
	return nil
}

// Rotate gives the request's session a new token and sets the cookie to
// it; the old token stops working. Call it after a privilege change (a
// password change, a step-up authentication). It returns
// sessioning.ErrNotFound if the request has no live session.
func (s *Sessions) Rotate(w http.ResponseWriter, r *http.Request) (sessioning.Session, error) {
	tok, ok := TokenFrom(r.Context())
	if !ok {
		tok, _ = s.token(r)
	}
	if tok == "" {
		return sessioning.Session{}, sessioning.ErrNotFound
	}
	sess, err := s.svc.Rotate(r.Context(), tok)
	if err != nil {
		return sessioning.Session{}, err
	}
	s.SetCookie(w, sess)
	return sess, nil
}

// SetCookie sets the session cookie for sess, for flows the other helpers
// do not cover.
func (s *Sessions) SetCookie(w http.ResponseWriter, sess sessioning.Session) {
	s.setCookie(w, sess.Token, sess.Expires)
}

func (s *Sessions) setCookie(w http.ResponseWriter, tok string, expires time.Time) {
	c := s.cookie(tok)
	switch {
	case s.cfg.MaxAge > 0:
		c.MaxAge = int(s.cfg.MaxAge / time.Second)
	case s.cfg.MaxAge == 0 && !expires.IsZero():
		c.MaxAge = int(expires.Sub(s.cfg.Now()).Round(time.Second) / time.Second)
		if c.MaxAge <= 0 {
			c.MaxAge = -1 // already over: delete
		}
	}
	http.SetCookie(w, c)
}

// ClearCookie tells the browser to delete the session cookie.
func (s *Sessions) ClearCookie(w http.ResponseWriter) {
	c := s.cookie("")
	c.MaxAge = -1
	http.SetCookie(w, c)
}

func (s *Sessions) cookie(value string) *http.Cookie {
	return &http.Cookie{
		Name:     s.cfg.CookieName,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   !s.cfg.Insecure,
		SameSite: s.cfg.SameSite,
	}
}

// CookieName returns the effective cookie name.
func (s *Sessions) CookieName() string { return s.cfg.CookieName }

// RequestMetadata returns metadata describing the request's client, for
// Login: its user agent, cut to the bounds of sessioning.Metadata.
func RequestMetadata(r *http.Request) sessioning.Metadata {
	ua := r.UserAgent()
	if ua == "" {
		return nil
	}
	return sessioning.Metadata{"userAgent": truncate(ua, sessioning.MaxMetadataValue)}
}

// truncate cuts s to at most n bytes of valid UTF-8.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// wantsHTML reports whether the request is from a browser navigating, as
// opposed to a script or API client expecting JSON.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// writeError answers with status and a JSON body {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
