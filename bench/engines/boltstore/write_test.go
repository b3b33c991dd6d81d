package boltstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/storetest"
)

// Writes that share a commit each get their own answer: a Create that
// finds its key taken fails alone.
func TestConcurrentWritesOwnResults(t *testing.T) {
	s := open(t, t.TempDir())
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	const n = 64
	for i := 0; i < n; i += 2 {
		if err := s.Create(ctx, storetest.Record("taken", i, time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.Create(ctx, storetest.Record("taken", i, time.Hour)) })
	}
	wg.Wait()
	for i, err := range errs {
		if i%2 == 0 && !errors.Is(err, sessioning.ErrExists) {
			t.Errorf("Create %d over a taken key: err = %v, want ErrExists", i, err)
		}
		if i%2 == 1 && err != nil {
			t.Errorf("Create %d: %v", i, err)
		}
	}
	if c, _ := s.Count(ctx); c != n {
		t.Errorf("Count = %d, want %d", c, n)
	}
}
