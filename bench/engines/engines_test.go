// Package engines compares the raw embedded engines on the session store's
// access pattern, without the store layer: a record plus two index entries
// written durably per create, point reads of records. It is a separate
// module so that the engine not chosen stays out of the main module's
// dependencies. The store-level comparison is BenchmarkStore in
// ../../boltstore and ../../pebblestore; docs/storage.md has both.
package engines_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	bolt "go.etcd.io/bbolt"
)

const (
	writers = 64
	readers = 8
	valSize = 140 // an encoded session record with user agent and address
)

// size is how many records each engine is preloaded with.
func size(tb testing.TB) int {
	if v := os.Getenv("SESSIONING_BENCH_SESSIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			tb.Fatal(err)
		}
		return n
	}
	return 1_000_000
}

func parallelism(goroutines int) int {
	return max(1, goroutines/runtime.GOMAXPROCS(0))
}

// entry returns record i's key and its two index keys.
func entry(i int) (rec, user, exp []byte) {
	k := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
	rec = append([]byte{'s'}, k[:]...)
	user = append(append([]byte{'u', 12}, "user"+strconv.Itoa(i%200_000)...), k[:]...)
	exp = append(binary.BigEndian.AppendUint64([]byte{'e'}, uint64(1e12+i)), k[:]...)
	return rec, user, exp
}

var value = make([]byte, valSize)

func BenchmarkBolt(b *testing.B) {
	n := size(b)
	db, err := bolt.Open(filepath.Join(b.TempDir(), "bolt.db"), 0o600, &bolt.Options{
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	bucket := []byte("b")
	put := func(tx *bolt.Tx, i int) error {
		bk, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		r, u, e := entry(i)
		for _, k := range [][]byte{r, u, e} {
			if err := bk.Put(k, value); err != nil {
				return err
			}
		}
		return nil
	}
	for lo := 0; lo < n; lo += 50_000 {
		err := db.Update(func(tx *bolt.Tx) error {
			for i := lo; i < min(n, lo+50_000); i++ {
				if err := put(tx, i); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	next := atomic.Int64{}
	next.Store(int64(n))

	// Batch is bbolt's own write coalescing: up to MaxBatchSize calls
	// within MaxBatchDelay (10 ms) share a transaction.
	b.Run("CreateBatch", func(b *testing.B) {
		b.SetParallelism(parallelism(writers))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := int(next.Add(1))
				if err := db.Batch(func(tx *bolt.Tx) error { return put(tx, i) }); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("CreateUpdate", func(b *testing.B) {
		b.SetParallelism(parallelism(writers))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := int(next.Add(1))
				if err := db.Update(func(tx *bolt.Tx) error { return put(tx, i) }); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("Get", func(b *testing.B) {
		b.SetParallelism(parallelism(readers))
		var seed atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			i := int(seed.Add(1)) * 7919
			for pb.Next() {
				i = (i + 104729) % n
				r, _, _ := entry(i)
				err := db.View(func(tx *bolt.Tx) error {
					if tx.Bucket(bucket).Get(r) == nil {
						b.Error("missing record")
					}
					return nil
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkPebble(b *testing.B) {
	n := size(b)
	cache := pebble.NewCache(256 << 20)
	defer cache.Unref()
	opts := &pebble.Options{Cache: cache, MemTableSize: 32 << 20, Logger: quiet{}}
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	db, err := pebble.Open(filepath.Join(b.TempDir(), "pebble"), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	put := func(batch *pebble.Batch, i int) {
		r, u, e := entry(i)
		for _, k := range [][]byte{r, u, e} {
			batch.Set(k, value, nil)
		}
	}
	for lo := 0; lo < n; lo += 50_000 {
		batch := db.NewBatch()
		for i := lo; i < min(n, lo+50_000); i++ {
			put(batch, i)
		}
		if err := batch.Commit(pebble.NoSync); err != nil {
			b.Fatal(err)
		}
	}
	// Compact as a long-running store mostly is, rather than all in L0.
	if err := db.Compact(context.Background(), []byte{0}, []byte{0xff}, true); err != nil {
		b.Fatal(err)
	}
	next := atomic.Int64{}
	next.Store(int64(n))

	// Commit with Sync: Pebble's commit pipeline syncs the log once for
	// every batch queued while the previous sync ran.
	b.Run("CreateSync", func(b *testing.B) {
		b.SetParallelism(parallelism(writers))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				batch := db.NewBatch()
				put(batch, int(next.Add(1)))
				if err := batch.Commit(pebble.Sync); err != nil {
					b.Error(err)
					return
				}
				batch.Close()
			}
		})
	})
	b.Run("Get", func(b *testing.B) {
		b.SetParallelism(parallelism(readers))
		var seed atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			i := int(seed.Add(1)) * 7919
			for pb.Next() {
				i = (i + 104729) % n
				r, _, _ := entry(i)
				_, closer, err := db.Get(r)
				if err != nil {
					b.Error(err)
					return
				}
				closer.Close()
			}
		})
	})
}

type quiet struct{}

func (quiet) Infof(string, ...any)           {}
func (quiet) Errorf(string, ...any)          {}
func (quiet) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }
