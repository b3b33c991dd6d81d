package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/httpapi"
	"github.com/sessioning/sessioning/internal/testclock"
	"github.com/sessioning/sessioning/memstore"
)

const (
	loopbackAddr = "127.0.0.1:50000"
	remoteAddr   = "203.0.113.7:50000"
	testKey      = "test-service-key-0123456789"
)

// fixture is a handler over a memory store with a fixed clock.
type fixture struct {
	t     *testing.T
	h     *httpapi.Handler
	m     *sessioning.Manager
	store sessioning.Store
	clock *testclock.Clock
}

func newFixture(t *testing.T, opts *httpapi.Options, wrap ...func(sessioning.Store) sessioning.Store) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))}
	var store sessioning.Store = memstore.New()
	for _, w := range wrap {
		store = w(store)
	}
	f.store = store
	t.Cleanup(func() { store.Close() })
	m, err := sessioning.New(store, &sessioning.Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
	h, err := httpapi.New(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

// req is one request to send to the handler.
type req struct {
	method string // POST if empty
	path   string
	body   string
	remote string // loopback if empty
	header map[string]string
}

type resp struct {
	status int
	header http.Header
	body   string
}

func (f *fixture) do(r req) resp {
	f.t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	hr := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
	hr.RemoteAddr = loopbackAddr
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, hr)
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: string(b)}
}

// call posts body to a concept name and decodes a 200 reply into out.
func (f *fixture) call(name, body string, out any) resp {
	f.t.Helper()
	r := f.do(req{path: "/api/Sessioning/" + name, body: body, header: map[string]string{"Authorization": "Bearer " + testKey}})
	if out != nil {
		if r.status != http.StatusOK {
			f.t.Fatalf("%s %s: status %d, body %s", name, body, r.status, r.body)
		}
		if err := json.Unmarshal([]byte(r.body), out); err != nil {
			f.t.Fatalf("%s: decode %q: %v", name, r.body, err)
		}
	}
	return r
}

func (f *fixture) create(user string) sessioning.Session {
	f.t.Helper()
	var s sessioning.Session
	f.call("create", fmt.Sprintf(`{"user": %q}`, user), &s)
	if s.Token == "" || s.User != user || s.Handle == "" {
		f.t.Fatalf("create %q: got %+v", user, s)
	}
	return s
}

func body(fields ...any) string {
	m := map[string]any{}
	for i := 0; i+1 < len(fields); i += 2 {
		m[fields[i].(string)] = fields[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestConceptRoutes(t *testing.T) {
	f := newFixture(t, nil)

	t.Run("create returns the session", func(t *testing.T) {
		var s map[string]any
		f.call("create", `{"user": "alice", "metadata": {"ua": "curl/8"}}`, &s)
		for _, k := range []string{"session", "handle", "user", "created", "lastSeen", "expires", "metadata"} {
			if _, ok := s[k]; !ok {
				t.Errorf("create reply lacks %q: %v", k, s)
			}
		}
		if s["user"] != "alice" || s["metadata"].(map[string]any)["ua"] != "curl/8" {
			t.Errorf("create reply = %v", s)
		}
	})

	t.Run("getUser finds the user until delete", func(t *testing.T) {
		s := f.create("bob")
		var got []map[string]string
		f.call("_getUser", body("session", s.Token), &got)
		if len(got) != 1 || got[0]["user"] != "bob" {
			t.Fatalf("_getUser = %v", got)
		}
		var empty map[string]any
		f.call("delete", body("session", s.Token), &empty)
		if len(empty) != 0 {
			t.Fatalf("delete = %v, want {}", empty)
		}
		r := f.call("_getUser", body("session", s.Token), nil)
		if r.status != 200 || r.body != "[]" {
			t.Fatalf("_getUser after delete = %d %s, want 200 []", r.status, r.body)
		}
	})

	t.Run("delete and logout of an unknown session are ordinary failures", func(t *testing.T) {
		s := f.create("carol")
		f.call("logout", body("session", s.Token), &map[string]any{})
		for _, name := range []string{"delete", "logout"} {
			r := f.call(name, body("session", s.Token), nil)
			if r.status != 200 || r.body != `{"error":"Session not found"}` {
				t.Errorf("%s twice = %d %s", name, r.status, r.body)
			}
			if strings.Contains(r.body, s.Token) {
				t.Errorf("%s echoes the token", name)
			}
		}
	})

	t.Run("getSession describes the session", func(t *testing.T) {
		s := f.create("dave")
		var got []sessioning.Info
		f.call("_getSession", body("session", s.Token), &got)
		if len(got) != 1 || got[0].Handle != s.Handle || got[0].User != "dave" {
			t.Fatalf("_getSession = %+v", got)
		}
		r := f.call("_getSession", body("session", "nope"), nil)
		if r.status != 200 || r.body != "[]" {
			t.Fatalf("_getSession unknown = %d %s", r.status, r.body)
		}
	})

	t.Run("rotate replaces the token", func(t *testing.T) {
		s := f.create("erin")
		var n sessioning.Session
		f.call("rotate", body("session", s.Token), &n)
		if n.Token == "" || n.Token == s.Token || n.Handle != s.Handle {
			t.Fatalf("rotate = %+v", n)
		}
		if r := f.call("_getUser", body("session", s.Token), nil); r.body != "[]" {
			t.Errorf("old token still works: %s", r.body)
		}
		if r := f.call("rotate", body("session", s.Token), nil); r.status != 200 || r.body != `{"error":"Session not found"}` {
			t.Errorf("rotate unknown = %d %s", r.status, r.body)
		}
	})

	t.Run("list, revoke and revokeAll work per user", func(t *testing.T) {
		a := f.create("frank")
		f.clock.Advance(time.Second)
		b := f.create("frank")
		other := f.create("grace")
		var list []sessioning.Info
		f.call("_listSessions", body("user", "frank"), &list)
		if len(list) != 2 || list[0].Handle != a.Handle || list[1].Handle != b.Handle {
			t.Fatalf("_listSessions = %+v", list)
		}
		if r := f.call("revoke", body("user", "grace", "handle", a.Handle), nil); r.body != `{"error":"Session not found"}` {
			t.Errorf("revoke with another user's handle = %s", r.body)
		}
		f.call("revoke", body("user", "frank", "handle", a.Handle), &map[string]any{})
		f.call("_listSessions", body("user", "frank"), &list)
		if len(list) != 1 || list[0].Handle != b.Handle {
			t.Fatalf("after revoke: %+v", list)
		}
		var c struct{ Count int }
		f.call("revokeAll", body("user", "frank"), &c)
		if c.Count != 1 {
			t.Errorf("revokeAll count = %d, want 1", c.Count)
		}
		r := f.call("_listSessions", body("user", "frank"), nil)
		if r.body != "[]" {
			t.Errorf("list after revokeAll = %s", r.body)
		}
		var got []map[string]string
		f.call("_getUser", body("session", other.Token), &got)
		if len(got) != 1 {
			t.Errorf("revokeAll touched another user")
		}
	})

	t.Run("revokeOwn ends one of the owner's sessions", func(t *testing.T) {
		a := f.create("heidi")
		b := f.create("heidi")
		stranger := f.create("ivan")
		if r := f.call("revokeOwn", body("session", stranger.Token, "handle", b.Handle), nil); r.body != `{"error":"Session not found"}` {
			t.Errorf("revokeOwn of another user's handle = %s", r.body)
		}
		f.call("revokeOwn", body("session", a.Token, "handle", b.Handle), &map[string]any{})
		if r := f.call("_getUser", body("session", b.Token), nil); r.body != "[]" {
			t.Errorf("revoked session still works: %s", r.body)
		}
		if r := f.call("revokeOwn", body("session", "unknown", "handle", a.Handle), nil); r.body != `{"error":"Session not found"}` {
			t.Errorf("revokeOwn with unknown token = %s", r.body)
		}
	})

	t.Run("an expired session is not found", func(t *testing.T) {
		s := f.create("judy")
		f.clock.Advance(sessioning.DefaultLifetime + time.Second)
		if r := f.call("_getUser", body("session", s.Token), nil); r.body != "[]" {
			t.Errorf("_getUser expired = %s", r.body)
		}
		if r := f.call("delete", body("session", s.Token), nil); r.body != `{"error":"Session not found"}` {
			t.Errorf("delete expired = %s", r.body)
		}
	})

	t.Run("unknown fields are ignored", func(t *testing.T) {
		s := f.create("ken")
		var got []map[string]string
		f.call("_getUser", body("session", s.Token, "extra", map[string]any{"$ne": 1}), &got)
		if len(got) != 1 {
			t.Errorf("_getUser with extra field = %v", got)
		}
	})
}

func TestInvalidInput(t *testing.T) {
	f := newFixture(t, nil)
	victim := f.create("victim")
	tests := []struct {
		name, route, body, want string
	}{
		{"not JSON", "_getUser", `{"session": `, "not valid JSON"},
		{"empty body", "_getUser", ``, "empty"},
		{"array", "_getUser", `["x"]`, "got array"},
		{"string", "create", `"alice"`, "got string"},
		{"null body", "create", `null`, "got null"},
		{"operator injection", "_getUser", `{"session": {"$ne": "x"}}`, `field "session" must be a string, got object`},
		{"operator injection on delete", "delete", `{"session": {"$gt": ""}}`, `field "session" must be a string, got object`},
		{"number user", "create", `{"user": 42}`, `field "user" must be a string, got number`},
		{"null user", "create", `{"user": null}`, `field "user" must be a string, got null`},
		{"bool session", "rotate", `{"session": true}`, "got boolean"},
		{"missing user", "create", `{}`, `missing field "user"`},
		{"missing session", "logout", `{"user": "x"}`, `missing field "session"`},
		{"missing handle", "revoke", `{"user": "x"}`, `missing field "handle"`},
		{"empty user", "create", `{"user": ""}`, "user must be a non-empty string"},
		{"long user", "_listSessions", body("user", strings.Repeat("u", sessioning.MaxUser+1)), "at most"},
		{"metadata not object", "create", `{"user": "a", "metadata": ["x"]}`, `field "metadata" must be an object of strings, got array`},
		{"metadata null", "create", `{"user": "a", "metadata": null}`, "got null"},
		{"metadata value not string", "create", `{"user": "a", "metadata": {"ua": 1}}`, "must be a string, got number"},
		{"metadata too big", "create", body("user", "a", "metadata", map[string]string{"k": strings.Repeat("v", sessioning.MaxMetadataValue+1)}), "at most"},
		{"empty handle", "revokeOwn", body("session", victim.Token, "handle", ""), "handle must be a non-empty string"},
		{"revokeAll number", "revokeAll", `{"user": 7}`, "got number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.call(tt.route, tt.body, nil)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, body %s; want 400", r.status, r.body)
			}
			var e struct{ Error string }
			if err := json.Unmarshal([]byte(r.body), &e); err != nil || !strings.Contains(e.Error, tt.want) {
				t.Fatalf("body %s; want an error containing %q", r.body, tt.want)
			}
			if strings.Contains(r.body, victim.Token) {
				t.Fatalf("error echoes a token")
			}
		})
	}
	var list []sessioning.Info
	f.call("_listSessions", body("user", "victim"), &list)
	n, _ := f.m.Count(context.Background())
	if len(list) != 1 || n != 1 {
		t.Fatalf("invalid input changed something: %d sessions, victim has %d", n, len(list))
	}
}

func TestProtocolErrors(t *testing.T) {
	f := newFixture(t, &httpapi.Options{MaxBodyBytes: 100})
	t.Run("body over the limit is 413", func(t *testing.T) {
		r := f.do(req{path: "/api/Sessioning/_getUser", body: body("session", strings.Repeat("x", 200))})
		if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, `"error"`) {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	t.Run("body over the limit without a length is 413", func(t *testing.T) {
		hr := httptest.NewRequest("POST", "/api/Sessioning/_getUser", io.MultiReader(strings.NewReader(body("session", strings.Repeat("x", 200)))))
		hr.ContentLength = -1
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, hr)
		if w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("got %d %s", w.Code, w.Body)
		}
	})
	t.Run("unknown name is 404", func(t *testing.T) {
		r := f.do(req{path: "/api/Sessioning/dropDatabase", body: `{}`})
		if r.status != http.StatusNotFound || !strings.Contains(r.body, `"error"`) {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	t.Run("unknown path is 404", func(t *testing.T) {
		r := f.do(req{method: "GET", path: "/nope"})
		if r.status != http.StatusNotFound || !strings.Contains(r.body, `"error"`) {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	t.Run("wrong method is 405 with Allow", func(t *testing.T) {
		for _, tt := range []struct{ method, path, allow string }{
			{"GET", "/api/Sessioning/_getUser", "POST"},
			{"PUT", "/api/Sessioning/create", "POST"},
			{"POST", "/healthz", "GET, HEAD"},
			{"DELETE", "/metrics", "GET, HEAD"},
		} {
			r := f.do(req{method: tt.method, path: tt.path, body: "{}"})
			if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != tt.allow || !strings.Contains(r.body, `"error"`) {
				t.Errorf("%s %s: got %d Allow=%q %s", tt.method, tt.path, r.status, r.header.Get("Allow"), r.body)
			}
		}
	})
}

// failingStore fails every operation with an error carrying internal
// detail that must not reach the client.
type failingStore struct {
	sessioning.Store
}

var errInternal = fmt.Errorf("%w: dial 10.0.0.9:27017: secret-detail", sessioning.ErrUnavailable)

func (failingStore) Get(context.Context, sessioning.Key) (sessioning.Record, error) {
	return sessioning.Record{}, errInternal
}
func (failingStore) Create(context.Context, sessioning.Record) error {
	return errors.New("disk on fire")
}
func (failingStore) Ping(context.Context) error           { return errInternal }
func (failingStore) Count(context.Context) (int64, error) { return 0, errInternal }

func TestStoreFailure(t *testing.T) {
	f := newFixture(t, nil, func(s sessioning.Store) sessioning.Store { return failingStore{s} })
	tok := strings.Repeat("A", 43)
	for _, tt := range []struct{ name, body string }{
		{"_getUser", body("session", tok)},
		{"create", body("user", "alice")},
	} {
		r := f.call(tt.name, tt.body, nil)
		if r.status != http.StatusServiceUnavailable || strings.Contains(r.body, "secret") || strings.Contains(r.body, "fire") || !strings.Contains(r.body, `"error"`) {
			t.Errorf("%s: got %d %s; want 503 without detail", tt.name, r.status, r.body)
		}
	}
	if r := f.do(req{method: "GET", path: "/readyz"}); r.status != http.StatusServiceUnavailable {
		t.Errorf("readyz = %d", r.status)
	}
	if r := f.do(req{method: "GET", path: "/healthz"}); r.status != http.StatusOK {
		t.Errorf("healthz = %d", r.status)
	}
	m := f.do(req{method: "GET", path: "/metrics"})
	if !strings.Contains(m.body, `sessiond_http_requests_total{outcome="unavailable",route="_getUser"} 1`) {
		t.Errorf("metrics do not count the failure:\n%s", grep(m.body, "sessiond_"))
	}
	if !strings.Contains(m.body, "sessiond_store_errors_total 4") {
		t.Errorf("store errors not counted (2 requests, readyz, count):\n%s", grep(m.body, "sessiond_store"))
	}
}

func grep(s, sub string) string {
	var out []string
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

func TestReply(t *testing.T) {
	tests := []struct {
		err    error
		status int
		body   string
	}{
		{sessioning.ErrNotFound, 200, `{"error":"Session not found"}`},
		{fmt.Errorf("x: %w", sessioning.ErrNotFound), 200, `{"error":"Session not found"}`},
		{fmt.Errorf("%w: user must be short", sessioning.ErrInvalidInput), 400, `{"error":"invalid input: user must be short"}`},
		{sessioning.ErrUnauthorized, 401, `{"error":"unauthorized"}`},
		{&http.MaxBytesError{Limit: 10}, 413, `{"error":"request body is larger than 10 bytes"}`},
		{fmt.Errorf("get: %w", sessioning.ErrUnavailable), 503, `{"error":"session store unavailable; try again"}`},
		{sessioning.ErrClosed, 503, `{"error":"session store unavailable; try again"}`},
		{errors.New("boom with token abc"), 503, `{"error":"session store unavailable; try again"}`},
	}
	for _, tt := range tests {
		status, body := httpapi.Reply(tt.err)
		b, _ := json.Marshal(body)
		if status != tt.status || string(b) != tt.body {
			t.Errorf("Reply(%v) = %d %s; want %d %s", tt.err, status, b, tt.status, tt.body)
		}
	}
}

func TestAccessControl(t *testing.T) {
	privileged := map[string]string{
		"create":        body("user", "alice"),
		"_listSessions": body("user", "alice"),
		"revoke":        body("user", "alice", "handle", "h"),
		"revokeAll":     body("user", "alice"),
	}
	t.Run("with a key", func(t *testing.T) {
		f := newFixture(t, &httpapi.Options{ServiceKey: testKey})
		for name, b := range privileged {
			for _, auth := range []string{"", "Bearer wrong-key", "Basic " + testKey, testKey, "Bearer"} {
				r := f.do(req{path: "/api/Sessioning/" + name, body: b, header: map[string]string{"Authorization": auth}})
				if r.status != http.StatusUnauthorized || !strings.Contains(r.body, `"error"`) || strings.Contains(r.body, testKey) {
					t.Errorf("%s with Authorization %q: %d %s; want 401", name, auth, r.status, r.body)
				}
			}
			for _, remote := range []string{loopbackAddr, remoteAddr} {
				r := f.do(req{path: "/api/Sessioning/" + name, body: b, remote: remote, header: map[string]string{"Authorization": "bearer " + testKey}})
				if r.status != http.StatusOK {
					t.Errorf("%s with the key from %s: %d %s", name, remote, r.status, r.body)
				}
			}
		}
	})
	t.Run("without a key, loopback only", func(t *testing.T) {
		f := newFixture(t, nil)
		for name, b := range privileged {
			for _, tt := range []struct {
				remote string
				header map[string]string
				ok     bool
			}{
				{loopbackAddr, nil, true},
				{"[::1]:4000", nil, true},
				{"[::ffff:127.0.0.1]:4000", nil, true},
				{remoteAddr, nil, false},
				{"[2001:db8::1]:4000", nil, false},
				{"not-an-address", nil, false},
				{loopbackAddr, map[string]string{"X-Forwarded-For": "203.0.113.9"}, false},
				{loopbackAddr, map[string]string{"Forwarded": "for=203.0.113.9"}, false},
			} {
				r := f.do(req{path: "/api/Sessioning/" + name, body: b, remote: tt.remote, header: tt.header})
				if tt.ok && r.status != http.StatusOK || !tt.ok && r.status != http.StatusUnauthorized {
					t.Errorf("%s from %s %v: %d %s", name, tt.remote, tt.header, r.status, r.body)
				}
			}
		}
	})
	t.Run("open routes need only the token", func(t *testing.T) {
		f := newFixture(t, &httpapi.Options{ServiceKey: testKey})
		s := f.create("alice")
		for _, name := range []string{"_getUser", "_getSession", "rotate"} {
			r := f.do(req{path: "/api/Sessioning/" + name, body: body("session", s.Token), remote: remoteAddr})
			if r.status != http.StatusOK || strings.Contains(r.body, "error") {
				t.Errorf("%s from a remote client without key: %d %s", name, r.status, r.body)
			}
		}
	})
}

func TestCORS(t *testing.T) {
	f := newFixture(t, &httpapi.Options{AllowedOrigins: []string{"https://app.example"}})
	s := f.create("alice")
	t.Run("preflight from an allowed origin", func(t *testing.T) {
		r := f.do(req{method: "OPTIONS", path: "/api/Sessioning/_getUser", header: map[string]string{
			"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}})
		if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Fatalf("got %d %v", r.status, r.header)
		}
	})
	t.Run("allowed origin gets the result", func(t *testing.T) {
		r := f.do(req{path: "/api/Sessioning/_getUser", body: body("session", s.Token), remote: remoteAddr, header: map[string]string{
			"Origin": "https://app.example", "Sec-Fetch-Site": "cross-site"}})
		if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Fatalf("got %d %s %v", r.status, r.body, r.header)
		}
	})
	t.Run("other origins are refused", func(t *testing.T) {
		r := f.do(req{path: "/api/Sessioning/delete", body: body("session", s.Token), remote: remoteAddr, header: map[string]string{
			"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}})
		if r.status != http.StatusForbidden || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("got %d %s %v", r.status, r.body, r.header)
		}
		var got []map[string]string
		f.call("_getUser", body("session", s.Token), &got)
		if len(got) != 1 {
			t.Fatal("a refused cross-origin delete ended the session")
		}
	})
	t.Run("invalid origin is a configuration error", func(t *testing.T) {
		m, _ := sessioning.New(memstore.New(), nil)
		if _, err := httpapi.New(m, &httpapi.Options{AllowedOrigins: []string{"app.example/path"}}); !errors.Is(err, sessioning.ErrInvalidInput) {
			t.Fatalf("New with a bad origin: %v", err)
		}
	})
}

func TestOptions(t *testing.T) {
	m, _ := sessioning.New(memstore.New(), nil)
	for _, base := range []string{"api", "/api/", "/a//b", "/{x}", "/a b"} {
		if _, err := httpapi.New(m, &httpapi.Options{BasePath: base}); !errors.Is(err, sessioning.ErrInvalidInput) {
			t.Errorf("base path %q: err = %v", base, err)
		}
	}
	for _, base := range []string{"/", "/v1/sessions"} {
		h, err := httpapi.New(m, &httpapi.Options{BasePath: base})
		if err != nil {
			t.Fatalf("base %q: %v", base, err)
		}
		hr := httptest.NewRequest("POST", strings.TrimSuffix(base, "/")+"/Sessioning/_getUser", strings.NewReader(`{"session":"x"}`))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, hr)
		if w.Code != 200 || w.Body.String() != "[]" {
			t.Errorf("base %q: %d %s", base, w.Code, w.Body)
		}
	}
	if _, err := httpapi.New(nil, nil); err == nil {
		t.Error("New(nil) succeeded")
	}
}

func TestMetricsHaveNoSecrets(t *testing.T) {
	f := newFixture(t, nil)
	s := f.create("secret-user-id")
	f.call("_getUser", body("session", s.Token), &[]map[string]string{})
	f.call("_getUser", `{"session": 1}`, nil)
	f.do(req{path: "/api/Sessioning/" + s.Token, body: "{}"})
	r := f.do(req{method: "GET", path: "/metrics"})
	if r.status != 200 {
		t.Fatalf("metrics: %d", r.status)
	}
	for _, want := range []string{
		`sessiond_http_requests_total{outcome="ok",route="create"} 1`,
		`sessiond_http_requests_total{outcome="ok",route="_getUser"} 1`,
		`sessiond_http_requests_total{outcome="invalid",route="_getUser"} 1`,
		`sessiond_http_requests_total{outcome="no_route",route="other"} 1`,
		`sessiond_http_request_duration_seconds_count{route="_getUser"} 2`,
		"sessiond_sessions 1",
		"go_goroutines",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, secret := range []string{s.Token, "secret-user-id", s.Handle} {
		if strings.Contains(r.body, secret) {
			t.Errorf("metrics contain %q", secret)
		}
	}
	f.h.ObserveSweep(3, nil)
	f.h.ObserveSweep(0, errors.New("sweep failed"))
	r = f.do(req{method: "GET", path: "/metrics"})
	if !strings.Contains(r.body, "sessiond_swept_sessions_total 3") || !strings.Contains(r.body, "sessiond_store_errors_total 1") {
		t.Errorf("sweep not recorded:\n%s", grep(r.body, "sessiond_s"))
	}
}

func TestHealth(t *testing.T) {
	f := newFixture(t, nil)
	for _, p := range []string{"/healthz", "/readyz"} {
		r := f.do(req{method: "GET", path: p})
		if r.status != 200 || !strings.Contains(r.body, "status") {
			t.Errorf("%s = %d %s", p, r.status, r.body)
		}
		if r := f.do(req{method: "HEAD", path: p}); r.status != 200 {
			t.Errorf("HEAD %s = %d", p, r.status)
		}
	}
}

// TestOpenAPI checks that the document lists exactly the routes the
// handler serves, and that each of them answers.
func TestOpenAPI(t *testing.T) {
	f := newFixture(t, &httpapi.Options{BasePath: "/v2"})
	r := f.do(req{method: "GET", path: "/v2/openapi.json"})
	if r.status != 200 {
		t.Fatalf("openapi.json: %d", r.status)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	var documented []string
	for p, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+p)
		}
	}
	var served []string
	for _, rt := range f.h.Routes() {
		if strings.Contains(rt, "{name}") {
			for _, n := range httpapi.ConceptNames() {
				served = append(served, strings.Replace(rt, "{name}", n, 1))
			}
			continue
		}
		served = append(served, rt)
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Fatalf("documented routes:\n%s\nserved routes:\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
	for _, rt := range documented {
		method, p, _ := strings.Cut(rt, " ")
		r := f.do(req{method: method, path: p, body: "{}"})
		if r.status == http.StatusNotFound || r.status == http.StatusMethodNotAllowed {
			t.Errorf("%s is documented but answers %d", rt, r.status)
		}
	}
}
