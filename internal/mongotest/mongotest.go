// Package mongotest gives tests a MongoDB-wire server without any setup by
// hand: the server named by SESSIONING_TEST_MONGODB_URL when that is set,
// otherwise FerretDB (v1, SQLite backend) started inside the test binary.
//
// A package whose tests use URI calls Main from its TestMain so that the
// shared in-process server is stopped and its directory removed when the
// tests end:
//
//	func TestMain(m *testing.M) { os.Exit(mongotest.Main(m)) }
//
// Tests that need to lose the database on purpose start their own Server,
// which they can stop and start again on the same port and data.
package mongotest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// EnvURL names the environment variable that points the tests at an
// existing server, e.g. mongodb://127.0.0.1:27017/?replicaSet=rs0.
const EnvURL = "SESSIONING_TEST_MONGODB_URL"

// EnvLog, when set to a non-empty value, sends the in-process FerretDB's
// log to stderr; by default it is discarded.
const EnvLog = "SESSIONING_TEST_FERRETDB_LOG"

// shared is the server URI hands out, started on first use.
var shared struct {
	once sync.Once
	srv  *Server
	dir  string
	uri  string
	err  error
}

// URI returns the connection string of the test server: EnvURL if set,
// otherwise that of a FerretDB started once per test binary. It fails t if
// the server cannot be started.
func URI(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "mongotest-")
		if shared.err != nil {
			return
		}
		shared.srv, shared.err = Start(shared.dir, "127.0.0.1:0")
		if shared.err == nil {
			shared.uri = shared.srv.URI()
		}
	})
	if shared.err != nil {
		t.Fatalf("mongotest: start FerretDB: %v", shared.err)
	}
	return shared.uri
}

// Main runs the tests and then stops the shared server, if one was
// started, and removes its data. Call it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if shared.srv != nil {
		if err := shared.srv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "mongotest: stop FerretDB: %v\n", err)
		}
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	return code
}

// External reports whether the tests run against a server named by EnvURL
// rather than an in-process FerretDB.
func External() bool { return os.Getenv(EnvURL) != "" }

// DBName returns a database name unique to seed (a test's temporary
// directory, say) and valid on every server: the same seed gives the same
// name, so a test can reopen a store on it.
func DBName(seed string) string {
	h := sha256.Sum256([]byte(seed))
	return "sessioning_test_" + hex.EncodeToString(h[:8])
}

// Drop registers a cleanup on t that drops database db on the server at
// uri, so that tests against a long-lived server leave nothing behind.
func Drop(t testing.TB, uri, db string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := mongo.Connect(options.Client().ApplyURI(uri).SetServerSelectionTimeout(10 * time.Second))
		if err != nil {
			t.Logf("mongotest: drop %s: %v", db, err)
			return
		}
		defer c.Disconnect(ctx)
		if err := c.Database(db).Drop(ctx); err != nil {
			t.Logf("mongotest: drop %s: %v", db, err)
		}
	})
}

// Server is a FerretDB instance running in this process, keeping its data
// in an SQLite directory. It can be stopped and started again on the same
// address and data, to simulate a database server that goes away and comes
// back. Its methods are safe for concurrent use.
type Server struct {
	dir string

	mu     sync.Mutex
	addr   string // fixed after the first start
	cancel context.CancelFunc
	done   chan error
}

// Start starts FerretDB listening on addr ("127.0.0.1:0" for a free port)
// with its data in dir.
func Start(dir, addr string) (*Server, error) {
	s := &Server{dir: dir, addr: addr}
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// StartServer starts a Server on a free port with its data in a fresh
// t.TempDir, and stops it when t ends.
func StartServer(t testing.TB) *Server {
	t.Helper()
	s, err := Start(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mongotest: start FerretDB: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("mongotest: stop FerretDB: %v", err)
		}
	})
	return s
}

// Start starts a stopped server again on the address and data it had.
// Starting a running server does nothing.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return nil
	}
	handler := slog.DiscardHandler
	if os.Getenv(EnvLog) != "" {
		handler = slog.NewTextHandler(os.Stderr, nil)
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: s.addr},
		Logger:    slog.New(handler).With("component", "ferretdb"),
		Handler:   "sqlite",
		SQLiteURL: "file:" + s.dir + "/?_pragma=synchronous(off)",
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	// New has bound the listener already; MongoDBURI only reads its
	// address, so it is safe now that Run has been started.
	u, err := url.Parse(f.MongoDBURI())
	if err != nil {
		cancel()
		<-done
		return err
	}
	s.addr = u.Host
	s.cancel, s.done = cancel, done
	return nil
}

// Stop stops the server, closing every client connection, and waits until
// it has released its port and data. Stopping a stopped server does
// nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	err := <-s.done
	s.cancel, s.done = nil, nil
	return err
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// URI returns the server's connection string. It stays the same across
// Stop and Start.
func (s *Server) URI() string { return "mongodb://" + s.Addr() + "/" }

// Dir returns the directory that holds the server's data.
func (s *Server) Dir() string { return s.dir }
