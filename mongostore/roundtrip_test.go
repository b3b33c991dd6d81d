package mongostore_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/memstore"
	"github.com/sessioning/sessioning/storetest"
)

// commands records the database commands a client sends.
type commands struct {
	mu    sync.Mutex
	names []string
}

func (c *commands) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		c.mu.Lock()
		c.names = append(c.names, e.CommandName)
		c.mu.Unlock()
	}}
}

// during returns the commands sent while f ran.
func (c *commands) during(f func()) []string {
	c.mu.Lock()
	c.names = nil
	c.mu.Unlock()
	f()
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.names)
}

// A lookup of a live session, the service's _getUser, is one read and no
// write; only once per TouchInterval does it also write the new idle
// deadline.
func TestLookupRoundTrips(t *testing.T) {
	ctx := context.Background()
	var cmds commands
	f := newFixture(t, options.Client().SetMonitor(cmds.monitor()))
	now := storetest.Base
	m := f.manager(t, &now)
	sess, err := m.Create(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)

	for _, tc := range []struct {
		name  string
		call  func() error
		want  []string
		found bool
	}{
		{"Lookup", func() error { _, err := m.Lookup(ctx, sess.Token); return err }, []string{"find"}, true},
		{"User", func() error { _, err := m.User(ctx, sess.Token); return err }, []string{"find"}, true},
		{"unknown token", func() error { _, err := m.User(ctx, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); return err }, []string{"find"}, false},
		{"malformed token", func() error { _, err := m.User(ctx, "not/a/token"); return err }, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			got := cmds.during(func() { err = tc.call() })
			if found := err == nil; found != tc.found || (!found && !errors.Is(err, sessioning.ErrNotFound)) {
				t.Fatalf("err = %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("commands sent = %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("after TouchInterval", func(t *testing.T) {
		now = now.Add(m.Settings().TouchInterval)
		got := cmds.during(func() {
			if _, err := m.User(ctx, sess.Token); err != nil {
				t.Fatal(err)
			}
		})
		if want := []string{"find", "update"}; !slices.Equal(got, want) {
			t.Errorf("commands sent = %q, want %q", got, want)
		}
	})
}

var preload = flag.Int("mongostore.preload", 10000, "sessions stored before the Manager benchmarks run")

// BenchmarkManager measures the Manager's operations on this store over
// the test server (FerretDB in-process unless SESSIONING_TEST_MONGODB_URL
// is set), with -mongostore.preload sessions stored beforehand, and on the
// memory store as a reference measured in the same run.
func BenchmarkManager(b *testing.B) {
	b.Run("store=memory", func(b *testing.B) { benchManager(b, memstore.New()) })
	b.Run("store=mongodb", func(b *testing.B) { benchManager(b, newFixture(b, nil).store) })
}

func benchManager(b *testing.B, store sessioning.Store) {
	ctx := context.Background()
	now := storetest.Base
	m, err := sessioning.New(store, &sessioning.Options{Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	const users = 10000
	tokens := make([]string, *preload)
	var wg sync.WaitGroup
	const workers = 4
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(tokens); i += workers {
				s, err := m.Create(ctx, fmt.Sprintf("user%d", i%users), sessioning.Metadata{"ua": "bench/1.0"})
				if err != nil {
					errs <- err
					return
				}
				tokens[i] = s.Token
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.Logf("preloaded %d sessions of %d users", len(tokens), min(users, len(tokens)))

	b.Run("Create", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := m.Create(ctx, fmt.Sprintf("user%d", i%users), sessioning.Metadata{"ua": "bench/1.0"}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("LookupHit", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := m.Lookup(ctx, tokens[i%len(tokens)]); err != nil {
				b.Fatal(err)
			}
			i += 7919 // a prime, to spread the lookups
		}
	})
	b.Run("LookupMiss", func(b *testing.B) {
		const missing = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		for b.Loop() {
			if _, err := m.Lookup(ctx, missing); !errors.Is(err, sessioning.ErrNotFound) {
				b.Fatal(err)
			}
		}
	})
	b.Run("Delete", func(b *testing.B) {
		toks := make([]string, b.N)
		for i := range toks {
			s, err := m.Create(ctx, "deleter", nil)
			if err != nil {
				b.Fatal(err)
			}
			toks[i] = s.Token
		}
		b.ResetTimer()
		for _, tok := range toks {
			if err := m.Delete(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RevokeAll", func(b *testing.B) {
		for i := range b.N {
			for range 2 {
				if _, err := m.Create(ctx, fmt.Sprintf("revoked%d", i), nil); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ResetTimer()
		for i := range b.N {
			if n, err := m.RevokeAll(ctx, fmt.Sprintf("revoked%d", i)); err != nil || n != 2 {
				b.Fatalf("RevokeAll = %d, %v", n, err)
			}
		}
	})
}
