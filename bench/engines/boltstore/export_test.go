package boltstore

import (
	bolt "go.etcd.io/bbolt"

	"github.com/sessioning/sessioning"
)

// Load inserts recs, whose keys must be free, in large transactions: a
// fast preload for benchmarks.
func Load(s *Store, recs []sessioning.Record) error {
	const chunk = 20_000
	for len(recs) > 0 {
		part := recs[:min(chunk, len(recs))]
		recs = recs[len(part):]
		err := s.db.Update(func(tx *bolt.Tx) error {
			t := newTxn(tx)
			for i := range part {
				if err := t.insert(&part[i]); err != nil {
					return err
				}
			}
			return t.finish()
		})
		if err != nil {
			return err
		}
	}
	return nil
}
