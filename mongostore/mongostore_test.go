package mongostore_test

import (
	"context"
	"os"
	"testing"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/internal/mongotest"
	"github.com/sessioning/sessioning/mongostore"
	"github.com/sessioning/sessioning/storetest"
)

func TestMain(m *testing.M) { os.Exit(mongotest.Main(m)) }

// open returns a store over the database named after dir, dropped when t
// ends.
func open(t *testing.T, dir string) *mongostore.Store {
	t.Helper()
	uri, db := mongotest.URI(t), mongotest.DBName(dir)
	s, err := mongostore.Connect(context.Background(), uri, db, nil)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	mongotest.Drop(t, uri, db)
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open:    func(t *testing.T, dir string) sessioning.Store { return open(t, dir) },
		Durable: true,
	})
}
