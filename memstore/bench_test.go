package memstore_test

import (
	"os"
	"testing"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/memstore"
	"github.com/sessioning/sessioning/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	storetest.CloseBench()
	os.Exit(code)
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, storetest.BenchHarness{
		Open: func(testing.TB, string) sessioning.Store { return memstore.New() },
	})
}
