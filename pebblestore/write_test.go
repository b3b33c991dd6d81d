package pebblestore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/storetest"
)

// Writes that share a log sync each get their own answer: a Create that
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

// A sweep resumes where the previous one stopped, and still finds records
// that expire earlier than that and were added since.
func TestSweepResumes(t *testing.T) {
	s := open(t, t.TempDir())
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	for i := range 10 {
		if err := s.Create(ctx, storetest.Record("sweep", i, time.Duration(10+i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	now := storetest.Base.Add(time.Hour)
	if n, err := s.DeleteExpired(ctx, now, 4); err != nil || n != 4 {
		t.Fatalf("first sweep = %d, %v; want 4", n, err)
	}
	early := storetest.Record("sweep", 100, time.Minute) // before all swept ones
	if err := s.Create(ctx, early); err != nil {
		t.Fatal(err)
	}
	total := 0
	for {
		n, err := s.DeleteExpired(ctx, now, 4)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		total += n
	}
	if total != 7 {
		t.Errorf("later sweeps removed %d records, want 7 (6 left and the early one)", total)
	}
	if _, err := s.Get(ctx, early.Key); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("record added below the sweep position survived: %v", err)
	}
	if c, _ := s.Count(ctx); c != 0 {
		t.Errorf("Count = %d, want 0", c)
	}
}
