package main

// sessiond on MongoDB: by default an in-process FerretDB from
// internal/mongotest, or the server SESSIONING_TEST_MONGODB_URL names.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	mopts "go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessioning/sessioning/internal/mongotest"
	"github.com/sessioning/sessioning/mongostore"
)

func TestMain(m *testing.M) {
	if env, ok := os.LookupEnv(childEnv); ok {
		// Re-executed by startProcess: be sessiond, as main is.
		var args []string
		if err := json.Unmarshal([]byte(env), &args); err != nil {
			panic(err)
		}
		main1(args)
		os.Exit(0)
	}
	os.Exit(mongotest.Main(m))
}

// childEnv carries the arguments of a sessiond process started by
// startProcess, as a JSON array.
const childEnv = "SESSIOND_TEST_CHILD_ARGS"

// startProcess runs sessiond in a process of its own (this test binary,
// re-executed) with args plus --addr 127.0.0.1:0, waits until it listens,
// and stops it with SIGTERM when the test ends, checking that it exits 0.
func startProcess(t *testing.T, args ...string) *server {
	t.Helper()
	args = append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	enc, _ := json.Marshal(args)
	cmd.Env = append(os.Environ(), childEnv+"="+string(enc))
	logs := &syncBuffer{}
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addr <- a
			}
		}
		done <- cmd.Wait()
	}()
	s := &server{t: t, logs: logs, client: &http.Client{Transport: &http.Transport{}}, done: done}
	s.cancel = func() { cmd.Process.Signal(syscall.SIGTERM) }
	select {
	case a := <-addr:
		s.url = "http://" + a
	case err := <-done:
		t.Fatalf("sessiond process exited before listening: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("sessiond process: %v\n%s", err, logs)
		}
		s.client.CloseIdleConnections()
	})
	return s
}

// mongoDB returns the test server's URI and a fresh database on it,
// dropped when t ends.
func mongoDB(t *testing.T) (uri, db string) {
	t.Helper()
	uri = mongotest.URI(t)
	db = mongotest.DBName(t.TempDir())
	mongotest.Drop(t, uri, db)
	return uri, db
}

// collection returns the sessions collection of db, through a client of
// its own, for inserting and inspecting documents behind sessiond's back.
func collection(t *testing.T, uri, db string) *mongo.Collection {
	t.Helper()
	c, err := mongo.Connect(mopts.Client().ApplyURI(uri).SetServerSelectionTimeout(10 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	return c.Database(db).Collection(mongostore.Collection)
}

// plainIDs returns the _id of every document of the original's form left.
func plainIDs(t *testing.T, coll *mongo.Collection) []string {
	t.Helper()
	cur, err := coll.Find(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(context.Background(), &docs); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range docs {
		if !strings.HasPrefix(d.ID, "sha256:") {
			ids = append(ids, d.ID)
		}
	}
	return ids
}

func TestMongoConfig(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		db    string
		hosts string
	}{
		{"original's variables", nil, map[string]string{"MONGODB_URL": "mongodb://u:pw@db1:27017,db2:27017/?replicaSet=rs0", "DB_NAME": "app"}, "app", "db1:27017,db2:27017"},
		{"database in the path", []string{"--store", "mongodb://db1/app"}, nil, "app", "db1"},
		{"--db wins over the path", []string{"--store", "mongodb://db1/other", "--db", "app"}, nil, "app", "db1"},
		{"DB_NAME wins over the path", nil, map[string]string{"SESSIOND_STORE": "mongodb://db1/other", "DB_NAME": "app"}, "app", "db1"},
		{"flag wins over MONGODB_URL", []string{"--store", "mongodb://db9/app"}, map[string]string{"MONGODB_URL": "mongodb://db1/app"}, "app", "db9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig(tt.args, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.mongo == nil || cfg.mongo.db != tt.db || cfg.mongo.hosts != tt.hosts {
				t.Fatalf("mongo = %+v", cfg.mongo)
			}
			if n := cfg.storeName(); strings.Contains(n, "pw") || !strings.Contains(n, tt.hosts) {
				t.Errorf("storeName = %q", n)
			}
		})
	}
	cfg, err := parseConfig(nil, env(map[string]string{"SESSIOND_STORE": "memory", "MONGODB_URL": "mongodb://db1/app"}))
	if err != nil || cfg.mongo != nil || cfg.store != storeMemory {
		t.Errorf("SESSIOND_STORE does not win over MONGODB_URL: %+v, %v", cfg, err)
	}
	cfg, err = parseConfig(nil, env(nil))
	if err != nil || cfg.store != storeEmbedded || cfg.storeTimeout != 10*time.Second || cfg.adoptLegacy != "auto" || cfg.command != "serve" {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
}

func TestMongoInvalidConfig(t *testing.T) {
	const pw = "s3cret-pw"
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no database", []string{"--store", "mongodb://u:" + pw + "@db1/"}, nil, "--store: no MongoDB database named"},
		{"malformed", nil, map[string]string{"MONGODB_URL": "mongodb://u:" + pw + "@db1/app?w=%zz"}, "MONGODB_URL: malformed MongoDB connection string"},
		{"other scheme", []string{"--store", "postgres://u:" + pw + "@db1/app"}, nil, `unknown store scheme "postgres://"`},
		{"bad database", []string{"--store", "mongodb://db1/app", "--db", "a.b"}, nil, `--db: "a.b" is not a MongoDB database name`},
		{"adoption without MongoDB", []string{"--adopt-legacy", "on"}, nil, "--adopt-legacy: on needs a MongoDB store"},
		{"bad adoption", []string{"--store", "mongodb://db1/app", "--adopt-legacy", "yes"}, nil, `--adopt-legacy: "yes" is not auto, on or off`},
		{"zero store timeout", []string{"--store-timeout", "0"}, nil, "--store-timeout: must be positive"},
		{"adopt without MongoDB", []string{"adopt", "--store", "memory"}, nil, "adopt: needs a MongoDB store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tt.args, env(tt.env), &out, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v; want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), pw) {
				t.Errorf("error spans lines or shows the password: %q", err)
			}
		})
	}
}

// An unreachable server stops sessiond at start, after --store-timeout,
// with one line that names the hosts and not the password.
func TestMongoUnreachableAtStart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nobody listens there now
	for _, cmd := range []string{"serve", "adopt"} {
		var out, logs syncBuffer
		err = run(context.Background(), []string{cmd, "--addr", "127.0.0.1:0", "--store", "mongodb://admin:s3cret-pw@" + addr + "/app", "--store-timeout", "200ms"}, env(nil), &out, &logs)
		if err == nil || !strings.Contains(err.Error(), "MongoDB at "+addr+" did not answer within 200ms") {
			t.Fatalf("%s: err = %v", cmd, err)
		}
		if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error()+logs.String(), "s3cret-pw") {
			t.Errorf("%s: error spans lines or the password shows: %q\n%s", cmd, err, logs.String())
		}
		if out.String() != "" {
			t.Errorf("%s printed %q", cmd, out.String())
		}
	}
}

func TestMongoServe(t *testing.T) {
	uri, db := mongoDB(t)
	s := start(t, []string{"--store", uri, "--data", t.TempDir()}, map[string]string{"DB_NAME": db}, nil)
	a := s.create("alice")
	if s.user(a.Token) != "alice" {
		t.Fatal("session not found")
	}
	s.call("logout", obj{"session": a.Token}, &obj{})
	if s.user(a.Token) != "" {
		t.Fatal("session found after logout")
	}
	if r := s.do("GET", "/readyz", ""); r.status != 200 {
		t.Errorf("readyz = %d %s", r.status, r.body)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	logs := s.logs.String()
	for _, want := range []string{"--data is ignored", "store=mongodb:", "no sessions of the original implementation to adopt"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

// Two sessiond processes on one database see each other's sessions and
// logouts at once.
func TestTwoProcessesOneDatabase(t *testing.T) {
	uri, db := mongoDB(t)
	p1 := startProcess(t, "--store", uri, "--db", db)
	p2 := startProcess(t, "--store", uri, "--db", db)

	a := p1.create("alice")
	if p2.user(a.Token) != "alice" {
		t.Fatal("a session created on one process is not found on the other")
	}
	p2.call("logout", obj{"session": a.Token}, &obj{})
	if p1.user(a.Token) != "" {
		t.Error("a logout on the second process is not seen on the first")
	}
	b := p2.create("bob")
	if p1.user(b.Token) != "bob" {
		t.Fatal("a session created on the second process is not found on the first")
	}
	p1.call("logout", obj{"session": b.Token}, &obj{})
	if p2.user(b.Token) != "" || p1.user(b.Token) != "" {
		t.Error("a logout on the first process is not seen on both")
	}
	var cnt struct{ Count int }
	c1, c2 := p1.create("carol"), p2.create("carol")
	p2.call("revokeAll", obj{"user": "carol"}, &cnt)
	if cnt.Count != 2 || p1.user(c1.Token) != "" || p1.user(c2.Token) != "" {
		t.Errorf("revokeAll on one process: count %d, sessions left on the other", cnt.Count)
	}
}

// Sessions of the original implementation, as it stored them.
const (
	legacyAlice = "0190b2a4-5c1e-7d3a-9f00-aa11bb22cc33"
	legacyBob   = "0190b2a4-5c1e-7d3a-9f00-aa11bb22cc34"
	legacyCarol = "0190b2a4-5c1e-7d3a-9f00-aa11bb22cc35"
	legacyNoOne = "0190b2a4-5c1e-7d3a-9f00-aa11bb22cc36" // user is not a valid user
	legacyOdd   = "not a session id!"                    // never accepted as a token
)

func insertLegacy(t *testing.T, coll *mongo.Collection) {
	t.Helper()
	_, err := coll.InsertMany(context.Background(), []any{
		bson.D{{Key: "_id", Value: legacyAlice}, {Key: "user", Value: "alice"}},
		bson.D{{Key: "_id", Value: legacyBob}, {Key: "user", Value: "bob"}},
		bson.D{{Key: "_id", Value: legacyCarol}, {Key: "user", Value: "carol"}},
		bson.D{{Key: "_id", Value: legacyNoOne}, {Key: "user", Value: ""}},
		bson.D{{Key: "_id", Value: legacyOdd}, {Key: "user", Value: "dave"}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAdoptCommand(t *testing.T) {
	uri, db := mongoDB(t)
	coll := collection(t, uri, db)
	// A session of ours, made before the original's are added: adoption
	// leaves it alone.
	s := start(t, []string{"--store", uri, "--db", db}, nil, nil)
	ours := s.create("erin")
	s.stop()
	insertLegacy(t, coll)

	adopt := func() string {
		t.Helper()
		var out, logs syncBuffer
		err := run(context.Background(), []string{"adopt", "--store", uri, "--db", db}, env(nil), &out, &logs)
		if err != nil {
			t.Fatalf("adopt: %v\n%s", err, logs.String())
		}
		for _, id := range []string{legacyAlice, legacyBob, legacyCarol, legacyNoOne} {
			if strings.Contains(out.String()+logs.String(), id) {
				t.Fatal("adopt printed a session id")
			}
		}
		return out.String()
	}
	if out := adopt(); out != "converted 3, skipped 2\n" {
		t.Errorf("adopt printed %q", out)
	}
	if ids := plainIDs(t, coll); len(ids) != 1 || ids[0] != legacyOdd {
		t.Errorf("plain ids left after adopt: %q; want only the one that cannot be a token", ids)
	}
	if out := adopt(); out != "converted 0, skipped 1\n" {
		t.Errorf("second adopt printed %q", out)
	}

	// The converted sessions work with their old ids, on a service that
	// finds nothing left to adopt.
	s = start(t, []string{"--store", uri, "--db", db, "--adopt-legacy", "off"}, nil, nil)
	for id, user := range map[string]string{legacyAlice: "alice", legacyBob: "bob", legacyCarol: "carol", ours.Token: "erin"} {
		if got := s.user(id); got != user {
			t.Errorf("_getUser after adopt = %q, want %q", got, user)
		}
	}
	if s.user(legacyNoOne) != "" {
		t.Error("a session without a valid user was adopted")
	}
	s.call("logout", obj{"session": legacyBob}, &obj{})
	if s.user(legacyBob) != "" {
		t.Error("an adopted session survives logout")
	}
	var infos []struct{ Metadata map[string]string }
	s.call("_listSessions", obj{"user": "alice"}, &infos)
	if len(infos) != 1 || infos[0].Metadata["adopted"] != "legacy" {
		t.Errorf("_listSessions of an adopted user = %+v", infos)
	}
}

// With adoption on (auto, since the collection holds the original's
// sessions), an old id works over HTTP the first time it is used, and is
// converted on the way.
func TestAdoptOnUse(t *testing.T) {
	uri, db := mongoDB(t)
	coll := collection(t, uri, db)
	insertLegacy(t, coll)

	off := start(t, []string{"--store", uri, "--db", db, "--adopt-legacy", "off"}, nil, nil)
	if off.user(legacyAlice) != "" {
		t.Error("an old id works with adoption off")
	}
	off.stop()

	s := start(t, []string{"--store", uri, "--db", db}, nil, nil)
	if !strings.Contains(s.logs.String(), "adoption of the original implementation's sessions is on") {
		t.Errorf("start does not log that adoption is on:\n%s", s.logs)
	}
	if u := s.user(legacyAlice); u != "alice" {
		t.Fatalf("_getUser(old id) = %q", u)
	}
	if u := s.user(legacyAlice); u != "alice" {
		t.Fatalf("_getUser(old id), second time = %q", u)
	}
	s.call("logout", obj{"session": legacyBob}, &obj{})
	if s.user(legacyBob) != "" {
		t.Error("an old id works after logout")
	}
	if r := s.call("logout", obj{"session": legacyBob}, nil); r.body != notFound {
		t.Errorf("second logout = %s", r.body)
	}
	left := plainIDs(t, coll)
	for _, id := range left {
		if id == legacyAlice || id == legacyBob {
			t.Error("a used old id is still stored in plain text")
		}
	}
	if len(left) != 3 { // carol, no one and odd were not used
		t.Errorf("plain ids left: %d, want 3", len(left))
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.logs.String(), legacyAlice) {
		t.Error("an old id appears in the logs")
	}
}

// The database server goes away while sessiond runs under load: requests
// fail with 503 {error} within the store timeout instead of hanging,
// /readyz turns unready, and service resumes by itself when the server is
// back.
func TestMongoServerLost(t *testing.T) {
	srv := mongotest.StartServer(t)
	s := start(t, []string{"--store", srv.URI(), "--db", "app", "--store-timeout", "1s"}, nil, nil)
	// A hung request fails the test instead of the whole run; the store
	// timeout is far shorter.
	s.client.Timeout = time.Minute
	a := s.create("alice")
	unavailable := func(r reply) bool {
		var eb struct{ Error string }
		return r.status == http.StatusServiceUnavailable && json.Unmarshal([]byte(r.body), &eb) == nil && eb.Error != ""
	}

	// Load throughout: every reply is the user or 503 {error}, nothing
	// else, and no request hangs.
	stopLoad := make(chan struct{})
	var load sync.WaitGroup
	var mu sync.Mutex
	counts := map[string]int{}
	for range 4 {
		load.Go(func() {
			body, _ := json.Marshal(obj{"session": a.Token})
			for {
				select {
				case <-stopLoad:
					return
				default:
				}
				outcome := "ok"
				res, err := s.client.Post(s.url+"/api/Sessioning/_getUser", "application/json", bytes.NewReader(body))
				if err != nil {
					outcome = "transport error: " + err.Error()
				} else {
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					r := reply{status: res.StatusCode, body: string(b)}
					switch {
					case unavailable(r):
						outcome = "503"
					case r.status != 200 || r.body != `[{"user":"alice"}]`:
						outcome = fmt.Sprintf("%d %s", r.status, r.body)
					}
				}
				mu.Lock()
				counts[outcome]++
				mu.Unlock()
			}
		})
	}

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if r := s.call("_getUser", obj{"session": a.Token}, nil); !unavailable(r) {
		t.Errorf("_getUser with the server gone = %d %s; want 503 {error}", r.status, r.body)
	}
	if r := s.call("create", obj{"user": "bob"}, nil); !unavailable(r) {
		t.Errorf("create with the server gone = %d %s; want 503 {error}", r.status, r.body)
	}
	if r := s.do("GET", "/readyz", ""); !unavailable(r) {
		t.Errorf("readyz with the server gone = %d %s; want 503 {error}", r.status, r.body)
	}
	if r := s.do("GET", "/healthz", ""); r.status != 200 {
		t.Errorf("healthz with the server gone = %d", r.status)
	}

	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.do("GET", "/readyz", "").status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("not ready 30s after the server came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s.user(a.Token) != "alice" {
		t.Error("the session is lost after the server came back")
	}
	close(stopLoad)
	load.Wait()
	for outcome, n := range counts {
		if outcome != "ok" && outcome != "503" {
			t.Errorf("under load: %d replies %q; want only the user or 503 {error}", n, outcome)
		}
	}
	t.Logf("replies under load: %v", counts)
	if counts["ok"] == 0 || counts["503"] == 0 {
		t.Errorf("under load: %v; want both answers and 503s", counts)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(s.logs.String(), "store failure") {
		t.Errorf("the outage is not logged:\n%s", s.logs)
	}
}
