package mongostore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/mongostore"
)

// A service opens the store from the original's MONGODB_URL and DB_NAME,
// turns adoption of the original's sessions on when there are any, and
// serves from a Manager over the store.
func ExampleConnect() {
	ctx := context.Background()
	logger := slog.Default()
	store, err := mongostore.Connect(ctx, os.Getenv("MONGODB_URL"), os.Getenv("DB_NAME"), &mongostore.Options{Logger: logger})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sessiond:", err) // ErrUnavailable after the server selection timeout
		os.Exit(1)
	}
	defer store.Close()
	var opts sessioning.Options
	if has, err := store.HasLegacy(ctx); err == nil && has {
		opts.Legacy = store
	}
	m, err := sessioning.New(store, &opts)
	if err != nil {
		panic(err)
	}
	_ = m // serve requests; run m.RunSweeper in the background
}

// A bulk adoption converts every session of the original implementation and
// reports how many it converted.
func ExampleStore_LegacyIDs() {
	ctx := context.Background()
	store, err := mongostore.Connect(ctx, os.Getenv("MONGODB_URL"), os.Getenv("DB_NAME"), nil)
	if err != nil {
		panic(err)
	}
	defer store.Close()
	m, err := sessioning.New(store, &sessioning.Options{Legacy: store})
	if err != nil {
		panic(err)
	}
	adopted, skipped := 0, 0
	for id, err := range store.LegacyIDs(ctx) {
		if err != nil {
			panic(err)
		}
		switch err := m.Adopt(ctx, id); {
		case err == nil:
			adopted++
		case errors.Is(err, sessioning.ErrNotFound): // no valid user, or an id that cannot be presented
			skipped++
		default:
			panic(err)
		}
	}
	fmt.Printf("adopted %d sessions, skipped %d\n", adopted, skipped)
}
