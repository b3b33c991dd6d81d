package pebblestore_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/pebblestore"
	"github.com/sessioning/sessioning/storetest"
)

func open(tb testing.TB, dir string) *pebblestore.Store {
	tb.Helper()
	s, err := pebblestore.Open(filepath.Join(dir, "sessions"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open:    func(t *testing.T, dir string) sessioning.Store { return open(t, dir) },
		Durable: true,
	})
}

func TestCrash(t *testing.T) {
	storetest.RunCrash(t, storetest.Harness{
		Open: func(t *testing.T, dir string) sessioning.Store { return open(t, dir) },
	})
}

func TestMain(m *testing.M) {
	code := m.Run()
	storetest.CloseBench()
	os.Exit(code)
}

// BenchmarkStore runs the shared store benchmarks; see docs/benchmarks.md.
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, storetest.BenchHarness{
		Open: func(tb testing.TB, dir string) sessioning.Store { return open(tb, dir) },
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
