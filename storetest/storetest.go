// Package storetest is the conformance suite for sessioning.Store
// implementations. An adapter's test calls Run with a Harness; every store
// in this module passes it.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessioning/sessioning"
)

// Harness tells the suite how to open the store under test.
type Harness struct {
	// Open returns a new, open store kept under dir (a fresh t.TempDir()
	// per subtest). Opening the same dir again after Close must see the
	// same records when Durable is set; stores that keep nothing on disk
	// may ignore dir. The suite closes every store it opens.
	Open func(t *testing.T, dir string) sessioning.Store
	// Durable stores are also checked across Close and reopen.
	Durable bool
}

// Base is the time every record in the suite is built around, at the
// millisecond precision that every store keeps.
var Base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Record returns a record for user with a key and handle derived from n
// and an expiry of Base+exp (none if exp is zero).
func Record(user string, n int, exp time.Duration) sessioning.Record {
	r := sessioning.Record{
		Key:      sessioning.KeyOf(fmt.Sprintf("token-%s-%d", user, n)),
		Handle:   fmt.Sprintf("h-%s-%d", user, n),
		User:     user,
		Created:  Base,
		LastSeen: Base,
		Metadata: sessioning.Metadata{"ua": "test/1.0", "n": fmt.Sprint(n)},
	}
	if exp != 0 {
		r.Expires = Base.Add(exp)
		r.AbsoluteExpires = Base.Add(2 * exp)
	}
	return r
}

// Run runs the conformance suite against the store h opens.
func Run(t *testing.T, h Harness) {
	open := func(t *testing.T) sessioning.Store {
		t.Helper()
		s := h.Open(t, t.TempDir())
		t.Cleanup(func() { s.Close() })
		return s
	}
	ctx := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		s := open(t)
		want := Record("alice", 1, time.Hour)
		mustCreate(t, s, want)
		got, err := s.Get(ctx, want.Key)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		Equal(t, got, want)
	})

	t.Run("NoExpiryRoundTrip", func(t *testing.T) {
		s := open(t)
		want := Record("alice", 1, 0)
		want.Metadata = nil
		mustCreate(t, s, want)
		got, err := s.Get(ctx, want.Key)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		Equal(t, got, want)
	})

	t.Run("NotFound", func(t *testing.T) {
		s := open(t)
		mustCreate(t, s, Record("alice", 1, time.Hour))
		missing := Record("alice", 2, time.Hour)
		if _, err := s.Get(ctx, missing.Key); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("Get missing: err = %v, want ErrNotFound", err)
		}
		if err := s.Touch(ctx, missing.Key, Base, Base.Add(time.Hour)); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("Touch missing: err = %v, want ErrNotFound", err)
		}
		if _, err := s.Get(ctx, missing.Key); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("Touch created a record: Get err = %v", err)
		}
		if _, err := s.Delete(ctx, missing.Key); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("Delete missing: err = %v, want ErrNotFound", err)
		}
		if _, err := s.DeleteHandle(ctx, "alice", missing.Handle); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("DeleteHandle missing: err = %v, want ErrNotFound", err)
		}
		if err := s.Replace(ctx, missing.Key, Record("alice", 3, time.Hour)); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("Replace missing: err = %v, want ErrNotFound", err)
		}
		if _, err := s.Get(ctx, Record("alice", 3, time.Hour).Key); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("failed Replace added its record: Get err = %v", err)
		}
		recs, err := s.DeleteUser(ctx, "nobody")
		if err != nil || len(recs) != 0 {
			t.Errorf("DeleteUser of unknown user = %v, %v; want none, nil", recs, err)
		}
		if n := count(t, s); n != 1 {
			t.Errorf("Count = %d after failed operations, want 1", n)
		}
	})

	t.Run("CreateExisting", func(t *testing.T) {
		s := open(t)
		r := Record("alice", 1, time.Hour)
		mustCreate(t, s, r)
		other := r
		other.User = "mallory"
		if err := s.Create(ctx, other); !errors.Is(err, sessioning.ErrExists) {
			t.Fatalf("Create over existing key: err = %v, want ErrExists", err)
		}
		got, _ := s.Get(ctx, r.Key)
		Equal(t, got, r)
	})

	t.Run("DeleteIdempotence", func(t *testing.T) {
		s := open(t)
		r := Record("alice", 1, time.Hour)
		mustCreate(t, s, r)
		got, err := s.Delete(ctx, r.Key)
		if err != nil {
			t.Fatalf("Delete: %v", err)
		}
		Equal(t, got, r)
		if _, err := s.Delete(ctx, r.Key); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("second Delete: err = %v, want ErrNotFound", err)
		}
		if _, err := s.Get(ctx, r.Key); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
		}
		if recs := list(t, s, "alice"); len(recs) != 0 {
			t.Errorf("ListUser after Delete = %d records, want 0", len(recs))
		}
		if _, err := s.DeleteHandle(ctx, "alice", r.Handle); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("DeleteHandle after Delete: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("Touch", func(t *testing.T) {
		s := open(t)
		r := Record("alice", 1, time.Hour)
		mustCreate(t, s, r)
		seen, exp := Base.Add(30*time.Minute), Base.Add(90*time.Minute)
		if err := s.Touch(ctx, r.Key, seen, exp); err != nil {
			t.Fatalf("Touch: %v", err)
		}
		want := r
		want.LastSeen, want.Expires = seen, exp
		got, _ := s.Get(ctx, r.Key)
		Equal(t, got, want)
	})

	t.Run("Replace", func(t *testing.T) {
		s := open(t)
		r := Record("alice", 1, time.Hour)
		mustCreate(t, s, r)
		taken := Record("alice", 2, time.Hour)
		mustCreate(t, s, taken)
		moved := r
		moved.Key = taken.Key
		if err := s.Replace(ctx, r.Key, moved); !errors.Is(err, sessioning.ErrExists) {
			t.Fatalf("Replace onto a taken key: err = %v, want ErrExists", err)
		}
		if got, err := s.Get(ctx, r.Key); err != nil {
			t.Fatalf("failed Replace removed the old record: %v", err)
		} else {
			Equal(t, got, r)
		}
		moved.Key = Record("alice", 3, 0).Key
		moved.LastSeen = Base.Add(time.Minute)
		if err := s.Replace(ctx, r.Key, moved); err != nil {
			t.Fatalf("Replace: %v", err)
		}
		if _, err := s.Get(ctx, r.Key); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("old key after Replace: err = %v, want ErrNotFound", err)
		}
		got, err := s.Get(ctx, moved.Key)
		if err != nil {
			t.Fatalf("new key after Replace: %v", err)
		}
		Equal(t, got, moved)
		if recs := list(t, s, "alice"); len(recs) != 2 {
			t.Errorf("ListUser after Replace = %d records, want 2", len(recs))
		}
		if got, err := s.DeleteHandle(ctx, "alice", r.Handle); err != nil || got.Key != moved.Key {
			t.Errorf("DeleteHandle after Replace = %v, %v; want the moved record", got.Key, err)
		}
	})

	t.Run("UserIsolation", func(t *testing.T) {
		s := open(t)
		a1, a2 := Record("alice", 1, time.Hour), Record("alice", 2, time.Hour)
		b1 := Record("bob", 1, time.Hour)
		for _, r := range []sessioning.Record{a1, a2, b1} {
			mustCreate(t, s, r)
		}
		if got := keys(list(t, s, "alice")); !slices.Equal(got, keys([]sessioning.Record{a1, a2})) {
			t.Errorf("ListUser(alice) keys = %v", got)
		}
		if got := list(t, s, "bob"); len(got) != 1 {
			t.Errorf("ListUser(bob) = %d records, want 1", len(got))
		} else {
			Equal(t, got[0], b1)
		}
		if _, err := s.DeleteHandle(ctx, "bob", a1.Handle); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("bob revoking alice's handle: err = %v, want ErrNotFound", err)
		}
		if _, err := s.Get(ctx, a1.Key); err != nil {
			t.Errorf("alice's session after bob's revoke attempt: %v", err)
		}
		got, err := s.DeleteHandle(ctx, "alice", a1.Handle)
		if err != nil {
			t.Fatalf("DeleteHandle: %v", err)
		}
		Equal(t, got, a1)
		recs, err := s.DeleteUser(ctx, "alice")
		if err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		if len(recs) != 1 || recs[0].Key != a2.Key {
			t.Errorf("DeleteUser(alice) = %v, want [a2]", keys(recs))
		}
		if _, err := s.Get(ctx, b1.Key); err != nil {
			t.Errorf("bob's session after DeleteUser(alice): %v", err)
		}
		if n := count(t, s); n != 1 {
			t.Errorf("Count = %d, want 1", n)
		}
	})

	t.Run("ListAndDeleteUser", func(t *testing.T) {
		s := open(t)
		const n = 25
		for i := range n {
			mustCreate(t, s, Record("carol", i, time.Duration(i+1)*time.Minute))
		}
		if got := list(t, s, "carol"); len(got) != n {
			t.Fatalf("ListUser = %d records, want %d", len(got), n)
		}
		recs, err := s.DeleteUser(ctx, "carol")
		if err != nil || len(recs) != n {
			t.Fatalf("DeleteUser = %d records, %v; want %d", len(recs), err, n)
		}
		if got := list(t, s, "carol"); len(got) != 0 {
			t.Errorf("ListUser after DeleteUser = %d records", len(got))
		}
		if n := count(t, s); n != 0 {
			t.Errorf("Count after DeleteUser = %d", n)
		}
	})

	t.Run("CopiesMetadata", func(t *testing.T) {
		s := open(t)
		r := Record("alice", 1, time.Hour)
		in := r
		in.Metadata = sessioning.Metadata{"ua": "test/1.0", "n": "1"}
		mustCreate(t, s, in)
		in.Metadata["ua"] = "changed by caller"
		got, _ := s.Get(ctx, r.Key)
		got.Metadata["n"] = "changed by reader"
		again, _ := s.Get(ctx, r.Key)
		Equal(t, again, r)
	})

	t.Run("ExpiryBoundary", func(t *testing.T) {
		s := open(t)
		now := Base.Add(time.Hour)
		before := Record("dave", 1, time.Hour-time.Millisecond)
		at := Record("dave", 2, time.Hour)
		after := Record("dave", 3, time.Hour+time.Millisecond)
		never := Record("dave", 4, 0)
		touched := Record("dave", 5, time.Minute)
		for _, r := range []sessioning.Record{before, at, after, never, touched} {
			mustCreate(t, s, r)
		}
		if err := s.Touch(ctx, touched.Key, now, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		n, err := s.DeleteExpired(ctx, now, 100)
		if err != nil || n != 2 {
			t.Fatalf("DeleteExpired = %d, %v; want 2 (expiring before and at now)", n, err)
		}
		for _, r := range []sessioning.Record{before, at} {
			if _, err := s.Get(ctx, r.Key); !errors.Is(err, sessioning.ErrNotFound) {
				t.Errorf("record expiring at %v survived the sweep at %v", r.Expires, now)
			}
		}
		for _, r := range []sessioning.Record{after, never, touched} {
			if _, err := s.Get(ctx, r.Key); err != nil {
				t.Errorf("record expiring at %v was swept at %v: %v", r.Expires, now, err)
			}
		}
		if n, err := s.DeleteExpired(ctx, now, 100); err != nil || n != 0 {
			t.Errorf("second DeleteExpired = %d, %v; want 0", n, err)
		}
	})

	t.Run("SweepInBatches", func(t *testing.T) {
		s := open(t)
		for i := range 5 {
			mustCreate(t, s, Record("erin", i, time.Minute))
		}
		mustCreate(t, s, Record("erin", 99, 2*time.Hour))
		now := Base.Add(time.Hour)
		var got []int
		for range 4 {
			n, err := s.DeleteExpired(ctx, now, 2)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, n)
		}
		if !slices.Equal(got, []int{2, 2, 1, 0}) {
			t.Errorf("DeleteExpired batches of 2 = %v, want [2 2 1 0]", got)
		}
		if n := count(t, s); n != 1 {
			t.Errorf("Count after sweep = %d, want 1", n)
		}
	})

	t.Run("CancelledContext", func(t *testing.T) {
		s := open(t)
		r := Record("alice", 1, time.Hour)
		mustCreate(t, s, r)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		other := Record("alice", 2, time.Hour)
		calls := map[string]func() error{
			"Create":        func() error { return s.Create(cctx, other) },
			"Get":           func() error { _, err := s.Get(cctx, r.Key); return err },
			"Touch":         func() error { return s.Touch(cctx, r.Key, Base.Add(time.Minute), Base.Add(time.Hour)) },
			"Replace":       func() error { return s.Replace(cctx, r.Key, other) },
			"Delete":        func() error { _, err := s.Delete(cctx, r.Key); return err },
			"DeleteHandle":  func() error { _, err := s.DeleteHandle(cctx, "alice", r.Handle); return err },
			"DeleteUser":    func() error { _, err := s.DeleteUser(cctx, "alice"); return err },
			"ListUser":      func() error { _, err := s.ListUser(cctx, "alice"); return err },
			"DeleteExpired": func() error { _, err := s.DeleteExpired(cctx, Base.Add(2*time.Hour), 10); return err },
			"Count":         func() error { _, err := s.Count(cctx); return err },
			"Ping":          func() error { return s.Ping(cctx) },
		}
		for name, call := range calls {
			if err := call(); !errors.Is(err, context.Canceled) {
				t.Errorf("%s with cancelled context: err = %v, want context.Canceled", name, err)
			}
		}
		got, err := s.Get(ctx, r.Key)
		if err != nil {
			t.Fatalf("record gone after cancelled calls: %v", err)
		}
		Equal(t, got, r)
		if _, err := s.Get(ctx, other.Key); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("cancelled Create stored its record: err = %v", err)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := open(t)
		const workers, each = 8, 50
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Go(func() {
				user := fmt.Sprintf("user%d", w%3)
				for i := range each {
					r := Record(user, w*1000+i, time.Hour)
					if err := s.Create(ctx, r); err != nil {
						errs <- fmt.Errorf("concurrent Create: %w", err)
						return
					}
					if _, err := s.Get(ctx, r.Key); err != nil {
						errs <- fmt.Errorf("concurrent Get: %w", err)
						return
					}
					if err := s.Touch(ctx, r.Key, Base.Add(time.Minute), Base.Add(2*time.Hour)); err != nil {
						errs <- fmt.Errorf("concurrent Touch: %w", err)
						return
					}
					if _, err := s.ListUser(ctx, user); err != nil {
						errs <- fmt.Errorf("concurrent ListUser: %w", err)
						return
					}
					if i%2 == 0 {
						if _, err := s.Delete(ctx, r.Key); err != nil {
							errs <- fmt.Errorf("concurrent Delete: %w", err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := count(t, s); n != workers*each/2 {
			t.Errorf("Count = %d, want %d", n, workers*each/2)
		}
	})

	// Writes that share a commit or a log sync each get their own answer:
	// a Create that finds its key taken fails alone.
	t.Run("ConcurrentCreatesOwnResults", func(t *testing.T) {
		s := open(t)
		const n = 64
		for i := 0; i < n; i += 2 {
			mustCreate(t, s, Record("taken", i, time.Hour))
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = s.Create(ctx, Record("taken", i, time.Hour)) })
		}
		wg.Wait()
		for i, err := range errs {
			if i%2 == 0 && !errors.Is(err, sessioning.ErrExists) {
				t.Errorf("Create %d over a taken key: err = %v, want ErrExists", i, err)
			}
			if i%2 == 1 && err != nil {
				t.Errorf("Create %d: %v", i, err)
			}
		}
		if c := count(t, s); c != n {
			t.Errorf("Count = %d, want %d", c, n)
		}
	})

	t.Run("Close", func(t *testing.T) {
		s := h.Open(t, t.TempDir())
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := s.Get(ctx, Record("alice", 1, 0).Key); !errors.Is(err, sessioning.ErrClosed) {
			t.Errorf("Get after Close: err = %v, want ErrClosed", err)
		}
		if err := s.Create(ctx, Record("alice", 1, 0)); !errors.Is(err, sessioning.ErrClosed) {
			t.Errorf("Create after Close: err = %v, want ErrClosed", err)
		}
	})

	t.Run("Manager", func(t *testing.T) {
		s := open(t)
		now := Base
		m, err := sessioning.New(s, &sessioning.Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		sess, err := m.Create(ctx, "alice", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, sessioning.KeyOf(sess.Token)); err != nil {
			t.Errorf("store does not hold the token's hash: %v", err)
		}
		if u, err := m.User(ctx, sess.Token); err != nil || u != "alice" {
			t.Errorf("User = %q, %v", u, err)
		}
		if err := m.Delete(ctx, sess.Token); err != nil {
			t.Errorf("Delete: %v", err)
		}
		if _, err := m.User(ctx, sess.Token); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("User after Delete: err = %v", err)
		}
	})

	if !h.Durable {
		return
	}
	t.Run("Reopen", func(t *testing.T) {
		dir := t.TempDir()
		s := h.Open(t, dir)
		kept, deleted, touched := Record("alice", 1, time.Hour), Record("alice", 2, time.Hour), Record("bob", 1, time.Hour)
		rotated := Record("alice", 3, time.Hour)
		for _, r := range []sessioning.Record{kept, deleted, touched, rotated} {
			mustCreate(t, s, r)
		}
		if _, err := s.Delete(ctx, deleted.Key); err != nil {
			t.Fatal(err)
		}
		moved := rotated
		moved.Key = Record("alice", 4, 0).Key
		if err := s.Replace(ctx, rotated.Key, moved); err != nil {
			t.Fatal(err)
		}
		if err := s.Touch(ctx, touched.Key, Base.Add(time.Minute), Base.Add(time.Hour+time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = h.Open(t, dir)
		defer s.Close()
		got, err := s.Get(ctx, kept.Key)
		if err != nil {
			t.Fatalf("record lost across reopen: %v", err)
		}
		Equal(t, got, kept)
		for _, k := range []sessioning.Key{deleted.Key, rotated.Key} {
			if _, err := s.Get(ctx, k); !errors.Is(err, sessioning.ErrNotFound) {
				t.Errorf("removed record came back after reopen: err = %v", err)
			}
		}
		if got, err := s.Get(ctx, moved.Key); err != nil {
			t.Errorf("replaced record lost across reopen: %v", err)
		} else {
			Equal(t, got, moved)
		}
		if got := list(t, s, "alice"); len(got) != 2 {
			t.Errorf("ListUser(alice) after reopen = %d records, want 2", len(got))
		}
		if n := count(t, s); n != 3 {
			t.Errorf("Count after reopen = %d, want 3", n)
		}
	})
}

// Equal fails t unless got and want hold the same record.
func Equal(t *testing.T, got, want sessioning.Record) {
	t.Helper()
	same := got.Key == want.Key && got.Handle == want.Handle && got.User == want.User &&
		got.Created.Equal(want.Created) && got.LastSeen.Equal(want.LastSeen) &&
		got.Expires.Equal(want.Expires) && got.AbsoluteExpires.Equal(want.AbsoluteExpires) &&
		len(got.Metadata) == len(want.Metadata)
	for k, v := range want.Metadata {
		if w, ok := got.Metadata[k]; !ok || w != v {
			same = false
		}
	}
	if !same {
		t.Errorf("record mismatch:\n got  %+v\n want %+v", got, want)
	}
}

func mustCreate(t *testing.T, s sessioning.Store, r sessioning.Record) {
	t.Helper()
	if err := s.Create(context.Background(), r); err != nil {
		t.Fatalf("Create: %v", err)
	}
}

func list(t *testing.T, s sessioning.Store, user string) []sessioning.Record {
	t.Helper()
	recs, err := s.ListUser(context.Background(), user)
	if err != nil {
		t.Fatalf("ListUser(%s): %v", user, err)
	}
	return recs
}

func count(t *testing.T, s sessioning.Store) int64 {
	t.Helper()
	n, err := s.Count(context.Background())
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	return n
}

func keys(recs []sessioning.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Key.String()
	}
	slices.Sort(out)
	return out
}
