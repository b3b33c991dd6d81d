package pebblestore_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/pebblestore"
	"github.com/sessioning/sessioning/storetest"
)

func open(tb testing.TB, dir string) *pebblestore.Store {
	return openWith(tb, dir, nil)
}

func openWith(tb testing.TB, dir string, opts *pebblestore.Options) *pebblestore.Store {
	tb.Helper()
	s, err := pebblestore.Open(filepath.Join(dir, "sessions"), opts)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// harness opens stores with opts, for both ways of reading.
func harness(opts *pebblestore.Options) storetest.Harness {
	return storetest.Harness{
		Open:    func(t *testing.T, dir string) sessioning.Store { return openWith(t, dir, opts) },
		Durable: true,
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, harness(nil)) }

func TestConformanceDiskReads(t *testing.T) {
	storetest.Run(t, harness(&pebblestore.Options{DiskReads: true}))
}

func TestCrash(t *testing.T) { storetest.RunCrash(t, harness(nil)) }

func TestCrashDiskReads(t *testing.T) {
	storetest.RunCrash(t, harness(&pebblestore.Options{DiskReads: true}))
}

// The records in memory and those on disk are one store: a store written
// with one way of reading and reopened with the other sees the same
// sessions.
func TestSwitchReads(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	kept, gone := storetest.Record("alice", 1, time.Hour), storetest.Record("alice", 2, time.Hour)
	for i, opts := range []*pebblestore.Options{nil, {DiskReads: true}, nil} {
		s := openWith(t, dir, opts)
		if i == 0 {
			for _, r := range []sessioning.Record{kept, gone} {
				if err := s.Create(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Delete(ctx, gone.Key); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.Get(ctx, kept.Key); err != nil {
			t.Errorf("open %d: kept record: %v", i, err)
		} else {
			storetest.Equal(t, got, kept)
		}
		if _, err := s.Get(ctx, gone.Key); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("open %d: deleted record: err = %v", i, err)
		}
		if n, _ := s.Count(ctx); n != 1 {
			t.Errorf("open %d: Count = %d, want 1", i, n)
		}
		s.Close()
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	storetest.CloseBench()
	os.Exit(code)
}

// BenchmarkStore runs the shared store benchmarks; see docs/benchmarks.md.
func BenchmarkStore(b *testing.B) { bench(b, nil) }

// BenchmarkStoreDiskReads runs them with lookups read from Pebble.
func BenchmarkStoreDiskReads(b *testing.B) { bench(b, &pebblestore.Options{DiskReads: true}) }

func bench(b *testing.B, opts *pebblestore.Options) {
	storetest.Bench(b, storetest.BenchHarness{
		Open: func(tb testing.TB, dir string) sessioning.Store { return openWith(tb, dir, opts) },
		Load: func(tb testing.TB, s sessioning.Store, recs []sessioning.Record) {
			if err := pebblestore.Load(s.(*pebblestore.Store), recs); err != nil {
				tb.Fatal(err)
			}
		},
		Settle: func(tb testing.TB, s sessioning.Store) {
			if err := pebblestore.Compact(s.(*pebblestore.Store)); err != nil {
				tb.Fatal(err)
			}
		},
	})
}
