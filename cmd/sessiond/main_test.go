package main

// These tests are in package main because run is the program's entry
// point; they still only use it through run (or runWith, which adds a
// way to wrap the store) and HTTP.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessioning/sessioning"
)

// syncBuffer is a bytes.Buffer safe for the server's log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// addrWriter reports the address from run's "listening on" line.
type addrWriter struct {
	once sync.Once
	addr chan string
	buf  syncBuffer
}

func (w *addrWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	for l := range strings.Lines(w.buf.String()) {
		if a, ok := strings.CutPrefix(strings.TrimSpace(l), "listening on "); ok {
			w.once.Do(func() { w.addr <- a })
		}
	}
	return len(p), nil
}

// server is a sessiond started through run.
type server struct {
	t      *testing.T
	url    string // http://host:port
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
	client *http.Client

	stopOnce sync.Once
	err      error // what run returned
}

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// start runs sessiond with args (plus --addr 127.0.0.1:0 unless args set
// one) and waits until it listens.
func start(t *testing.T, args []string, environ map[string]string, open opener) *server {
	t.Helper()
	if open == nil {
		open = openStore
	}
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "debug"}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	out := &addrWriter{addr: make(chan string, 1)}
	s := &server{t: t, cancel: cancel, done: make(chan error, 1), logs: &syncBuffer{},
		client: &http.Client{Transport: &http.Transport{}}}
	go func() { s.done <- runWith(ctx, args, env(environ), out, s.logs, open) }()
	select {
	case a := <-out.addr:
		s.url = "http://" + a
	case err := <-s.done:
		t.Fatalf("run returned before listening: %v\n%s", err, s.logs)
	}
	t.Cleanup(func() {
		s.stop()
		s.client.CloseIdleConnections()
	})
	return s
}

// stop cancels run's context and returns what run returned.
func (s *server) stop() error {
	s.cancel()
	s.stopOnce.Do(func() { s.err = <-s.done })
	return s.err
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (s *server) do(method, path, body string, header ...string) reply {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return reply{res.StatusCode, res.Header, string(b)}
}

// call posts to a concept route and decodes a 200 reply into out.
func (s *server) call(name string, in any, out any, header ...string) reply {
	s.t.Helper()
	b, _ := json.Marshal(in)
	r := s.do("POST", "/api/Sessioning/"+name, string(b), header...)
	if out != nil {
		if r.status != 200 {
			s.t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
		if err := json.Unmarshal([]byte(r.body), out); err != nil {
			s.t.Fatalf("%s: %q: %v", name, r.body, err)
		}
	}
	return r
}

type obj = map[string]any

func (s *server) create(user string, header ...string) sessioning.Session {
	s.t.Helper()
	var out sessioning.Session
	s.call("create", obj{"user": user, "metadata": obj{"ua": "test"}}, &out, header...)
	if out.Token == "" || out.User != user {
		s.t.Fatalf("create: %+v", out)
	}
	return out
}

func (s *server) user(token string) string {
	s.t.Helper()
	var got []struct{ User string }
	s.call("_getUser", obj{"session": token}, &got)
	if len(got) == 0 {
		return ""
	}
	return got[0].User
}

const notFound = `{"error":"Session not found"}`

func TestEveryRoute(t *testing.T) {
	s := start(t, []string{"--data", t.TempDir()}, nil, nil)
	var tokens []string

	a := s.create("alice")
	tokens = append(tokens, a.Token)
	if u := s.user(a.Token); u != "alice" {
		t.Fatalf("_getUser = %q", u)
	}
	var infos []sessioning.Info
	s.call("_getSession", obj{"session": a.Token}, &infos)
	if len(infos) != 1 || infos[0].Handle != a.Handle || infos[0].Metadata["ua"] != "test" {
		t.Fatalf("_getSession = %+v", infos)
	}
	var rot sessioning.Session
	s.call("rotate", obj{"session": a.Token}, &rot)
	tokens = append(tokens, rot.Token)
	if s.user(a.Token) != "" || s.user(rot.Token) != "alice" {
		t.Fatal("rotate did not replace the token")
	}
	b := s.create("alice")
	c := s.create("alice")
	tokens = append(tokens, b.Token, c.Token)
	s.call("_listSessions", obj{"user": "alice"}, &infos)
	if len(infos) != 3 {
		t.Fatalf("_listSessions = %+v", infos)
	}
	s.call("revoke", obj{"user": "alice", "handle": b.Handle}, &obj{})
	s.call("revokeOwn", obj{"session": rot.Token, "handle": c.Handle}, &obj{})
	if s.user(b.Token) != "" || s.user(c.Token) != "" {
		t.Fatal("revoke or revokeOwn left a session")
	}
	if r := s.call("revoke", obj{"user": "alice", "handle": b.Handle}, nil); r.body != notFound {
		t.Errorf("revoke twice = %s", r.body)
	}
	if r := s.call("revokeOwn", obj{"session": rot.Token, "handle": c.Handle}, nil); r.body != notFound {
		t.Errorf("revokeOwn twice = %s", r.body)
	}
	d := s.create("bob")
	e := s.create("bob")
	tokens = append(tokens, d.Token, e.Token)
	s.call("delete", obj{"session": d.Token}, &obj{})
	s.call("logout", obj{"session": rot.Token}, &obj{})
	for _, name := range []string{"delete", "logout", "rotate"} {
		if r := s.call(name, obj{"session": d.Token}, nil); r.status != 200 || r.body != notFound {
			t.Errorf("%s of a deleted session = %d %s", name, r.status, r.body)
		}
	}
	if r := s.call("_getSession", obj{"session": d.Token}, nil); r.body != "[]" {
		t.Errorf("_getSession deleted = %s", r.body)
	}
	var cnt struct{ Count int }
	s.call("revokeAll", obj{"user": "bob"}, &cnt)
	if cnt.Count != 1 || s.user(e.Token) != "" {
		t.Errorf("revokeAll = %d", cnt.Count)
	}

	// Error shapes.
	for _, tt := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/api/Sessioning/_getUser", `{"session": {"$ne": "x"}}`, 400},
		{"POST", "/api/Sessioning/create", `{"user": 42}`, 400},
		{"POST", "/api/Sessioning/create", `{"user": null}`, 400},
		{"POST", "/api/Sessioning/create", `not json`, 400},
		{"POST", "/api/Sessioning/delete", `[]`, 400},
		{"POST", "/api/Sessioning/_getUser", `{"session": "` + strings.Repeat("x", 70<<10) + `"}`, 413},
		{"POST", "/api/Sessioning/nope", `{}`, 404},
		{"GET", "/api/Sessioning/create", ``, 405},
	} {
		r := s.do(tt.method, tt.path, tt.body)
		var eb struct{ Error string }
		if r.status != tt.status || json.Unmarshal([]byte(r.body), &eb) != nil || eb.Error == "" {
			t.Errorf("%s %s %.40q: %d %.200s; want %d {error}", tt.method, tt.path, tt.body, r.status, r.body, tt.status)
		}
	}
	if r := s.do("GET", "/api/Sessioning/create", ""); r.header.Get("Allow") != "POST" {
		t.Errorf("405 without Allow: %v", r.header)
	}

	// Operations.
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/api/openapi.json"} {
		if r := s.do("GET", p, ""); r.status != 200 {
			t.Errorf("GET %s = %d", p, r.status)
		}
	}
	m := s.do("GET", "/metrics", "")
	if !strings.Contains(m.body, `sessiond_http_requests_total{outcome="ok",route="create"} 5`) {
		t.Errorf("metrics:\n%s", m.body)
	}

	if err := s.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "route=_getUser") {
		t.Errorf("debug logs lack request lines:\n%s", logs)
	}
	for _, tok := range tokens {
		if strings.Contains(logs, tok) || strings.Contains(m.body, tok) {
			t.Fatalf("a token appears in the logs or metrics")
		}
	}
}

func TestServiceKey(t *testing.T) {
	const key = "0123456789abcdef-service"
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		args []string
		env  map[string]string
	}{
		"key in env":  {nil, map[string]string{"SESSIOND_SERVICE_KEY": key}},
		"key in file": {[]string{"--service-key-file", file}, nil},
		"flag wins":   {[]string{"--service-key-file", file}, map[string]string{"SESSIOND_SERVICE_KEY": "another-key-0123456789"}},
	} {
		t.Run(name, func(t *testing.T) {
			s := start(t, append([]string{"--store", "memory"}, tt.args...), tt.env, nil)
			for _, auth := range []string{"", "Bearer wrong-0123456789abcdef", "Bearer another-key-0123456789"} {
				r := s.call("create", obj{"user": "alice"}, nil, "Authorization", auth)
				if r.status != 401 || !strings.Contains(r.body, `"error"`) {
					t.Errorf("create with %q: %d %s", auth, r.status, r.body)
				}
			}
			a := s.create("alice", "Authorization", "Bearer "+key)
			if s.user(a.Token) != "alice" {
				t.Error("session made with the key does not work")
			}
			if strings.Contains(s.logs.String(), "no service key") {
				t.Error("warned about a missing key although one is set")
			}
			s.stop()
			if strings.Contains(s.logs.String(), key) {
				t.Error("the service key appears in the logs")
			}
		})
	}
	t.Run("keyless serves loopback and warns", func(t *testing.T) {
		s := start(t, []string{"--store", "memory"}, nil, nil)
		s.create("alice")
		if !strings.Contains(s.logs.String(), "no service key configured") {
			t.Errorf("no warning at start:\n%s", s.logs)
		}
	})
}

// blockingStore holds Get calls while armed, to keep a request in flight.
type blockingStore struct {
	sessioning.Store
	mu      sync.Mutex
	armed   bool
	entered chan struct{}
	release chan struct{}
	events  []string
}

func (b *blockingStore) Get(ctx context.Context, k sessioning.Key) (sessioning.Record, error) {
	b.mu.Lock()
	armed := b.armed
	b.armed = false
	b.mu.Unlock()
	if armed {
		close(b.entered)
		<-b.release
	}
	rec, err := b.Store.Get(ctx, k)
	if armed {
		b.log("get done")
	}
	return rec, err
}

func (b *blockingStore) Close() error {
	b.log("close")
	return b.Store.Close()
}

func (b *blockingStore) log(e string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, e)
}

func TestShutdownFinishesRequestsInFlight(t *testing.T) {
	bs := &blockingStore{entered: make(chan struct{}), release: make(chan struct{})}
	s := start(t, []string{"--data", t.TempDir()}, nil, func(ctx context.Context, cfg config, log *slog.Logger) (sessioning.Store, legacyStore, error) {
		st, _, err := openStore(ctx, cfg, log)
		bs.Store = st
		return bs, nil, err
	})
	a := s.create("alice")
	bs.mu.Lock()
	bs.armed = true
	bs.mu.Unlock()

	got := make(chan reply, 1)
	go func() {
		b, _ := json.Marshal(obj{"session": a.Token})
		res, err := http.Post(s.url+"/api/Sessioning/_getUser", "application/json", bytes.NewReader(b))
		if err != nil {
			got <- reply{body: err.Error()}
			return
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		got <- reply{status: res.StatusCode, body: string(body)}
	}()
	<-bs.entered
	s.cancel()
	// Wait until the listener is closed, so the shutdown has begun while
	// the request is still held in the store.
	addr := strings.TrimPrefix(s.url, "http://")
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener is still open after cancel")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-s.done:
		s.stopOnce.Do(func() { s.err = err })
		t.Fatalf("run returned with a request in flight: %v", err)
	default:
	}
	close(bs.release)
	r := <-got
	if r.status != 200 || r.body != `[{"user":"alice"}]` {
		t.Fatalf("request in flight got %d %s", r.status, r.body)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if len(bs.events) < 2 || bs.events[0] != "get done" || bs.events[1] != "close" {
		t.Fatalf("events = %v; want the request to finish before the store closes", bs.events)
	}
}

func TestRestartKeepsSessions(t *testing.T) {
	dir := t.TempDir()
	s := start(t, []string{"--data", dir}, nil, nil)
	kept := s.create("alice")
	gone := s.create("bob")
	s.call("logout", obj{"session": gone.Token}, &obj{})
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, storeDir)); err != nil {
		t.Fatalf("no store file: %v", err)
	}
	s = start(t, nil, map[string]string{"SESSIOND_DATA": dir}, nil)
	if s.user(kept.Token) != "alice" {
		t.Error("session lost across restart")
	}
	if s.user(gone.Token) != "" {
		t.Error("logged-out session came back after restart")
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"serve", "--help"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, env(nil), &out, io.Discard); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		for _, o := range options {
			if !strings.Contains(out.String(), "--"+o.flag) || !strings.Contains(out.String(), o.usage) {
				t.Errorf("%v: help does not document --%s", args, o.flag)
			}
		}
		if !strings.Contains(out.String(), "SESSIOND_SERVICE_KEY") || !strings.Contains(out.String(), "PORT") {
			t.Errorf("help lacks the key or PORT variables")
		}
	}
}

func TestInvalidConfig(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("abc"), 0o600)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown flag", []string{"--nope"}, nil, "nope"},
		{"unknown command", []string{"launch"}, nil, `unknown command "launch"`},
		{"extra argument", []string{"serve", "--addr", "127.0.0.1:0", "x"}, nil, `unexpected argument "x"`},
		{"bad lifetime", []string{"--lifetime", "forever"}, nil, `--lifetime: "forever" is not a duration`},
		{"bad env duration", nil, map[string]string{"SESSIOND_IDLE_TIMEOUT": "-1h"}, "SESSIOND_IDLE_TIMEOUT: must be positive"},
		{"zero sweep", []string{"--sweep-interval", "0"}, nil, "--sweep-interval: must be positive"},
		{"bad PORT", nil, map[string]string{"PORT": "http"}, `PORT: "http" is not a port number`},
		{"bad store", []string{"--store", "redis"}, nil, `unknown store "redis"`},
		{"bad disk reads", nil, map[string]string{"SESSIOND_DISK_READS": "sometimes"}, `SESSIOND_DISK_READS: "sometimes" is not true or false`},
		{"bad log level", nil, map[string]string{"SESSIOND_LOG_LEVEL": "loud"}, "SESSIOND_LOG_LEVEL"},
		{"bad log format", []string{"--log-format", "xml"}, nil, "--log-format"},
		{"bad max body", []string{"--max-body", "-5"}, nil, "--max-body"},
		{"missing key file", []string{"--service-key-file", filepath.Join(dir, "none")}, nil, "--service-key-file: cannot read"},
		{"short key", []string{"--service-key-file", short}, nil, "at least 16 characters"},
		{"short env key", nil, map[string]string{"SESSIOND_SERVICE_KEY": "pw"}, "SESSIOND_SERVICE_KEY: the service key must be at least 16"},
		{"bad base path", []string{"--base-path", "api/"}, nil, "base path"},
		{"bad origin", []string{"--cors-origins", "https://a.example, nope"}, nil, `allowed origin "nope"`},
		{"bad address", []string{"--addr", "256.0.0.1:99999"}, nil, "listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--store", "memory"}, tt.args...)
			if tt.name == "unknown command" || tt.name == "extra argument" {
				args = tt.args
			}
			var out bytes.Buffer
			err := run(context.Background(), args, env(tt.env), &out, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v; want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			if out.Len() > 0 {
				t.Errorf("printed %q", out.String())
			}
		})
	}
}

func TestConfigPrecedence(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		addr string
	}{
		{nil, nil, "127.0.0.1:8000"},
		{nil, map[string]string{"PORT": "9000"}, ":9000"},
		{nil, map[string]string{"PORT": "9000", "SESSIOND_ADDR": "127.0.0.1:7000"}, "127.0.0.1:7000"},
		{[]string{"--addr", "127.0.0.1:6000"}, map[string]string{"PORT": "9000", "SESSIOND_ADDR": "127.0.0.1:7000"}, "127.0.0.1:6000"},
	}
	for _, tt := range tests {
		cfg, err := parseConfig(tt.args, env(tt.env))
		if err != nil || cfg.addr != tt.addr {
			t.Errorf("args %v env %v: addr %q, err %v; want %q", tt.args, tt.env, cfg.addr, err, tt.addr)
		}
	}
	cfg, err := parseConfig([]string{"--lifetime", "1h"}, env(map[string]string{
		"SESSIOND_LIFETIME": "2h", "SESSIOND_IDLE_TIMEOUT": "0", "SESSIOND_DATA": "/srv/s", "SESSIOND_CORS_ORIGINS": "https://a.example, https://b.example",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.lifetime != time.Hour || cfg.idleTimeout >= 0 || cfg.data != "/srv/s" || len(cfg.corsOrigins) != 2 || cfg.basePath != "/api" || cfg.store != storeEmbedded {
		t.Errorf("cfg = %+v", cfg)
	}
}

func TestStoreOpenFailure(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	err := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--data", filepath.Join(file, "sub")}, env(nil), io.Discard, io.Discard)
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v; want one line", err)
	}
}

// hangingStore never answers lookups or pings until the caller gives up,
// like a database server lost in the middle of a request.
type hangingStore struct{ sessioning.Store }

func (hangingStore) Get(ctx context.Context, _ sessioning.Key) (sessioning.Record, error) {
	<-ctx.Done()
	return sessioning.Record{}, ctx.Err()
}

func (hangingStore) Ping(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// --store-timeout bounds every request's wait for the store: a store that
// hangs gets 503 {error}, not a request that hangs with it.
func TestStoreTimeoutBoundsRequests(t *testing.T) {
	s := start(t, []string{"--store", "memory", "--store-timeout", "100ms"}, nil, func(ctx context.Context, cfg config, log *slog.Logger) (sessioning.Store, legacyStore, error) {
		st, _, err := openStore(ctx, cfg, log)
		return hangingStore{st}, nil, err
	})
	s.client.Timeout = time.Minute // a hang fails the test, not the run
	a := s.create("alice")
	for _, r := range []reply{
		s.call("_getUser", obj{"session": a.Token}, nil),
		s.do("GET", "/readyz", ""),
	} {
		var eb struct{ Error string }
		if r.status != http.StatusServiceUnavailable || json.Unmarshal([]byte(r.body), &eb) != nil || eb.Error == "" {
			t.Errorf("hung store: %d %s; want 503 {error}", r.status, r.body)
		}
	}
}
