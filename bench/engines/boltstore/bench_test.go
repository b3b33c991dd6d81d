package boltstore_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/bench/engines/boltstore"
	"github.com/sessioning/sessioning/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	storetest.CloseBench()
	os.Exit(code)
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, storetest.BenchHarness{
		Open: func(tb testing.TB, dir string) sessioning.Store {
			s, err := boltstore.Open(filepath.Join(dir, "sessions.db"), nil)
			if err != nil {
				tb.Fatal(err)
			}
			return s
		},
		Load: func(tb testing.TB, s sessioning.Store, recs []sessioning.Record) {
			if err := boltstore.Load(s.(*boltstore.Store), recs); err != nil {
				tb.Fatal(err)
			}
		},
	})
}
