package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/client"
	"github.com/sessioning/sessioning/httpapi"
	"github.com/sessioning/sessioning/internal/testclock"
	"github.com/sessioning/sessioning/memstore"
)

const serviceKey = "test-service-key"

// fixture is one implementation of sessioning.Service with the clock and
// store behind it.
type fixture struct {
	svc   sessioning.Service
	clock *testclock.Clock
	store *memstore.Store
}

func newManager(t *testing.T) (*sessioning.Manager, *testclock.Clock, *memstore.Store) {
	t.Helper()
	clk := testclock.New(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	m, err := sessioning.New(store, &sessioning.Options{
		Now: clk.Now, IdleTimeout: time.Hour, TouchInterval: time.Minute, Lifetime: 24 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, clk, store
}

// serve starts a real sessiond handler over m and returns its base URL.
// wrap, if not nil, wraps the handler (to observe requests).
func serve(t *testing.T, m *sessioning.Manager, opts *httpapi.Options, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	h, err := httpapi.New(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler = h
	if wrap != nil {
		handler = wrap(h)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv.URL + "/api"
}

func newClient(t *testing.T, base, key string, opts *client.Options) *client.Client {
	t.Helper()
	c, err := client.New(base, key, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// implementations are the two Services that must behave alike.
var implementations = []struct {
	name string
	new  func(t *testing.T) fixture
}{
	{"Manager", func(t *testing.T) fixture {
		m, clk, store := newManager(t)
		return fixture{m, clk, store}
	}},
	{"Client", func(t *testing.T) fixture {
		m, clk, store := newManager(t)
		base := serve(t, m, &httpapi.Options{ServiceKey: serviceKey}, nil)
		return fixture{newClient(t, base, serviceKey, nil), clk, store}
	}},
}

func mustCreate(t *testing.T, svc sessioning.Service, user string, md sessioning.Metadata) sessioning.Session {
	t.Helper()
	s, err := svc.Create(context.Background(), user, md)
	if err != nil {
		t.Fatalf("Create(%q): %v", user, err)
	}
	return s
}

func sameInfo(t *testing.T, what string, got, want sessioning.Info) {
	t.Helper()
	if got.Handle != want.Handle || got.User != want.User || !got.Created.Equal(want.Created) ||
		!got.LastSeen.Equal(want.LastSeen) || !got.Expires.Equal(want.Expires) || len(got.Metadata) != len(want.Metadata) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
	for k, v := range want.Metadata {
		if got.Metadata[k] != v {
			t.Errorf("%s: metadata %q = %q, want %q", what, k, got.Metadata[k], v)
		}
	}
}

// behaviours is one table of what a Service does, run against each
// implementation: the client over a real sessiond must be
// indistinguishable from the Manager.
var behaviours = []struct {
	name string
	run  func(t *testing.T, f fixture)
}{
	{"create then lookup", func(t *testing.T, f fixture) {
		s := mustCreate(t, f.svc, "alice", sessioning.Metadata{"userAgent": "Test/1"})
		if s.Token == "" || s.Handle == "" || s.User != "alice" || !s.Created.Equal(f.clock.Now()) {
			t.Errorf("Create = %+v", s.Info)
		}
		info, err := f.svc.Lookup(context.Background(), s.Token)
		if err != nil {
			t.Fatal(err)
		}
		sameInfo(t, "Lookup", info, s.Info)
	}},
	{"unknown and malformed tokens are not found", func(t *testing.T, f fixture) {
		for _, tok := range []string{strings.Repeat("A", 43), "", "not a token", `{"$ne":"x"}`} {
			if _, err := f.svc.Lookup(context.Background(), tok); !errors.Is(err, sessioning.ErrNotFound) {
				t.Errorf("Lookup(%q) err = %v, want ErrNotFound", tok, err)
			}
		}
	}},
	{"delete ends the session once", func(t *testing.T, f fixture) {
		ctx := context.Background()
		s := mustCreate(t, f.svc, "alice", nil)
		if err := f.svc.Delete(ctx, s.Token); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Lookup(ctx, s.Token); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("Lookup after Delete err = %v, want ErrNotFound", err)
		}
		if err := f.svc.Delete(ctx, s.Token); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("second Delete err = %v, want ErrNotFound", err)
		}
	}},
	{"rotate replaces the token", func(t *testing.T, f fixture) {
		ctx := context.Background()
		s := mustCreate(t, f.svc, "alice", sessioning.Metadata{"k": "v"})
		f.clock.Advance(time.Second)
		r, err := f.svc.Rotate(ctx, s.Token)
		if err != nil {
			t.Fatal(err)
		}
		if r.Token == s.Token || r.Handle != s.Handle || r.User != "alice" || !r.Created.Equal(s.Created) || r.Metadata["k"] != "v" {
			t.Errorf("Rotate = %+v", r.Info)
		}
		if _, err := f.svc.Lookup(ctx, s.Token); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("old token err = %v, want ErrNotFound", err)
		}
		info, err := f.svc.Lookup(ctx, r.Token)
		if err != nil {
			t.Fatal(err)
		}
		sameInfo(t, "Lookup of rotated", info, r.Info)
		if _, err := f.svc.Rotate(ctx, s.Token); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("Rotate of old token err = %v, want ErrNotFound", err)
		}
	}},
	{"list is per user, oldest first", func(t *testing.T, f fixture) {
		ctx := context.Background()
		a1 := mustCreate(t, f.svc, "alice", nil)
		f.clock.Advance(time.Second)
		a2 := mustCreate(t, f.svc, "alice", sessioning.Metadata{"userAgent": "Phone"})
		mustCreate(t, f.svc, "bob", nil)
		list, err := f.svc.List(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 {
			t.Fatalf("List = %+v, want 2 sessions", list)
		}
		sameInfo(t, "List[0]", list[0], a1.Info)
		sameInfo(t, "List[1]", list[1], a2.Info)
		list, err = f.svc.List(ctx, "carol")
		if err != nil || list == nil || len(list) != 0 {
			t.Errorf("List of a user without sessions = %#v, %v; want empty, non-nil", list, err)
		}
	}},
	{"revoke by handle", func(t *testing.T, f fixture) {
		ctx := context.Background()
		a1 := mustCreate(t, f.svc, "alice", nil)
		a2 := mustCreate(t, f.svc, "alice", nil)
		b := mustCreate(t, f.svc, "bob", nil)
		if err := f.svc.Revoke(ctx, "alice", a1.Handle); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Lookup(ctx, a1.Token); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("revoked session err = %v, want ErrNotFound", err)
		}
		if _, err := f.svc.Lookup(ctx, a2.Token); err != nil {
			t.Errorf("other session of the user: %v", err)
		}
		if err := f.svc.Revoke(ctx, "alice", a1.Handle); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("second Revoke err = %v, want ErrNotFound", err)
		}
		if err := f.svc.Revoke(ctx, "alice", b.Handle); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("Revoke of another user's handle err = %v, want ErrNotFound", err)
		}
		if _, err := f.svc.Lookup(ctx, b.Token); err != nil {
			t.Errorf("bob's session after alice revoked its handle: %v", err)
		}
	}},
	{"revoke all", func(t *testing.T, f fixture) {
		ctx := context.Background()
		a1 := mustCreate(t, f.svc, "alice", nil)
		mustCreate(t, f.svc, "alice", nil)
		b := mustCreate(t, f.svc, "bob", nil)
		n, err := f.svc.RevokeAll(ctx, "alice")
		if err != nil || n != 2 {
			t.Errorf("RevokeAll = %d, %v; want 2", n, err)
		}
		if _, err := f.svc.Lookup(ctx, a1.Token); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("after RevokeAll err = %v, want ErrNotFound", err)
		}
		if _, err := f.svc.Lookup(ctx, b.Token); err != nil {
			t.Errorf("bob's session: %v", err)
		}
		if n, err := f.svc.RevokeAll(ctx, "alice"); err != nil || n != 0 {
			t.Errorf("second RevokeAll = %d, %v; want 0", n, err)
		}
	}},
	{"expiry", func(t *testing.T, f fixture) {
		ctx := context.Background()
		s := mustCreate(t, f.svc, "alice", nil)
		f.clock.Advance(time.Hour)
		if _, err := f.svc.Lookup(ctx, s.Token); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("idle session err = %v, want ErrNotFound", err)
		}
		if err := f.svc.Delete(ctx, s.Token); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("Delete of expired err = %v, want ErrNotFound", err)
		}
	}},
	{"invalid input", func(t *testing.T, f fixture) {
		ctx := context.Background()
		big := sessioning.Metadata{"k": strings.Repeat("x", sessioning.MaxMetadataValue+1)}
		checks := map[string]error{}
		_, checks["Create empty user"] = f.svc.Create(ctx, "", nil)
		_, checks["Create oversized metadata"] = f.svc.Create(ctx, "alice", big)
		_, checks["Create invalid UTF-8 user"] = f.svc.Create(ctx, "\xff", nil)
		_, checks["List empty user"] = f.svc.List(ctx, "")
		checks["Revoke empty handle"] = f.svc.Revoke(ctx, "alice", "")
		_, checks["RevokeAll empty user"] = f.svc.RevokeAll(ctx, "")
		for what, err := range checks {
			if !errors.Is(err, sessioning.ErrInvalidInput) {
				t.Errorf("%s: err = %v, want ErrInvalidInput", what, err)
			}
		}
	}},
	{"store failure is unavailable", func(t *testing.T, f fixture) {
		s := mustCreate(t, f.svc, "alice", nil)
		f.store.Close()
		_, err := f.svc.Lookup(context.Background(), s.Token)
		if err == nil || errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("Lookup on a closed store err = %v, want a failure that is not ErrNotFound", err)
		}
	}},
	{"cancelled context", func(t *testing.T, f fixture) {
		s := mustCreate(t, f.svc, "alice", nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := f.svc.Lookup(ctx, s.Token); !errors.Is(err, context.Canceled) {
			t.Errorf("Lookup err = %v, want context.Canceled", err)
		}
	}},
}

func TestInterchangeable(t *testing.T) {
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			for _, b := range behaviours {
				t.Run(b.name, func(t *testing.T) { b.run(t, impl.new(t)) })
			}
		})
	}
}

func TestServiceKey(t *testing.T) {
	m, _, _ := newManager(t)
	base := serve(t, m, &httpapi.Options{ServiceKey: serviceKey}, nil)
	ctx := context.Background()
	s := mustCreate(t, newClient(t, base, serviceKey, nil), "alice", nil)

	for _, key := range []string{"", "wrong-key"} {
		c := newClient(t, base, key, nil)
		if _, err := c.Create(ctx, "alice", nil); !errors.Is(err, sessioning.ErrUnauthorized) {
			t.Errorf("key %q: Create err = %v, want ErrUnauthorized", key, err)
		}
		if _, err := c.List(ctx, "alice"); !errors.Is(err, sessioning.ErrUnauthorized) {
			t.Errorf("key %q: List err = %v, want ErrUnauthorized", key, err)
		}
		// Calls that need only the token work without the key.
		if info, err := c.Lookup(ctx, s.Token); err != nil || info.User != "alice" {
			t.Errorf("key %q: Lookup = %+v, %v", key, info, err)
		}
		if user, err := c.User(ctx, s.Token); err != nil || user != "alice" {
			t.Errorf("key %q: User = %q, %v", key, user, err)
		}
	}
}

func TestRevokeOwn(t *testing.T) {
	m, _, _ := newManager(t)
	base := serve(t, m, &httpapi.Options{ServiceKey: serviceKey}, nil)
	ctx := context.Background()
	admin := newClient(t, base, serviceKey, nil)
	a1 := mustCreate(t, admin, "alice", nil)
	a2 := mustCreate(t, admin, "alice", nil)
	b := mustCreate(t, admin, "bob", nil)

	c := newClient(t, base, "", nil) // no key: the user's own token suffices
	if err := c.RevokeOwn(ctx, b.Token, a2.Handle); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("RevokeOwn of another user's session err = %v, want ErrNotFound", err)
	}
	if err := c.RevokeOwn(ctx, a1.Token, a2.Handle); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup(ctx, a2.Token); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("revoked session err = %v, want ErrNotFound", err)
	}
}

func TestTokenNeverInURL(t *testing.T) {
	m, _, _ := newManager(t)
	var mu sync.Mutex
	var urls []string
	base := serve(t, m, &httpapi.Options{ServiceKey: serviceKey}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			urls = append(urls, r.URL.String())
			mu.Unlock()
			h.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	c := newClient(t, base, serviceKey, nil)
	s := mustCreate(t, c, "alice", nil)
	c.Lookup(ctx, s.Token)
	c.User(ctx, s.Token)
	r, _ := c.Rotate(ctx, s.Token)
	c.RevokeOwn(ctx, r.Token, "nope")
	c.Delete(ctx, r.Token)
	mu.Lock()
	defer mu.Unlock()
	if len(urls) != 6 {
		t.Errorf("%d requests, want 6", len(urls))
	}
	for _, u := range urls {
		if strings.Contains(u, s.Token) || strings.Contains(u, r.Token) || strings.Contains(u, "?") {
			t.Errorf("request URL %q carries a token or a query", u)
		}
	}
}

func TestErrors(t *testing.T) {
	tok := "secret-" + strings.Repeat("t", 36)
	ctx := context.Background()
	reply := func(status int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		return srv.URL + "/api"
	}
	stopped := httptest.NewServer(http.NotFoundHandler())
	stopped.Close()

	m, _, _ := newManager(t)
	smallBody := serve(t, m, &httpapi.Options{MaxBodyBytes: 256}, nil)

	tests := []struct {
		name string
		base string
		call func(c *client.Client) error
		want error // nil: any error that is none of the sentinels
	}{
		{"200 error is not found", reply(200, `{"error":"Session not found"}`), func(c *client.Client) error { return c.Delete(ctx, tok) }, sessioning.ErrNotFound},
		{"empty query result is not found", reply(200, `[]`), func(c *client.Client) error { _, err := c.Lookup(ctx, tok); return err }, sessioning.ErrNotFound},
		{"400 is invalid input", reply(400, `{"error":"field session must be a string"}`), func(c *client.Client) error { _, err := c.Lookup(ctx, tok); return err }, sessioning.ErrInvalidInput},
		{"413 is invalid input", smallBody, func(c *client.Client) error {
			_, err := c.Create(ctx, "alice", sessioning.Metadata{"k": strings.Repeat("x", 512)})
			return err
		}, sessioning.ErrInvalidInput},
		{"401 is unauthorized", reply(401, `{"error":"no"}`), func(c *client.Client) error { _, err := c.List(ctx, "alice"); return err }, sessioning.ErrUnauthorized},
		{"503 is unavailable", reply(503, `{"error":"session store unavailable"}`), func(c *client.Client) error { _, err := c.Lookup(ctx, tok); return err }, sessioning.ErrUnavailable},
		{"500 is unavailable", reply(500, `oops`), func(c *client.Client) error { _, err := c.Rotate(ctx, tok); return err }, sessioning.ErrUnavailable},
		{"connection refused is unavailable", stopped.URL, func(c *client.Client) error { return c.Delete(ctx, tok) }, sessioning.ErrUnavailable},
		{"malformed reply is unavailable", reply(200, `{"session": 42`), func(c *client.Client) error { _, err := c.Rotate(ctx, tok); return err }, sessioning.ErrUnavailable},
		{"reply of the wrong shape is unavailable", reply(200, `{}`), func(c *client.Client) error { _, err := c.Create(ctx, "alice", nil); return err }, sessioning.ErrUnavailable},
		{"404 is a wrong base URL", reply(404, `{"error":"no such route"}`), func(c *client.Client) error { _, err := c.Lookup(ctx, tok); return err }, nil},
	}
	sentinels := []error{sessioning.ErrNotFound, sessioning.ErrInvalidInput, sessioning.ErrUnauthorized, sessioning.ErrUnavailable}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(newClient(t, tt.base, "k", nil))
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if tt.want == nil {
				for _, s := range sentinels {
					if errors.Is(err, s) {
						t.Errorf("err = %v is %v", err, s)
					}
				}
			}
			if strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), "secret-") {
				t.Errorf("error %q contains the token", err)
			}
		})
	}
}

// blocking is a server that holds each request until the request is done,
// and reports its arrival.
func blocking(t *testing.T) (base string, arrived <-chan struct{}) {
	t.Helper()
	ch := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ch <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv.URL, ch
}

func TestContextCancelledInFlight(t *testing.T) {
	base, arrived := blocking(t)
	c := newClient(t, base, "", nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	_, err := c.Lookup(ctx, strings.Repeat("A", 43))
	if !errors.Is(err, context.Canceled) || errors.Is(err, sessioning.ErrUnavailable) {
		t.Errorf("err = %v, want context.Canceled only", err)
	}
}

func TestClientTimeoutIsUnavailable(t *testing.T) {
	base, _ := blocking(t)
	c := newClient(t, base, "", &client.Options{Timeout: 50 * time.Millisecond})
	_, err := c.Lookup(context.Background(), strings.Repeat("A", 43))
	if !errors.Is(err, sessioning.ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
}

func TestBaseURL(t *testing.T) {
	m, _, _ := newManager(t)
	base := serve(t, m, nil, nil) // no key: loopback clients are trusted
	root := strings.TrimSuffix(base, "/api")
	for _, b := range []string{base, base + "/", root} {
		c := newClient(t, b, "", nil)
		if _, err := c.Create(context.Background(), "alice", nil); err != nil {
			t.Errorf("base %q: %v", b, err)
		}
	}
	for _, b := range []string{"", "127.0.0.1:8000", "ftp://host/api", "http://user:pw@host/api", "http://host/api?x=1", "http:///api"} {
		if _, err := client.New(b, "", nil); !errors.Is(err, sessioning.ErrInvalidInput) {
			t.Errorf("New(%q) err = %v, want ErrInvalidInput", b, err)
		}
	}
	if _, err := client.New(base, "key\r\nX: y", nil); !errors.Is(err, sessioning.ErrInvalidInput) {
		t.Errorf("key with a newline: err = %v, want ErrInvalidInput", err)
	}
}
