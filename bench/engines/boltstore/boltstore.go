// Package boltstore is a durable embedded sessioning.Store in a single file
// managed by bbolt (go.etcd.io/bbolt), the B+tree engine under etcd.
//
// It is the measured alternative to pebblestore, the service's store, and
// lives in the engine comparison module so that bbolt stays out of the main
// module: with 1M sessions its reads are about as fast, but its
// copy-on-write commits cap durable writes near 5k/s and its file is about
// 630 MB (docs/storage.md).
//
// Every Create, Replace, Touch and Delete* is fsynced before it returns.
// Concurrent writers share commits (group commit, see write), so throughput
// grows with the number of callers instead of being capped by one sync per
// write. Reads are bbolt read transactions and never wait for writers.
//
// The file holds four buckets: records by key, a user index (user, key),
// an expiry index (deadline, key) so that DeleteExpired visits only expired
// records, and a record count.
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/internal/recordenc"
)

// DefaultTimeout is how long Open waits for the file lock by default.
const DefaultTimeout = 5 * time.Second

var (
	bucketRecords = []byte("s")
	bucketUsers   = []byte("u")
	bucketExpiry  = []byte("e")
	bucketMeta    = []byte("m")
	keyCount      = []byte("n")
)

// Options are Open's optional settings; the zero value of each field means
// its default.
type Options struct {
	// Timeout is how long Open waits for another process to release the
	// file lock. Zero means DefaultTimeout.
	Timeout time.Duration
}

// Store is a sessioning.Store in a bbolt file. It is safe for concurrent
// use. Create it with Open and release it with Close.
type Store struct {
	db *bolt.DB

	mu     sync.Mutex // guards queue and closed
	queue  []*op
	closed bool

	isClosed atomic.Bool   // closed, for readers that do not take mu
	slot     chan struct{} // the commit slot: held by the committing caller

	commits, batched atomic.Int64
}

var _ sessioning.Store = (*Store)(nil)

// Open opens or creates the store file at path. A nil opts means all
// defaults. The caller must Close the store to release the file.
func Open(path string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("%w: boltstore: timeout must not be negative", sessioning.ErrInvalidInput)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: o.Timeout,
		// The freelist is rebuilt by a scan on open instead of being
		// written by every commit: fewer pages per sync.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRecords, bucketUsers, bucketExpiry, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("boltstore: init %s: %w", path, err)
	}
	return &Store{db: db, slot: make(chan struct{}, 1)}, nil
}

// Stats counts the store's group commits since Open.
type Stats struct {
	Commits int64 // write transactions committed (one sync each)
	Writes  int64 // operations they carried
}

// Stats returns the number of commits and the writes they carried since
// Open; Writes/Commits is the mean group size.
func (s *Store) Stats() Stats {
	return Stats{Commits: s.commits.Load(), Writes: s.batched.Load()}
}

// Close waits for the commit in progress, commits what is already queued,
// and closes the file. Later calls return ErrClosed; Close is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.isClosed.Store(true)
	s.mu.Unlock()
	s.slot <- struct{}{} // kept: nobody commits after this
	s.commitQueued()
	return s.db.Close()
}

func unavailable(err error) error {
	return fmt.Errorf("%w: boltstore: %v", sessioning.ErrUnavailable, err)
}

// translate maps an error out of bbolt to the Store's vocabulary.
func translate(err error) error {
	switch {
	case err == nil, expected(err), errors.Is(err, sessioning.ErrUnavailable):
		return err
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return sessioning.ErrClosed
	}
	return unavailable(err)
}

// view runs fn in a read transaction.
func (s *Store) view(ctx context.Context, fn func(*txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.isClosed.Load() {
		return sessioning.ErrClosed
	}
	return translate(s.db.View(func(tx *bolt.Tx) error { return fn(newTxn(tx)) }))
}

// Create implements sessioning.Store.
func (s *Store) Create(ctx context.Context, rec sessioning.Record) error {
	return s.write(ctx, func(t *txn) error {
		if t.records.Get(rec.Key[:]) != nil {
			return sessioning.ErrExists
		}
		return t.insert(&rec)
	})
}

// Get implements sessioning.Store.
func (s *Store) Get(ctx context.Context, key sessioning.Key) (sessioning.Record, error) {
	var rec sessioning.Record
	err := s.view(ctx, func(t *txn) (err error) {
		rec, err = t.get(key[:])
		return err
	})
	return rec, err
}

// Touch implements sessioning.Store.
func (s *Store) Touch(ctx context.Context, key sessioning.Key, lastSeen, expires time.Time) error {
	return s.write(ctx, func(t *txn) error {
		rec, err := t.get(key[:])
		if err != nil {
			return err
		}
		if !rec.Expires.IsZero() {
			if err := t.expiry.Delete(recordenc.ExpiryKey(nil, rec.Expires, key)); err != nil {
				return unavailable(err)
			}
		}
		rec.LastSeen, rec.Expires = lastSeen, expires
		return t.put(&rec, false)
	})
}

// Replace implements sessioning.Store.
func (s *Store) Replace(ctx context.Context, old sessioning.Key, rec sessioning.Record) error {
	return s.write(ctx, func(t *txn) error {
		if t.records.Get(old[:]) == nil {
			return sessioning.ErrNotFound
		}
		if t.records.Get(rec.Key[:]) != nil {
			return sessioning.ErrExists
		}
		if _, err := t.remove(old[:]); err != nil {
			return err
		}
		return t.insert(&rec)
	})
}

// Delete implements sessioning.Store.
func (s *Store) Delete(ctx context.Context, key sessioning.Key) (sessioning.Record, error) {
	var rec sessioning.Record
	err := s.write(ctx, func(t *txn) (err error) {
		rec, err = t.remove(key[:])
		return err
	})
	return rec, err
}

// DeleteHandle implements sessioning.Store.
func (s *Store) DeleteHandle(ctx context.Context, user, handle string) (sessioning.Record, error) {
	var rec sessioning.Record
	err := s.write(ctx, func(t *txn) error {
		recs, err := t.user(user)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.Handle == handle {
				rec, err = t.remove(r.Key[:])
				return err
			}
		}
		return sessioning.ErrNotFound
	})
	return rec, err
}

// DeleteUser implements sessioning.Store.
func (s *Store) DeleteUser(ctx context.Context, user string) ([]sessioning.Record, error) {
	var out []sessioning.Record
	err := s.write(ctx, func(t *txn) error {
		recs, err := t.user(user)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if _, err := t.remove(r.Key[:]); err != nil {
				return err
			}
		}
		out = recs
		return nil
	})
	return out, err
}

// ListUser implements sessioning.Store.
func (s *Store) ListUser(ctx context.Context, user string) ([]sessioning.Record, error) {
	var out []sessioning.Record
	err := s.view(ctx, func(t *txn) (err error) {
		out, err = t.user(user)
		return err
	})
	return out, err
}

// DeleteExpired implements sessioning.Store. Each call is one transaction
// that visits only the expiry index entries it removes.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, ctx.Err()
	}
	var n int
	err := s.write(ctx, func(t *txn) error {
		n = 0
		var keys [][]byte
		c := t.expiry.Cursor()
		for k, _ := c.First(); k != nil && len(keys) < limit; k, _ = c.Next() {
			if len(k) != 8+len(sessioning.Key{}) || recordenc.ExpiryTime(k) > recordenc.MS(now) {
				break
			}
			keys = append(keys, bytes.Clone(k[8:]))
		}
		for _, k := range keys {
			if _, err := t.remove(k); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Count implements sessioning.Store. It is exact.
func (s *Store) Count(ctx context.Context) (int64, error) {
	var n int64
	err := s.view(ctx, func(t *txn) error {
		n = t.count()
		return nil
	})
	return n, err
}

// Ping implements sessioning.Store.
func (s *Store) Ping(ctx context.Context) error {
	return s.view(ctx, func(*txn) error { return nil })
}

// txn is one bbolt transaction with the store's buckets at hand.
type txn struct {
	records, users, expiry, meta *bolt.Bucket
	delta                        int64 // change in the record count
}

func newTxn(tx *bolt.Tx) *txn {
	return &txn{
		records: tx.Bucket(bucketRecords),
		users:   tx.Bucket(bucketUsers),
		expiry:  tx.Bucket(bucketExpiry),
		meta:    tx.Bucket(bucketMeta),
	}
}

func (t *txn) count() int64 {
	v := t.meta.Get(keyCount)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

// finish saves the record count before commit.
func (t *txn) finish() error {
	if t.delta == 0 {
		return nil
	}
	if err := t.meta.Put(keyCount, binary.BigEndian.AppendUint64(nil, uint64(t.count()+t.delta))); err != nil {
		return unavailable(err)
	}
	t.delta = 0
	return nil
}

func (t *txn) get(key []byte) (sessioning.Record, error) {
	v := t.records.Get(key)
	if v == nil {
		return sessioning.Record{}, sessioning.ErrNotFound
	}
	rec, err := recordenc.Decode(key, v)
	if err != nil {
		return rec, unavailable(err)
	}
	return rec, nil
}

// put writes rec and its expiry entry, and its user entry if isNew. bbolt
// keeps the slices it is given until commit, so each is freshly allocated.
func (t *txn) put(rec *sessioning.Record, isNew bool) error {
	if err := t.records.Put(bytes.Clone(rec.Key[:]), recordenc.Encode(nil, rec)); err != nil {
		return unavailable(err)
	}
	if isNew {
		if err := t.users.Put(recordenc.UserKey(nil, rec.User, rec.Key), nil); err != nil {
			return unavailable(err)
		}
	}
	if !rec.Expires.IsZero() {
		if err := t.expiry.Put(recordenc.ExpiryKey(nil, rec.Expires, rec.Key), nil); err != nil {
			return unavailable(err)
		}
	}
	return nil
}

// insert adds a record whose key is free.
func (t *txn) insert(rec *sessioning.Record) error {
	if err := t.put(rec, true); err != nil {
		return err
	}
	t.delta++
	return nil
}

// remove deletes the record under key with its index entries.
func (t *txn) remove(key []byte) (sessioning.Record, error) {
	rec, err := t.get(key)
	if err != nil {
		return rec, err
	}
	if err := t.records.Delete(key); err != nil {
		return rec, unavailable(err)
	}
	if err := t.users.Delete(recordenc.UserKey(nil, rec.User, rec.Key)); err != nil {
		return rec, unavailable(err)
	}
	if !rec.Expires.IsZero() {
		if err := t.expiry.Delete(recordenc.ExpiryKey(nil, rec.Expires, rec.Key)); err != nil {
			return rec, unavailable(err)
		}
	}
	t.delta--
	return rec, nil
}

// user returns every record of user.
func (t *txn) user(user string) ([]sessioning.Record, error) {
	prefix := recordenc.UserPrefix(nil, user)
	var out []sessioning.Record
	c := t.users.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		rec, err := t.get(k[len(prefix):])
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}
