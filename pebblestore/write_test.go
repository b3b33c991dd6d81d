package pebblestore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/storetest"
)

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
