// Package memstore is an in-memory sessioning.Store for tests, examples and
// single-process programs that do not need sessions to survive a restart.
package memstore

import (
	"container/heap"
	"context"
	"maps"
	"sync"
	"time"

	"github.com/sessioning/sessioning"
)

// Store keeps records in maps guarded by one lock. Expiry deadlines are
// kept in a min-heap so that a sweep touches only expired records.
type Store struct {
	mu     sync.RWMutex
	recs   map[sessioning.Key]*sessioning.Record
	byUser map[string]map[sessioning.Key]struct{}
	exp    expiryHeap
	closed bool
}

var _ sessioning.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		recs:   make(map[sessioning.Key]*sessioning.Record),
		byUser: make(map[string]map[sessioning.Key]struct{}),
	}
}

func clone(r *sessioning.Record) sessioning.Record {
	c := *r
	c.Metadata = maps.Clone(r.Metadata)
	return c
}

// check returns the error for a call that cannot go ahead.
func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed {
		return sessioning.ErrClosed
	}
	return nil
}

func (s *Store) insert(rec sessioning.Record) {
	r := clone(&rec)
	s.recs[r.Key] = &r
	u := s.byUser[r.User]
	if u == nil {
		u = make(map[sessioning.Key]struct{})
		s.byUser[r.User] = u
	}
	u[r.Key] = struct{}{}
	if !r.Expires.IsZero() {
		heap.Push(&s.exp, expiry{r.Expires, r.Key})
	}
}

// remove deletes the record under key; its heap entry goes stale and is
// dropped when it surfaces.
func (s *Store) remove(key sessioning.Key) (sessioning.Record, bool) {
	r, ok := s.recs[key]
	if !ok {
		return sessioning.Record{}, false
	}
	delete(s.recs, key)
	u := s.byUser[r.User]
	delete(u, key)
	if len(u) == 0 {
		delete(s.byUser, r.User)
	}
	return *r, true
}

// Create implements sessioning.Store.
func (s *Store) Create(ctx context.Context, rec sessioning.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	if _, ok := s.recs[rec.Key]; ok {
		return sessioning.ErrExists
	}
	s.insert(rec)
	return nil
}

// Get implements sessioning.Store.
func (s *Store) Get(ctx context.Context, key sessioning.Key) (sessioning.Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return sessioning.Record{}, err
	}
	r, ok := s.recs[key]
	if !ok {
		return sessioning.Record{}, sessioning.ErrNotFound
	}
	return clone(r), nil
}

// Touch implements sessioning.Store.
func (s *Store) Touch(ctx context.Context, key sessioning.Key, lastSeen, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	r, ok := s.recs[key]
	if !ok {
		return sessioning.ErrNotFound
	}
	r.LastSeen, r.Expires = lastSeen, expires
	if !expires.IsZero() {
		heap.Push(&s.exp, expiry{expires, key})
	}
	return nil
}

// Replace implements sessioning.Store.
func (s *Store) Replace(ctx context.Context, old sessioning.Key, rec sessioning.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	if _, ok := s.recs[old]; !ok {
		return sessioning.ErrNotFound
	}
	if _, ok := s.recs[rec.Key]; ok {
		return sessioning.ErrExists
	}
	s.remove(old)
	s.insert(rec)
	return nil
}

// Delete implements sessioning.Store.
func (s *Store) Delete(ctx context.Context, key sessioning.Key) (sessioning.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return sessioning.Record{}, err
	}
	r, ok := s.remove(key)
	if !ok {
		return sessioning.Record{}, sessioning.ErrNotFound
	}
	return r, nil
}

// DeleteHandle implements sessioning.Store.
func (s *Store) DeleteHandle(ctx context.Context, user, handle string) (sessioning.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return sessioning.Record{}, err
	}
	for k := range s.byUser[user] {
		if s.recs[k].Handle == handle {
			r, _ := s.remove(k)
			return r, nil
		}
	}
	return sessioning.Record{}, sessioning.ErrNotFound
}

// DeleteUser implements sessioning.Store.
func (s *Store) DeleteUser(ctx context.Context, user string) ([]sessioning.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var out []sessioning.Record
	for k := range s.byUser[user] {
		r, _ := s.remove(k)
		out = append(out, r)
	}
	return out, nil
}

// ListUser implements sessioning.Store.
func (s *Store) ListUser(ctx context.Context, user string) ([]sessioning.Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var out []sessioning.Record
	for k := range s.byUser[user] {
		out = append(out, clone(s.recs[k]))
	}
	return out, nil
}

// DeleteExpired implements sessioning.Store.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	n := 0
	for n < limit && len(s.exp) > 0 && !s.exp[0].at.After(now) {
		e := heap.Pop(&s.exp).(expiry)
		r, ok := s.recs[e.key]
		if !ok || !r.Expires.Equal(e.at) {
			continue // stale entry: deleted, or touched to a later deadline
		}
		s.remove(e.key)
		n++
	}
	return n, nil
}

// Count implements sessioning.Store.
func (s *Store) Count(ctx context.Context) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	return int64(len(s.recs)), nil
}

// Ping implements sessioning.Store.
func (s *Store) Ping(ctx context.Context) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.check(ctx)
}

// Close implements sessioning.Store. The records are dropped.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.recs, s.byUser, s.exp = nil, nil, nil
	return nil
}

type expiry struct {
	at  time.Time
	key sessioning.Key
}

type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
