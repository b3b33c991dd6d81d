package sessioning_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/internal/testclock"
	"github.com/sessioning/sessioning/memstore"
)

// countingStore counts the calls that reach the store.
type countingStore struct {
	sessioning.Store
	gets, touches, deletes atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, k sessioning.Key) (sessioning.Record, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, k)
}

func (s *countingStore) Touch(ctx context.Context, k sessioning.Key, seen, exp time.Time) error {
	s.touches.Add(1)
	return s.Store.Touch(ctx, k, seen, exp)
}

func (s *countingStore) Delete(ctx context.Context, k sessioning.Key) (sessioning.Record, error) {
	s.deletes.Add(1)
	return s.Store.Delete(ctx, k)
}

var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newManager(t *testing.T, opts sessioning.Options) (*sessioning.Manager, *countingStore, *testclock.Clock) {
	t.Helper()
	c := testclock.New(start)
	opts.Now = c.Now
	s := &countingStore{Store: memstore.New()}
	t.Cleanup(func() { s.Close() })
	m, err := sessioning.New(s, &opts)
	if err != nil {
		t.Fatal(err)
	}
	return m, s, c
}

var ctx = context.Background()

func TestConceptPrinciple(t *testing.T) {
	m, _, _ := newManager(t, sessioning.Options{})
	a, err := m.Create(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Create(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Token == b.Token || a.Handle == b.Handle {
		t.Fatal("two sessions share a token or handle")
	}
	if len(a.Token) != 43 || strings.ContainsAny(a.Token, "+/=") {
		t.Errorf("token %d chars, want 43 URL-safe characters", len(a.Token))
	}
	for _, s := range []sessioning.Session{a, b} {
		if u, err := m.User(ctx, s.Token); err != nil || u != "alice" {
			t.Errorf("User = %q, %v; want alice", u, err)
		}
	}
	if err := m.Delete(ctx, a.Token); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := m.User(ctx, a.Token); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("User after Delete: err = %v, want ErrNotFound", err)
	}
	if err := m.Delete(ctx, a.Token); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("second Delete: err = %v, want ErrNotFound", err)
	}
	if u, err := m.User(ctx, b.Token); err != nil || u != "alice" {
		t.Errorf("other session after Delete: %q, %v", u, err)
	}
}

func TestErrorsNeverContainToken(t *testing.T) {
	m, _, _ := newManager(t, sessioning.Options{})
	s, _ := m.Create(ctx, "alice", nil)
	m.Delete(ctx, s.Token)
	for _, err := range []error{
		m.Delete(ctx, s.Token),
		func() error { _, err := m.Lookup(ctx, s.Token); return err }(),
		func() error { _, err := m.Rotate(ctx, s.Token); return err }(),
	} {
		if err == nil || strings.Contains(err.Error(), s.Token) {
			t.Errorf("error %q is nil or contains the token", err)
		}
	}
}

func TestMalformedTokenSkipsStore(t *testing.T) {
	m, s, _ := newManager(t, sessioning.Options{})
	real, _ := m.Create(ctx, "alice", nil)
	for _, tok := range []string{
		"", "x", "not a token", real.Token[:42], real.Token + "A",
		strings.Repeat("!", 43), strings.Repeat("a", 10000),
		real.Token[:42] + "B", // non-canonical: final character has stray bits
	} {
		if _, err := m.Lookup(ctx, tok); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("Lookup(%q): err = %v, want ErrNotFound", tok, err)
		}
		if err := m.Delete(ctx, tok); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("Delete(%q): err = %v, want ErrNotFound", tok, err)
		}
	}
	if n := s.gets.Load() + s.deletes.Load(); n != 0 {
		t.Errorf("malformed tokens made %d store calls, want 0", n)
	}
}

func TestValidation(t *testing.T) {
	m, s, _ := newManager(t, sessioning.Options{})
	big := strings.Repeat("v", sessioning.MaxMetadataValue+1)
	many := sessioning.Metadata{}
	for i := range sessioning.MaxMetadataEntries + 1 {
		many[string(rune('a'+i))] = "x"
	}
	tests := []struct {
		name string
		user string
		md   sessioning.Metadata
		want string
	}{
		{"empty user", "", nil, "non-empty"},
		{"long user", strings.Repeat("u", sessioning.MaxUser+1), nil, "at most 512 bytes"},
		{"invalid UTF-8 user", "al\xffice", nil, "UTF-8"},
		{"too many metadata entries", "alice", many, "at most 16 entries"},
		{"empty metadata key", "alice", sessioning.Metadata{"": "x"}, "non-empty"},
		{"long metadata key", "alice", sessioning.Metadata{strings.Repeat("k", 65): "x"}, "at most 64 bytes"},
		{"long metadata value", "alice", sessioning.Metadata{"ua": big}, "at most 1024 bytes"},
		{"invalid UTF-8 metadata value", "alice", sessioning.Metadata{"ua": "\xff"}, "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Create(ctx, tt.user, tt.md)
			if !errors.Is(err, sessioning.ErrInvalidInput) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalidInput mentioning %q", err, tt.want)
			}
		})
	}
	if n, _ := s.Count(ctx); n != 0 {
		t.Errorf("invalid input stored %d sessions", n)
	}
	if _, err := m.Create(ctx, strings.Repeat("u", sessioning.MaxUser), sessioning.Metadata{"ua": big[1:]}); err != nil {
		t.Errorf("input at the bounds rejected: %v", err)
	}
	if _, err := m.List(ctx, ""); !errors.Is(err, sessioning.ErrInvalidInput) {
		t.Errorf("List(\"\"): err = %v", err)
	}
	if _, err := m.RevokeAll(ctx, ""); !errors.Is(err, sessioning.ErrInvalidInput) {
		t.Errorf("RevokeAll(\"\"): err = %v", err)
	}
	if err := m.Revoke(ctx, "alice", ""); !errors.Is(err, sessioning.ErrInvalidInput) {
		t.Errorf("Revoke with empty handle: err = %v", err)
	}
}

func TestOptions(t *testing.T) {
	s := memstore.New()
	for _, tt := range []struct {
		name string
		opts sessioning.Options
	}{
		{"touch not shorter than idle", sessioning.Options{IdleTimeout: time.Hour, TouchInterval: time.Hour}},
		{"negative touch", sessioning.Options{TouchInterval: -1}},
		{"negative sweep batch", sessioning.Options{SweepBatch: -1}},
	} {
		if _, err := sessioning.New(s, &tt.opts); !errors.Is(err, sessioning.ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", tt.name, err)
		}
	}
	m, err := sessioning.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := m.Settings()
	if got.Lifetime != 30*24*time.Hour || got.IdleTimeout != 7*24*time.Hour || got.TouchInterval != time.Hour {
		t.Errorf("defaults = %v / %v / %v", got.Lifetime, got.IdleTimeout, got.TouchInterval)
	}
	m, _ = sessioning.New(s, &sessioning.Options{IdleTimeout: 20 * time.Minute})
	if got := m.Settings().TouchInterval; got != 10*time.Minute {
		t.Errorf("touch interval under a 20m idle timeout = %v, want 10m", got)
	}
}

func TestAbsoluteLifetime(t *testing.T) {
	m, _, c := newManager(t, sessioning.Options{Lifetime: 10 * time.Hour, IdleTimeout: -1})
	s, _ := m.Create(ctx, "alice", nil)
	if !s.Expires.Equal(start.Add(10 * time.Hour)) {
		t.Errorf("Expires = %v, want creation + 10h", s.Expires)
	}
	c.Advance(10*time.Hour - time.Millisecond)
	if _, err := m.User(ctx, s.Token); err != nil {
		t.Fatalf("session ended before its lifetime: %v", err)
	}
	c.Advance(time.Millisecond)
	assertGone(t, m, s)
}

func TestIdleTimeout(t *testing.T) {
	m, st, c := newManager(t, sessioning.Options{Lifetime: -1, IdleTimeout: 2 * time.Hour, TouchInterval: 30 * time.Minute})
	s, _ := m.Create(ctx, "alice", nil)

	// Lookups inside the touch interval are reads only.
	for range 5 {
		c.Advance(5 * time.Minute)
		if _, err := m.User(ctx, s.Token); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.touches.Load(); n != 0 {
		t.Fatalf("%d writes during the touch interval, want 0", n)
	}
	c.Advance(5 * time.Minute) // 30m since creation: refresh
	info, err := m.Lookup(ctx, s.Token)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.touches.Load(); n != 1 {
		t.Fatalf("%d writes after the touch interval, want 1", n)
	}
	if want := start.Add(30*time.Minute + 2*time.Hour); !info.Expires.Equal(want) || !info.LastSeen.Equal(start.Add(30*time.Minute)) {
		t.Errorf("after refresh: lastSeen %v expires %v, want expires %v", info.LastSeen, info.Expires, want)
	}
	c.Advance(2*time.Hour - time.Millisecond)
	if _, err := m.User(ctx, s.Token); err != nil {
		t.Fatalf("session idled out early: %v", err)
	}
	// That lookup refreshed it again; now leave it idle.
	c.Advance(2 * time.Hour)
	assertGone(t, m, s)
}

func TestIdleNeverPassesLifetime(t *testing.T) {
	m, _, c := newManager(t, sessioning.Options{Lifetime: 3 * time.Hour, IdleTimeout: 2 * time.Hour, TouchInterval: time.Minute})
	s, _ := m.Create(ctx, "alice", nil)
	if !s.Expires.Equal(start.Add(2 * time.Hour)) {
		t.Errorf("new session expires %v, want the idle deadline", s.Expires)
	}
	c.Advance(2 * time.Hour)
	c.Advance(-time.Millisecond)
	info, err := m.Lookup(ctx, s.Token)
	if err != nil {
		t.Fatal(err)
	}
	if want := start.Add(3 * time.Hour); !info.Expires.Equal(want) {
		t.Errorf("refreshed near the end: expires %v, want the absolute deadline %v", info.Expires, want)
	}
	c.Set(start.Add(3 * time.Hour))
	assertGone(t, m, s)
}

func assertGone(t *testing.T, m *sessioning.Manager, s sessioning.Session) {
	t.Helper()
	if _, err := m.User(ctx, s.Token); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("User of expired session: err = %v, want ErrNotFound", err)
	}
	if _, err := m.Rotate(ctx, s.Token); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("Rotate of expired session: err = %v, want ErrNotFound", err)
	}
	if l, _ := m.List(ctx, s.User); len(l) != 0 {
		t.Errorf("List shows %d expired sessions", len(l))
	}
	if err := m.Revoke(ctx, s.User, s.Handle); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("Revoke of expired session: err = %v, want ErrNotFound", err)
	}
	if err := m.Delete(ctx, s.Token); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("Delete of expired session: err = %v, want ErrNotFound", err)
	}
}

func TestExpiredDeleteAndRevokeAll(t *testing.T) {
	m, st, c := newManager(t, sessioning.Options{Lifetime: time.Hour})
	old, _ := m.Create(ctx, "alice", nil)
	c.Advance(30 * time.Minute)
	m.Create(ctx, "alice", nil)
	m.Create(ctx, "alice", nil)
	c.Advance(31 * time.Minute) // the first has expired, not yet swept
	if n, err := m.RevokeAll(ctx, "alice"); err != nil || n != 2 {
		t.Errorf("RevokeAll = %d, %v; want 2 live sessions ended", n, err)
	}
	if n, _ := st.Count(ctx); n != 0 {
		t.Errorf("%d records left after RevokeAll", n)
	}
	if err := m.Delete(ctx, old.Token); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("Delete after RevokeAll: %v", err)
	}
}

func TestSweep(t *testing.T) {
	m, st, c := newManager(t, sessioning.Options{Lifetime: time.Hour, SweepBatch: 3})
	for range 10 {
		m.Create(ctx, "alice", nil)
	}
	c.Advance(30 * time.Minute)
	keep, _ := m.Create(ctx, "bob", nil)
	c.Advance(30 * time.Minute)
	n, err := m.Sweep(ctx)
	if err != nil || n != 10 {
		t.Fatalf("Sweep = %d, %v; want 10", n, err)
	}
	if n, _ := st.Count(ctx); n != 1 {
		t.Errorf("%d records after sweep, want 1", n)
	}
	if u, err := m.User(ctx, keep.Token); err != nil || u != "bob" {
		t.Errorf("live session swept: %q, %v", u, err)
	}
}

func TestRotate(t *testing.T) {
	m, _, c := newManager(t, sessioning.Options{})
	s, _ := m.Create(ctx, "alice", sessioning.Metadata{"ua": "firefox"})
	c.Advance(time.Minute)
	r, err := m.Rotate(ctx, s.Token)
	if err != nil {
		t.Fatal(err)
	}
	if r.Token == s.Token {
		t.Fatal("rotation kept the token")
	}
	if r.Handle != s.Handle || r.User != "alice" || !r.Created.Equal(s.Created) || r.Metadata["ua"] != "firefox" {
		t.Errorf("rotation changed the session: %+v", r.Info)
	}
	if _, err := m.User(ctx, s.Token); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("old token after rotation: err = %v, want ErrNotFound", err)
	}
	if u, err := m.User(ctx, r.Token); err != nil || u != "alice" {
		t.Errorf("new token: %q, %v", u, err)
	}
	if l, _ := m.List(ctx, "alice"); len(l) != 1 {
		t.Errorf("List after rotation = %d sessions, want 1", len(l))
	}
}

func TestListAndRevoke(t *testing.T) {
	m, _, c := newManager(t, sessioning.Options{})
	a1, _ := m.Create(ctx, "alice", sessioning.Metadata{"ua": "phone"})
	c.Advance(time.Second)
	a2, _ := m.Create(ctx, "alice", sessioning.Metadata{"ua": "laptop"})
	b1, _ := m.Create(ctx, "bob", nil)
	l, err := m.List(ctx, "alice")
	if err != nil || len(l) != 2 || l[0].Handle != a1.Handle || l[1].Handle != a2.Handle {
		t.Fatalf("List = %+v, %v; want a1, a2 oldest first", l, err)
	}
	if l[0].Metadata["ua"] != "phone" {
		t.Errorf("metadata = %v", l[0].Metadata)
	}
	if err := m.Revoke(ctx, "bob", a1.Handle); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("bob revoking alice's session: err = %v, want ErrNotFound", err)
	}
	if err := m.Revoke(ctx, "alice", a1.Handle); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if _, err := m.User(ctx, a1.Token); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("revoked session still works: %v", err)
	}
	if n, err := m.RevokeAll(ctx, "alice"); err != nil || n != 1 {
		t.Errorf("RevokeAll = %d, %v; want 1", n, err)
	}
	if _, err := m.User(ctx, a2.Token); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("session survived RevokeAll: %v", err)
	}
	if u, err := m.User(ctx, b1.Token); err != nil || u != "bob" {
		t.Errorf("bob's session after alice's RevokeAll: %q, %v", u, err)
	}
}

func TestCreateCopiesMetadata(t *testing.T) {
	m, _, _ := newManager(t, sessioning.Options{})
	md := sessioning.Metadata{"ua": "firefox"}
	s, _ := m.Create(ctx, "alice", md)
	md["ua"] = "changed"
	if info, _ := m.Lookup(ctx, s.Token); info.Metadata["ua"] != "firefox" {
		t.Errorf("stored metadata follows the caller's map: %v", info.Metadata)
	}
}

// legacyStore plays the original implementation's collection.
type legacyStore struct {
	ids map[string]string
}

func (l *legacyStore) TakeLegacy(_ context.Context, id string) (string, error) {
	u, ok := l.ids[id]
	if !ok {
		return "", sessioning.ErrNotFound
	}
	delete(l.ids, id)
	return u, nil
}

func TestLegacyAdoption(t *testing.T) {
	const id1, id2, id3 = "0190b2a4-5c1e-7d3a-9f00-aa11bb22cc33", "0190b2a4-5c1e-7d3a-9f00-aa11bb22cc34", "0190b2a4-5c1e-7d3a-9f00-aa11bb22cc35"
	legacy := &legacyStore{ids: map[string]string{id1: "alice", id2: "bob", id3: "carol"}}
	m, st, _ := newManager(t, sessioning.Options{Legacy: legacy})

	if u, err := m.User(ctx, id1); err != nil || u != "alice" {
		t.Fatalf("User(legacy id) = %q, %v", u, err)
	}
	if _, ok := legacy.ids[id1]; ok {
		t.Error("plain-text id still stored after adoption")
	}
	if u, err := m.User(ctx, id1); err != nil || u != "alice" {
		t.Errorf("adopted session on second use = %q, %v", u, err)
	}
	if l, _ := m.List(ctx, "alice"); len(l) != 1 {
		t.Errorf("adopted session not listed: %v", l)
	}
	if err := m.Delete(ctx, id2); err != nil {
		t.Errorf("Delete(legacy id): %v", err)
	}
	if _, err := m.User(ctx, id2); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("legacy session after logout: %v", err)
	}
	if err := m.Adopt(ctx, id3); err != nil {
		t.Errorf("Adopt: %v", err)
	}
	if len(legacy.ids) != 0 {
		t.Errorf("legacy ids left: %v", legacy.ids)
	}
	if _, err := m.User(ctx, "0190b2a4-0000-0000-0000-000000000000"); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("unknown legacy id: %v", err)
	}
	if n, _ := st.Count(ctx); n != 2 {
		t.Errorf("records = %d, want 2 adopted (one logged out)", n)
	}

	// Without a Legacy or LegacyIDs, ids of the old form are not tokens
	// and cost no store call.
	plain, ps, _ := newManager(t, sessioning.Options{})
	if err := plain.Adopt(ctx, id1); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("Adopt without Legacy: %v", err)
	}
	if _, err := plain.User(ctx, id1); !errors.Is(err, sessioning.ErrNotFound) || ps.gets.Load() != 0 {
		t.Errorf("legacy id without LegacyIDs: err = %v after %d store calls", err, ps.gets.Load())
	}
}

// Once everything is adopted, a Manager with LegacyIDs but no Legacy still
// finds adopted sessions by their old ids, with one store call.
func TestLegacyIDsWithoutAdoption(t *testing.T) {
	const id = "0190b2a4-5c1e-7d3a-9f00-aa11bb22cc33"
	c := testclock.New(start)
	st := &countingStore{Store: memstore.New()}
	adopter, _ := sessioning.New(st, &sessioning.Options{Now: c.Now, Legacy: &legacyStore{ids: map[string]string{id: "alice"}}})
	if err := adopter.Adopt(ctx, id); err != nil {
		t.Fatal(err)
	}
	m, _ := sessioning.New(st, &sessioning.Options{Now: c.Now, LegacyIDs: true})
	before := st.gets.Load()
	if u, err := m.User(ctx, id); err != nil || u != "alice" {
		t.Fatalf("User(adopted id) = %q, %v", u, err)
	}
	if n := st.gets.Load() - before; n != 1 {
		t.Errorf("lookup by adopted id made %d store reads, want 1", n)
	}
	if err := m.Delete(ctx, id); err != nil {
		t.Errorf("Delete(adopted id): %v", err)
	}
	if _, err := m.User(ctx, id); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("adopted id after logout: %v", err)
	}
}

func TestCancelledContext(t *testing.T) {
	m, st, _ := newManager(t, sessioning.Options{})
	s, _ := m.Create(ctx, "alice", nil)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Create(cctx, "bob", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Create: %v", err)
	}
	if err := m.Delete(cctx, s.Token); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete: %v", err)
	}
	if n, _ := st.Count(ctx); n != 1 {
		t.Errorf("cancelled calls changed the store: %d records", n)
	}
}
