// Package pebblestore is the durable embedded sessioning.Store: a directory
// managed by Pebble (github.com/cockroachdb/pebble/v2), the LSM engine under
// CockroachDB. docs/storage.md records why Pebble and not bbolt.
//
// # Durability and group commit
//
// Every Create, Replace, Touch and Delete* is in Pebble's write-ahead log
// and fsynced before it returns. A write first checks and applies its
// change under one mutex — an in-memory step of a few microseconds, which
// gives each operation the isolation of a transaction (Pebble has none) —
// and then waits for the log sync outside the mutex. Pebble syncs the log
// once for every write queued while the previous sync ran, so concurrent
// writers share syncs instead of each paying one; there is no timer.
//
// # Layout
//
// One keyspace with three prefixes: records by key ('s'), a user index
// ('u': user, key) for ListUser, DeleteHandle and DeleteUser, and an expiry
// index ('e': deadline, key) so that DeleteExpired visits only expired
// records. Values are a compact binary encoding (package internal/recordenc), and
// Pebble compresses its tables, so a million sessions take about 250 MB.
//
// # Reads
//
// By default every record's encoded value is also kept in memory, in a map
// loaded at Open and changed only by writes, under the write mutex, right
// after their batch is applied. A lookup is then a map read under a read
// lock, never a walk through Pebble's tables: lookups run at the speed of
// the in-memory store, about 2.5 times faster than from Pebble, for about
// 600 bytes of memory per session (the record, the map entry and the Go
// heap's headroom). Pebble stays the durable copy and serves the index
// scans (by user, by deadline). Options.DiskReads turns the copy off for
// stores with more sessions than memory.
package pebblestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/internal/recordenc"
)

// Defaults for Options fields left zero.
const (
	DefaultCacheSize = 64 << 20
	// DefaultDiskReadsCacheSize is the block cache with DiskReads: large
	// enough to hold a compacted store of a million sessions, so that
	// lookups do not read and decompress blocks.
	DefaultDiskReadsCacheSize = 256 << 20
	DefaultMemTableSize       = 32 << 20
)

// Key prefixes of the three keyspaces.
const (
	prefixRecord = 's'
	prefixUser   = 'u'
	prefixExpiry = 'e'
)

// Options are Open's optional settings; the zero value of each field means
// its default.
type Options struct {
	// CacheSize is Pebble's block cache in bytes. Lookups by key never
	// use it (records are also kept in memory); index scans, sweeps and
	// compactions do. Zero means DefaultCacheSize, or
	// DefaultDiskReadsCacheSize with DiskReads.
	CacheSize int64
	// MemTableSize is the size of each in-memory table in bytes. Zero
	// means DefaultMemTableSize.
	MemTableSize uint64
	// DiskReads keeps no copy of the records in memory: lookups read
	// Pebble. It saves about 600 bytes of memory per session and makes a
	// lookup about 2.5 times as expensive.
	DiskReads bool
}

// Store is a sessioning.Store in a Pebble directory. It is safe for
// concurrent use. Create it with Open and release it with Close.
type Store struct {
	db *pebble.DB

	mu sync.Mutex // serialises the check-and-apply step of writes
	// sweptTo, guarded by mu, is an expiry index key below which every
	// entry has been deleted: the next sweep starts there instead of
	// stepping over the tombstones of all earlier sweeps. A write that
	// adds an entry below it moves it down.
	sweptTo []byte
	// applied, guarded by mu, is set by a write's operation to run once
	// its batch has been applied, before mu is released.
	applied func()
	// pending, guarded by mu, are the record changes of the batch being
	// built, to be made in recs once it is applied.
	pending []change

	recsMu sync.RWMutex
	recs   map[sessioning.Key][]byte // every record's encoded value; nil with DiskReads

	// closeMu keeps Close from closing the database under a running
	// operation; operations hold it shared.
	closeMu sync.RWMutex
	closed  bool

	count atomic.Int64 // records held
}

var _ sessioning.Store = (*Store)(nil)

// Open opens or creates the store in the directory path. A nil opts means
// all defaults. The caller must Close the store to release the directory.
func Open(path string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
		if o.DiskReads {
			o.CacheSize = DefaultDiskReadsCacheSize
		}
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	if o.CacheSize < 0 {
		return nil, fmt.Errorf("%w: pebblestore: cache size must not be negative", sessioning.ErrInvalidInput)
	}
	cache := pebble.NewCache(o.CacheSize)
	defer cache.Unref()
	po := &pebble.Options{
		Cache:        cache,
		MemTableSize: o.MemTableSize,
		Logger:       quietLogger{},
	}
	for i := range po.Levels {
		// Bloom filters let a lookup skip the tables that lack its key.
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		// One index block per table: a point lookup then does one index
		// search instead of two.
		po.Levels[i].IndexBlockSize = 256 << 10
	}
	db, err := pebble.Open(path, po)
	if err != nil {
		return nil, fmt.Errorf("pebblestore: open %s: %w", path, err)
	}
	s := &Store{db: db}
	if !o.DiskReads {
		s.recs = make(map[sessioning.Key][]byte)
	}
	n, err := s.loadRecords()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("pebblestore: open %s: %w", path, err)
	}
	s.count.Store(n)
	return s, nil
}

// loadRecords counts the records and, unless DiskReads, reads them into
// memory, once at Open.
func (s *Store) loadRecords() (int64, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte{prefixRecord},
		UpperBound: []byte{prefixRecord + 1},
	})
	if err != nil {
		return 0, err
	}
	var n int64
	for it.First(); it.Valid(); it.Next() {
		n++
		k := it.Key()[1:]
		var key sessioning.Key
		if s.recs == nil || len(k) != len(key) {
			continue
		}
		copy(key[:], k)
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return 0, err
		}
		s.recs[key] = bytes.Clone(v)
	}
	return n, it.Close()
}

// change is one record's new encoded value, or nil for its deletion.
type change struct {
	key   sessioning.Key
	value []byte
}

// applyPending makes the pending record changes in memory. The caller
// holds mu and has applied their batch.
func (s *Store) applyPending() {
	if s.recs == nil {
		return
	}
	s.recsMu.Lock()
	for _, c := range s.pending {
		if c.value == nil {
			delete(s.recs, c.key)
		} else {
			s.recs[c.key] = c.value
		}
	}
	s.recsMu.Unlock()
	s.pending = s.pending[:0]
}

// quietLogger drops Pebble's informational logs, which a library should
// not print; fatal errors still stop the program as Pebble expects.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebblestore: "+format, args...))
}

// Close waits for running operations and closes the database. Later calls
// return ErrClosed; Close is idempotent.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.recsMu.Lock()
	clear(s.recs)
	s.recsMu.Unlock()
	return s.db.Close()
}

// enter starts an operation: it fails if ctx is done or the store closed,
// and otherwise holds off Close until the returned func is called.
func (s *Store) enter(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, sessioning.ErrClosed
	}
	return s.closeMu.RUnlock, nil
}

func unavailable(err error) error {
	return fmt.Errorf("%w: pebblestore: %v", sessioning.ErrUnavailable, err)
}

// expected reports whether err is an operation's ordinary answer.
func expected(err error) bool {
	return errors.Is(err, sessioning.ErrExists) || errors.Is(err, sessioning.ErrNotFound)
}

// write runs fn, which adds its changes to b, under the write mutex,
// applies b, and then waits for the log sync with the mutex released. If
// ctx is done before b is applied nothing changes.
func (s *Store) write(ctx context.Context, fn func(b *pebble.Batch) (delta int64, err error)) error {
	leave, err := s.enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	b := s.db.NewBatch()
	defer b.Close()
	s.mu.Lock()
	if err := ctx.Err(); err != nil {
		s.mu.Unlock()
		return err
	}
	delta, err := fn(b)
	if err == nil && !b.Empty() {
		// Applied and visible now; durable once SyncWait returns.
		if err = s.db.ApplyNoSyncWait(b, pebble.Sync); err == nil {
			s.applyPending()
			s.count.Add(delta)
			if s.applied != nil {
				s.applied()
			}
		}
	}
	s.applied = nil
	s.pending = s.pending[:0]
	s.mu.Unlock()
	switch {
	case err != nil && (expected(err) || errors.Is(err, sessioning.ErrUnavailable)):
		return err
	case err != nil:
		return unavailable(err)
	case b.Empty():
		return nil
	}
	if err := b.SyncWait(); err != nil {
		return unavailable(err)
	}
	return nil
}

func recordKey(key []byte) []byte {
	return append(append(make([]byte, 0, 1+len(key)), prefixRecord), key...)
}

func userEntry(user string, key sessioning.Key) []byte {
	return recordenc.UserKey([]byte{prefixUser}, user, key)
}

func expiryEntry(at time.Time, key sessioning.Key) []byte {
	return recordenc.ExpiryKey([]byte{prefixExpiry}, at, key)
}

// value returns the encoded record under key, or nil, and a func to call
// once done with it. Values in memory are never modified once stored.
func (s *Store) value(key []byte) ([]byte, func(), error) {
	if s.recs == nil {
		v, closer, err := s.db.Get(recordKey(key))
		switch {
		case errors.Is(err, pebble.ErrNotFound):
			return nil, func() {}, nil
		case err != nil:
			return nil, nil, unavailable(err)
		}
		return v, func() { closer.Close() }, nil
	}
	var k sessioning.Key
	if len(key) != len(k) {
		return nil, func() {}, nil
	}
	copy(k[:], key)
	s.recsMu.RLock()
	v := s.recs[k]
	s.recsMu.RUnlock()
	return v, func() {}, nil
}

// get reads the record under key.
func (s *Store) get(key []byte) (sessioning.Record, error) {
	v, done, err := s.value(key)
	if err != nil {
		return sessioning.Record{}, err
	}
	defer done()
	if v == nil {
		return sessioning.Record{}, sessioning.ErrNotFound
	}
	rec, err := recordenc.Decode(key, v)
	if err != nil {
		return rec, unavailable(err)
	}
	return rec, nil
}

// absent returns ErrExists if a record is stored under key.
func (s *Store) absent(key []byte) error {
	v, done, err := s.value(key)
	if err != nil {
		return err
	}
	done()
	if v != nil {
		return sessioning.ErrExists
	}
	return nil
}

// put writes rec with its expiry entry, and its user entry if isNew. The
// caller holds mu.
func (s *Store) put(b *pebble.Batch, rec *sessioning.Record, isNew bool) {
	v := recordenc.Encode(nil, rec)
	b.Set(recordKey(rec.Key[:]), v, nil)
	s.pending = append(s.pending, change{rec.Key, v})
	if isNew {
		b.Set(userEntry(rec.User, rec.Key), nil, nil)
	}
	if !rec.Expires.IsZero() {
		e := expiryEntry(rec.Expires, rec.Key)
		if s.sweptTo != nil && bytes.Compare(e, s.sweptTo) < 0 {
			s.sweptTo = e
		}
		b.Set(e, nil, nil)
	}
}

// del removes rec with its index entries. The caller holds mu.
func (s *Store) del(b *pebble.Batch, rec *sessioning.Record) {
	b.Delete(recordKey(rec.Key[:]), nil)
	s.pending = append(s.pending, change{key: rec.Key})
	b.Delete(userEntry(rec.User, rec.Key), nil)
	if !rec.Expires.IsZero() {
		b.Delete(expiryEntry(rec.Expires, rec.Key), nil)
	}
}

// Create implements sessioning.Store.
func (s *Store) Create(ctx context.Context, rec sessioning.Record) error {
	return s.write(ctx, func(b *pebble.Batch) (int64, error) {
		if err := s.absent(rec.Key[:]); err != nil {
			return 0, err
		}
		s.put(b, &rec, true)
		return 1, nil
	})
}

// Get implements sessioning.Store.
func (s *Store) Get(ctx context.Context, key sessioning.Key) (sessioning.Record, error) {
	leave, err := s.enter(ctx)
	if err != nil {
		return sessioning.Record{}, err
	}
	defer leave()
	return s.get(key[:])
}

// Touch implements sessioning.Store.
func (s *Store) Touch(ctx context.Context, key sessioning.Key, lastSeen, expires time.Time) error {
	return s.write(ctx, func(b *pebble.Batch) (int64, error) {
		rec, err := s.get(key[:])
		if err != nil {
			return 0, err
		}
		if !rec.Expires.IsZero() {
			b.Delete(expiryEntry(rec.Expires, key), nil)
		}
		rec.LastSeen, rec.Expires = lastSeen, expires
		s.put(b, &rec, false)
		return 0, nil
	})
}

// Replace implements sessioning.Store.
func (s *Store) Replace(ctx context.Context, old sessioning.Key, rec sessioning.Record) error {
	return s.write(ctx, func(b *pebble.Batch) (int64, error) {
		prev, err := s.get(old[:])
		if err != nil {
			return 0, err
		}
		if err := s.absent(rec.Key[:]); err != nil {
			return 0, err
		}
		s.del(b, &prev)
		s.put(b, &rec, true)
		return 0, nil
	})
}

// Delete implements sessioning.Store.
func (s *Store) Delete(ctx context.Context, key sessioning.Key) (sessioning.Record, error) {
	var rec sessioning.Record
	err := s.write(ctx, func(b *pebble.Batch) (_ int64, err error) {
		if rec, err = s.get(key[:]); err != nil {
			return 0, err
		}
		s.del(b, &rec)
		return -1, nil
	})
	return rec, err
}

// DeleteHandle implements sessioning.Store.
func (s *Store) DeleteHandle(ctx context.Context, user, handle string) (sessioning.Record, error) {
	var rec sessioning.Record
	err := s.write(ctx, func(b *pebble.Batch) (int64, error) {
		recs, err := s.user(user)
		if err != nil {
			return 0, err
		}
		for _, r := range recs {
			if r.Handle == handle {
				rec = r
				s.del(b, &rec)
				return -1, nil
			}
		}
		return 0, sessioning.ErrNotFound
	})
	return rec, err
}

// DeleteUser implements sessioning.Store.
func (s *Store) DeleteUser(ctx context.Context, user string) ([]sessioning.Record, error) {
	var out []sessioning.Record
	err := s.write(ctx, func(b *pebble.Batch) (int64, error) {
		recs, err := s.user(user)
		if err != nil {
			return 0, err
		}
		for i := range recs {
			s.del(b, &recs[i])
		}
		out = recs
		return -int64(len(recs)), nil
	})
	return out, err
}

// ListUser implements sessioning.Store.
func (s *Store) ListUser(ctx context.Context, user string) ([]sessioning.Record, error) {
	leave, err := s.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	return s.user(user)
}

// user returns every record of user.
func (s *Store) user(user string) ([]sessioning.Record, error) {
	prefix := recordenc.UserPrefix([]byte{prefixUser}, user)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: successor(prefix)})
	if err != nil {
		return nil, unavailable(err)
	}
	defer it.Close()
	var out []sessioning.Record
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) != len(prefix)+len(sessioning.Key{}) {
			continue
		}
		rec, err := s.get(k[len(prefix):])
		if errors.Is(err, sessioning.ErrNotFound) {
			// Deleted after the iterator began (a reader does not hold
			// the write mutex); it is gone, so it is not listed.
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	if err := it.Error(); err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// successor is the least key greater than every key with prefix p.
func successor(p []byte) []byte {
	q := bytes.Clone(p)
	for i := len(q) - 1; i >= 0; i-- {
		if q[i] < 0xff {
			q[i]++
			return q[:i+1]
		}
	}
	return nil
}

// DeleteExpired implements sessioning.Store. Each call is one batch that
// visits only the expiry index entries up to now. Lookups take no lock
// it holds; other writers wait for it, so limit bounds their wait.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	n := 0
	err := s.write(ctx, func(b *pebble.Batch) (int64, error) {
		n = 0
		lower := []byte{prefixExpiry}
		if s.sweptTo != nil {
			lower = s.sweptTo
		}
		it, err := s.db.NewIter(&pebble.IterOptions{
			LowerBound: lower,
			UpperBound: expiryEntry(now.Add(time.Millisecond), sessioning.Key{}),
		})
		if err != nil {
			return 0, unavailable(err)
		}
		defer it.Close()
		var last []byte
		for it.First(); it.Valid() && n < limit; it.Next() {
			last = it.Key()
			k := last[1:]
			if len(k) != 8+len(sessioning.Key{}) {
				continue
			}
			rec, err := s.get(k[8:])
			if errors.Is(err, sessioning.ErrNotFound) {
				b.Delete(it.Key(), nil) // an orphan entry: drop it
				continue
			}
			if err != nil {
				return 0, err
			}
			s.del(b, &rec)
			n++
		}
		if err := it.Error(); err != nil {
			return 0, unavailable(err)
		}
		if last != nil {
			// Everything up to last is gone once this batch applies.
			last = bytes.Clone(last)
			s.applied = func() { s.sweptTo = last }
		}
		return -int64(n), nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Count implements sessioning.Store. It is exact.
func (s *Store) Count(ctx context.Context) (int64, error) {
	leave, err := s.enter(ctx)
	if err != nil {
		return 0, err
	}
	defer leave()
	return s.count.Load(), nil
}

// Ping implements sessioning.Store.
func (s *Store) Ping(ctx context.Context) error {
	leave, err := s.enter(ctx)
	if err != nil {
		return err
	}
	leave()
	return nil
}
