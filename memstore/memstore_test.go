package memstore_test

import (
	"testing"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/memstore"
	"github.com/sessioning/sessioning/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(*testing.T, string) sessioning.Store { return memstore.New() },
	})
}
