package pebblestore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/pebblestore"
)

// A session created on the durable store survives a restart.
func Example() {
	dir, err := os.MkdirTemp("", "sessions-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sessions")
	ctx := context.Background()

	store, err := pebblestore.Open(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	m, err := sessioning.New(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	sess, err := m.Create(ctx, "alice", sessioning.Metadata{"ua": "example/1.0"})
	if err != nil {
		log.Fatal(err)
	}
	store.Close() // Create was on disk before it returned

	store, err = pebblestore.Open(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	m, err = sessioning.New(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	user, err := m.User(ctx, sess.Token)
	fmt.Println(user, err)
	fmt.Println(m.Delete(ctx, sess.Token))
	_, err = m.User(ctx, sess.Token)
	fmt.Println(err)
	// Output:
	// alice <nil>
	// <nil>
	// session not found
}
