package boltstore_test

import (
	"path/filepath"
	"testing"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/bench/engines/boltstore"
	"github.com/sessioning/sessioning/storetest"
)

func open(t *testing.T, dir string) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(dir, "sessions.db"), nil)
	if err != nil {
		t.Fatal(err)
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
