package httpsession_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/httpsession"
	"github.com/sessioning/sessioning/internal/testclock"
	"github.com/sessioning/sessioning/memstore"
)

type env struct {
	t     *testing.T
	clock *testclock.Clock
	store *memstore.Store
	m     *sessioning.Manager
	s     *httpsession.Sessions
	logs  *bytes.Buffer
}

// newEnv returns a Manager over a memory store (lifetime 30 days, idle
// 7 days, touch every hour) and Sessions over it configured by cfg.
func newEnv(t *testing.T, cfg httpsession.Config) *env {
	t.Helper()
	e := &env{t: t, clock: testclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), store: memstore.New(), logs: new(bytes.Buffer)}
	t.Cleanup(func() { e.store.Close() })
	m, err := sessioning.New(e.store, &sessioning.Options{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	cfg.Now = e.clock.Now
	cfg.Logger = slog.New(slog.NewTextHandler(e.logs, nil))
	s, err := httpsession.New(m, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	return e
}

func (e *env) create(user string) sessioning.Session {
	e.t.Helper()
	sess, err := e.m.Create(context.Background(), user, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return sess
}

// seen records what the handler behind the middleware saw.
type seen struct {
	called bool
	info   sessioning.Info
	found  bool
	token  string
}

func (e *env) serve(mw func(http.Handler) http.Handler, r *http.Request) (*httptest.ResponseRecorder, *seen) {
	e.t.Helper()
	var got seen
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.called = true
		got.info, got.found = httpsession.InfoFrom(r.Context())
		got.token, _ = httpsession.TokenFrom(r.Context())
		if u, ok := httpsession.UserFrom(r.Context()); ok != got.found || u != got.info.User {
			e.t.Errorf("UserFrom = %q, %v; InfoFrom = %q, %v", u, ok, got.info.User, got.found)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w, &got
}

func withCookie(r *http.Request, name, value string) *http.Request {
	r.AddCookie(&http.Cookie{Name: name, Value: value})
	return r
}

func onlyCookie(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	cs := w.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("got %d Set-Cookie headers %q, want 1", len(cs), w.Header().Values("Set-Cookie"))
	}
	return cs[0]
}

func errorBody(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var body struct{ Error string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error == "" {
		t.Errorf("body %q is not {\"error\": …}: %v", w.Body, err)
	}
	return body.Error
}

func TestMiddlewareResolvesToken(t *testing.T) {
	e := newEnv(t, httpsession.Config{})
	alice := e.create("alice")
	bob := e.create("bob")
	name := httpsession.DefaultCookieName

	tests := []struct {
		name     string
		req      func() *http.Request
		wantUser string // "" means anonymous
		token    string
	}{
		{"no token is anonymous", func() *http.Request { return httptest.NewRequest("GET", "/", nil) }, "", ""},
		{"cookie", func() *http.Request {
			return withCookie(httptest.NewRequest("GET", "/", nil), name, alice.Token)
		}, "alice", alice.Token},
		{"bearer header", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+alice.Token)
			return r
		}, "alice", alice.Token},
		{"bearer scheme is case-insensitive", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "bearer "+bob.Token)
			return r
		}, "bob", bob.Token},
		{"header wins over cookie", func() *http.Request {
			r := withCookie(httptest.NewRequest("GET", "/", nil), name, alice.Token)
			r.Header.Set("Authorization", "Bearer "+bob.Token)
			return r
		}, "bob", bob.Token},
		{"other auth scheme falls back to cookie", func() *http.Request {
			r := withCookie(httptest.NewRequest("GET", "/", nil), name, alice.Token)
			r.Header.Set("Authorization", "Basic YWxpY2U6cHc=")
			return r
		}, "alice", alice.Token},
		{"cookie of another name is ignored", func() *http.Request {
			return withCookie(httptest.NewRequest("GET", "/", nil), "session", alice.Token)
		}, "", ""},
		{"unknown token is anonymous", func() *http.Request {
			return withCookie(httptest.NewRequest("GET", "/", nil), name, strings.Repeat("A", 43))
		}, "", ""},
		{"malformed token is anonymous", func() *http.Request {
			return withCookie(httptest.NewRequest("GET", "/", nil), name, `{"$ne":"x"}`)
		}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, got := e.serve(e.s.Optional, tt.req())
			if !got.called || w.Code != http.StatusNoContent {
				t.Fatalf("Optional: handler called %v, status %d", got.called, w.Code)
			}
			if got.found != (tt.wantUser != "") || got.info.User != tt.wantUser || got.token != tt.token {
				t.Errorf("Optional: session (%q, %v), want user %q", got.info.User, got.found, tt.wantUser)
			}
			w, got = e.serve(e.s.Required, tt.req())
			if tt.wantUser == "" {
				if got.called || w.Code != http.StatusUnauthorized {
					t.Errorf("Required: handler called %v, status %d; want 401", got.called, w.Code)
				}
				errorBody(t, w)
				if w.Header().Get("WWW-Authenticate") == "" {
					t.Error("Required: 401 without WWW-Authenticate")
				}
				return
			}
			if !got.called || got.info.User != tt.wantUser {
				t.Errorf("Required: handler called %v with user %q, want %q", got.called, got.info.User, tt.wantUser)
			}
		})
	}
}

func TestRequiredRedirectsBrowsersToLogin(t *testing.T) {
	e := newEnv(t, httpsession.Config{LoginPath: "/login"})

	r := httptest.NewRequest("GET", "/account/sessions?tab=2", nil)
	r.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	w, got := e.serve(e.s.Required, r)
	if got.called || w.Code != http.StatusSeeOther {
		t.Fatalf("handler called %v, status %d; want 303", got.called, w.Code)
	}
	if loc := w.Header().Get("Location"); loc != "/login?next=%2Faccount%2Fsessions%3Ftab%3D2" {
		t.Errorf("Location = %q", loc)
	}

	r = httptest.NewRequest("POST", "/account/delete", nil)
	r.Header.Set("Accept", "text/html")
	w, _ = e.serve(e.s.Required, r)
	if loc := w.Header().Get("Location"); w.Code != http.StatusSeeOther || loc != "/login" {
		t.Errorf("form post: %d to %q, want 303 to /login without next", w.Code, loc)
	}

	r = httptest.NewRequest("GET", "/account", nil)
	r.Header.Set("Accept", "application/json")
	w, _ = e.serve(e.s.Required, r)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("JSON request: status %d, want 401", w.Code)
	}
}

// failingLookup is a Service whose Lookup fails as a broken store would.
type failingLookup struct {
	sessioning.Service
	err error
}

func (f failingLookup) Lookup(context.Context, string) (sessioning.Info, error) {
	return sessioning.Info{}, f.err
}

func TestStoreFailureIsUnavailableNeverAnonymous(t *testing.T) {
	for _, storeErr := range []error{sessioning.ErrUnavailable, sessioning.ErrClosed, context.DeadlineExceeded, errors.New("disk on fire")} {
		t.Run(storeErr.Error(), func(t *testing.T) {
			var logs bytes.Buffer
			s, err := httpsession.New(failingLookup{err: storeErr}, &httpsession.Config{
				LoginPath: "/login",
				Logger:    slog.New(slog.NewTextHandler(&logs, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			tok := strings.Repeat("T", 43)
			for name, mw := range map[string]func(http.Handler) http.Handler{"Optional": s.Optional, "Required": s.Required} {
				r := withCookie(httptest.NewRequest("GET", "/", nil), httpsession.DefaultCookieName, tok)
				r.Header.Set("Accept", "text/html")
				called := false
				w := httptest.NewRecorder()
				mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })).ServeHTTP(w, r)
				if called || w.Code != http.StatusServiceUnavailable {
					t.Errorf("%s: handler called %v, status %d; want 503", name, called, w.Code)
				}
				errorBody(t, w)
			}
			if !strings.Contains(logs.String(), "lookup failed") {
				t.Errorf("failure not logged: %q", logs.String())
			}
			if strings.Contains(logs.String(), tok) {
				t.Error("the log contains the token")
			}
		})
	}

	// A real store that fails: the memory store after Close.
	e := newEnv(t, httpsession.Config{})
	sess := e.create("alice")
	e.store.Close()
	w, got := e.serve(e.s.Optional, withCookie(httptest.NewRequest("GET", "/", nil), httpsession.DefaultCookieName, sess.Token))
	if got.called || w.Code != http.StatusServiceUnavailable {
		t.Errorf("closed store: handler called %v, status %d; want 503", got.called, w.Code)
	}
	if strings.Contains(e.logs.String(), sess.Token) || strings.Contains(w.Body.String(), sess.Token) {
		t.Error("the token leaked into the log or the response")
	}
}

func TestLoginSetsSecureCookie(t *testing.T) {
	e := newEnv(t, httpsession.Config{})
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/login", nil)
	r.Header.Set("User-Agent", "TestBrowser/1.0")
	sess, err := e.s.Login(w, r, "alice", httpsession.RequestMetadata(r))
	if err != nil {
		t.Fatal(err)
	}
	c := onlyCookie(t, w)
	if c.Name != "__Host-session" || c.Value != sess.Token || c.Path != "/" || c.Domain != "" ||
		!c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie %+v lacks a secure default", c)
	}
	// Default Manager: the session ends after 7 idle days.
	if want := int((7 * 24 * time.Hour).Seconds()); c.MaxAge != want {
		t.Errorf("Max-Age = %d, want %d (the session's lifetime)", c.MaxAge, want)
	}
	info, err := e.m.Lookup(context.Background(), sess.Token)
	if err != nil || info.User != "alice" || info.Metadata["userAgent"] != "TestBrowser/1.0" {
		t.Errorf("Lookup = %+v, %v", info, err)
	}
}

func TestLoginEndsPreviousSession(t *testing.T) {
	e := newEnv(t, httpsession.Config{})
	old := e.create("alice")
	w := httptest.NewRecorder()
	r := withCookie(httptest.NewRequest("POST", "/login", nil), httpsession.DefaultCookieName, old.Token)
	if _, err := e.s.Login(w, r, "bob", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Lookup(context.Background(), old.Token); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("previous session: Lookup err = %v, want ErrNotFound", err)
	}
}

func TestLoginInvalidUser(t *testing.T) {
	e := newEnv(t, httpsession.Config{})
	w := httptest.NewRecorder()
	_, err := e.s.Login(w, httptest.NewRequest("POST", "/login", nil), "", nil)
	if !errors.Is(err, sessioning.ErrInvalidInput) {
		t.Errorf("err = %v, want ErrInvalidInput", err)
	}
	if len(w.Result().Cookies()) != 0 {
		t.Error("a cookie was set for a failed login")
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, httpsession.Config{})
	sess := e.create("alice")
	h := e.s.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := e.s.Logout(w, r); err != nil {
			t.Errorf("Logout: %v", err)
		}
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, withCookie(httptest.NewRequest("POST", "/logout", nil), httpsession.DefaultCookieName, sess.Token))
	c := onlyCookie(t, w)
	if c.Name != httpsession.DefaultCookieName || c.Value != "" || c.MaxAge >= 0 || !c.Secure || c.Path != "/" {
		t.Errorf("cookie %+v does not clear the session cookie", c)
	}
	if _, err := e.m.Lookup(context.Background(), sess.Token); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("after Logout: Lookup err = %v, want ErrNotFound", err)
	}

	// Signing out again, or without a session, still clears the cookie.
	w = httptest.NewRecorder()
	h.ServeHTTP(w, withCookie(httptest.NewRequest("POST", "/logout", nil), httpsession.DefaultCookieName, sess.Token))
	if c := onlyCookie(t, w); c.MaxAge >= 0 {
		t.Errorf("second Logout: cookie %+v not cleared", c)
	}
}

// failingDelete is a Service whose Delete fails as a broken store would.
type failingDelete struct{ sessioning.Service }

func (failingDelete) Delete(context.Context, string) error { return sessioning.ErrUnavailable }

func TestLogoutStoreFailureKeepsCookie(t *testing.T) {
	e := newEnv(t, httpsession.Config{})
	s, err := httpsession.New(failingDelete{e.m}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sess := e.create("alice")
	w := httptest.NewRecorder()
	r := withCookie(httptest.NewRequest("POST", "/logout", nil), httpsession.DefaultCookieName, sess.Token)
	if err := s.Logout(w, r); !errors.Is(err, sessioning.ErrUnavailable) {
		t.Errorf("Logout err = %v, want ErrUnavailable", err)
	}
	if len(w.Result().Cookies()) != 0 {
		t.Error("the cookie was cleared although the session still works")
	}
}

func TestRotate(t *testing.T) {
	e := newEnv(t, httpsession.Config{})
	old := e.create("alice")
	var rotated sessioning.Session
	h := e.s.Required(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		if rotated, err = e.s.Rotate(w, r); err != nil {
			t.Errorf("Rotate: %v", err)
		}
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, withCookie(httptest.NewRequest("POST", "/elevate", nil), httpsession.DefaultCookieName, old.Token))
	c := onlyCookie(t, w)
	if c.Value != rotated.Token || rotated.Token == old.Token || !c.Secure || !c.HttpOnly {
		t.Errorf("cookie %+v is not the rotated token", c)
	}
	if rotated.Handle != old.Handle || rotated.User != "alice" {
		t.Errorf("rotated session %+v lost its identity", rotated.Info)
	}
	ctx := context.Background()
	if _, err := e.m.Lookup(ctx, old.Token); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("old token: err = %v, want ErrNotFound", err)
	}
	if info, err := e.m.Lookup(ctx, rotated.Token); err != nil || info.User != "alice" {
		t.Errorf("new token: %+v, %v", info, err)
	}

	w = httptest.NewRecorder()
	if _, err := e.s.Rotate(w, httptest.NewRequest("POST", "/elevate", nil)); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("Rotate without a session: err = %v, want ErrNotFound", err)
	}
}

func TestInsecureDevelopmentSwitch(t *testing.T) {
	e := newEnv(t, httpsession.Config{Insecure: true})
	if e.s.CookieName() != "session" {
		t.Errorf("CookieName = %q, want session", e.s.CookieName())
	}
	w := httptest.NewRecorder()
	sess, err := e.s.Login(w, httptest.NewRequest("POST", "/login", nil), "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := onlyCookie(t, w)
	if c.Name != "session" || c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("cookie %+v", c)
	}
	_, got := e.serve(e.s.Required, withCookie(httptest.NewRequest("GET", "/", nil), "session", sess.Token))
	if got.info.User != "alice" {
		t.Errorf("user %q, want alice", got.info.User)
	}
}

func TestMaxAge(t *testing.T) {
	for _, tt := range []struct {
		name   string
		maxAge time.Duration
		want   int // http.Cookie.MaxAge: 0 means no Max-Age attribute
	}{
		{"configured", 24 * time.Hour, 86400},
		{"browser session", -1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, httpsession.Config{MaxAge: tt.maxAge})
			w := httptest.NewRecorder()
			if _, err := e.s.Login(w, httptest.NewRequest("POST", "/login", nil), "alice", nil); err != nil {
				t.Fatal(err)
			}
			if c := onlyCookie(t, w); c.MaxAge != tt.want {
				t.Errorf("MaxAge = %d, want %d", c.MaxAge, tt.want)
			}
		})
	}
}

func TestCookieRenewedWhenIdleDeadlineMoves(t *testing.T) {
	e := newEnv(t, httpsession.Config{})
	sess := e.create("alice")
	req := func() *http.Request {
		return withCookie(httptest.NewRequest("GET", "/", nil), httpsession.DefaultCookieName, sess.Token)
	}

	// Within the touch interval the deadline stays: no Set-Cookie.
	e.clock.Advance(30 * time.Minute)
	if w, _ := e.serve(e.s.Required, req()); len(w.Result().Cookies()) != 0 {
		t.Errorf("renewed without a move: %q", w.Header().Values("Set-Cookie"))
	}
	// After it the lookup moves the deadline, and the cookie follows.
	e.clock.Advance(2 * time.Hour)
	w, _ := e.serve(e.s.Required, req())
	c := onlyCookie(t, w)
	if want := int((7 * 24 * time.Hour).Seconds()); c.Value != sess.Token || c.MaxAge != want {
		t.Errorf("renewed cookie %+v, want Max-Age %d", c, want)
	}
	// A bearer token has no cookie to renew.
	e.clock.Advance(2 * time.Hour)
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+sess.Token)
	if w, _ := e.serve(e.s.Required, r); len(w.Result().Cookies()) != 0 {
		t.Errorf("bearer request got a cookie: %q", w.Header().Values("Set-Cookie"))
	}
}

func TestExpiredSessionIsAnonymous(t *testing.T) {
	e := newEnv(t, httpsession.Config{})
	sess := e.create("alice")
	e.clock.Advance(7*24*time.Hour + time.Second)
	w, got := e.serve(e.s.Required, withCookie(httptest.NewRequest("GET", "/", nil), httpsession.DefaultCookieName, sess.Token))
	if got.called || w.Code != http.StatusUnauthorized {
		t.Errorf("expired session: handler called %v, status %d; want 401", got.called, w.Code)
	}
}

func TestNewRejectsInconsistentConfig(t *testing.T) {
	m, err := sessioning.New(memstore.New(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		svc  sessioning.Service
		cfg  httpsession.Config
	}{
		{"nil service", nil, httpsession.Config{}},
		{"__Host- without Secure", m, httpsession.Config{Insecure: true, CookieName: "__Host-sid"}},
		{"SameSite=None without Secure", m, httpsession.Config{Insecure: true, SameSite: http.SameSiteNoneMode}},
		{"cookie name with space", m, httpsession.Config{CookieName: "my session"}},
		{"login path off-site", m, httpsession.Config{LoginPath: "//evil.example/login"}},
		{"login path not a path", m, httpsession.Config{LoginPath: "https://evil.example/login"}},
		{"trusted origin with path", m, httpsession.Config{TrustedOrigins: []string{"https://app.example/x"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := httpsession.New(tt.svc, &tt.cfg); !errors.Is(err, sessioning.ErrInvalidInput) {
				t.Errorf("err = %v, want ErrInvalidInput", err)
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, httpsession.Config{TrustedOrigins: []string{"https://partner.example"}})
	tests := []struct {
		name    string
		method  string
		headers map[string]string
		allowed bool
	}{
		{"safe method cross-site", "GET", map[string]string{"Sec-Fetch-Site": "cross-site"}, true},
		{"HEAD cross-site", "HEAD", map[string]string{"Sec-Fetch-Site": "cross-site"}, true},
		{"POST same-origin", "POST", map[string]string{"Sec-Fetch-Site": "same-origin"}, true},
		{"POST typed by the user", "POST", map[string]string{"Sec-Fetch-Site": "none"}, true},
		{"POST cross-site", "POST", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"POST same-site (sibling subdomain)", "POST", map[string]string{"Sec-Fetch-Site": "same-site"}, false},
		{"DELETE cross-site", "DELETE", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"old browser, same Origin", "POST", map[string]string{"Origin": "https://app.example"}, true},
		{"old browser, other Origin", "POST", map[string]string{"Origin": "https://evil.example"}, false},
		{"old browser, null Origin", "POST", map[string]string{"Origin": "null"}, false},
		{"not a browser (no headers)", "POST", nil, true},
		{"trusted origin", "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://partner.example"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "https://app.example/logout", nil)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			w, got := e.serve(e.s.CSRF, r)
			if got.called != tt.allowed {
				t.Errorf("handler called %v, want %v (status %d)", got.called, tt.allowed, w.Code)
			}
			if !tt.allowed {
				if w.Code != http.StatusForbidden {
					t.Errorf("status %d, want 403", w.Code)
				}
				errorBody(t, w)
			}
		})
	}
}

func TestRequestMetadata(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	if md := httpsession.RequestMetadata(r); md != nil {
		t.Errorf("no user agent: %v, want nil", md)
	}
	r.Header.Set("User-Agent", strings.Repeat("é", sessioning.MaxMetadataValue)+"\xff")
	md := httpsession.RequestMetadata(r)
	if err := sessioning.ValidateMetadata(md); err != nil {
		t.Errorf("long user agent: %v", err)
	}
}

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"/account":             "/account",
		"/a?b=c":               "/a?b=c",
		"":                     "/",
		"//evil.example":       "/",
		"/\\evil.example":      "/",
		"https://evil.example": "/",
		"javascript:alert(1)":  "/",
		"account":              "/",
	} {
		if got := httpsession.SafeNext(next, "/"); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

// countingLookup counts Lookup calls.
type countingLookup struct {
	sessioning.Service
	n *int
}

func (c countingLookup) Lookup(ctx context.Context, tok string) (sessioning.Info, error) {
	*c.n++
	return c.Service.Lookup(ctx, tok)
}

func TestRequiredInsideOptionalLooksUpOnce(t *testing.T) {
	e := newEnv(t, httpsession.Config{})
	var n int
	s, err := httpsession.New(countingLookup{e.m, &n}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sess := e.create("alice")
	w, got := e.serve(func(h http.Handler) http.Handler { return s.Optional(s.Required(h)) },
		withCookie(httptest.NewRequest("GET", "/", nil), httpsession.DefaultCookieName, sess.Token))
	if !got.called || w.Code != http.StatusNoContent || got.info.User != "alice" {
		t.Errorf("handler called %v, status %d, user %q", got.called, w.Code, got.info.User)
	}
	if n != 1 {
		t.Errorf("%d lookups, want 1", n)
	}
}
