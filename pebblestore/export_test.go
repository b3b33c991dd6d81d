package pebblestore

import (
	"context"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sessioning/sessioning"
)

// Load inserts recs, whose keys must be free, in one batch without a
// sync: a fast preload for benchmarks.
func Load(s *Store, recs []sessioning.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.db.NewBatch()
	defer b.Close()
	for i := range recs {
		s.put(b, &recs[i], true)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return err
	}
	s.applyPending()
	s.count.Add(int64(len(recs)))
	return nil
}

// Compact flushes the memtables and compacts the whole keyspace, the
// state a long-running store is mostly in.
func Compact(s *Store) error {
	if err := s.db.Flush(); err != nil {
		return err
	}
	return s.db.Compact(context.Background(), []byte{0}, []byte{0xff}, true)
}
