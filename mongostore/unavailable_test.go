package mongostore_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/internal/mongotest"
	"github.com/sessioning/sessioning/mongostore"
	"github.com/sessioning/sessioning/storetest"
)

func TestConnectUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nobody listens there now
	uri := "mongodb://admin:s3cret-pw@" + addr + "/app"
	_, err = mongostore.Connect(context.Background(), uri, "", &mongostore.Options{ServerSelectionTimeout: 200 * time.Millisecond})
	if !errors.Is(err, sessioning.ErrUnavailable) {
		t.Fatalf("Connect to a closed port: err = %v, want ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("error reveals the password: %v", err)
	}
}

func TestConnectBadInput(t *testing.T) {
	for _, tc := range []struct{ name, uri, db string }{
		{"not a URI", "http://admin:s3cret-pw@localhost/", "app"},
		{"no database", "mongodb://127.0.0.1:1/", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mongostore.Connect(context.Background(), tc.uri, tc.db, nil)
			if !errors.Is(err, sessioning.ErrInvalidInput) {
				t.Fatalf("err = %v, want ErrInvalidInput", err)
			}
			if strings.Contains(err.Error(), "s3cret-pw") {
				t.Errorf("error reveals the password: %v", err)
			}
		})
	}
}

// The database server goes away and comes back: calls fail with
// ErrUnavailable in the meantime (a done context still shows), and the
// store recovers by itself.
func TestServerLostAndBack(t *testing.T) {
	ctx := context.Background()
	srv := mongotest.StartServer(t)
	s, err := mongostore.Connect(ctx, srv.URI(), "app", &mongostore.Options{ServerSelectionTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	rec := storetest.Record("alice", 1, time.Hour)
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, rec.Key); !errors.Is(err, sessioning.ErrUnavailable) {
		t.Errorf("Get with the server gone: err = %v, want ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, sessioning.ErrUnavailable) {
		t.Errorf("Ping with the server gone: err = %v, want ErrUnavailable", err)
	}
	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := s.Create(dctx, storetest.Record("alice", 2, time.Hour)); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, sessioning.ErrUnavailable) {
		t.Errorf("Create past its deadline with the server gone: err = %v, want DeadlineExceeded and ErrUnavailable", err)
	}

	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	// The driver finds the server again on its next attempt; allow it a
	// generous deadline on a loaded machine.
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := s.Get(ctx, rec.Key)
		if err == nil {
			storetest.Equal(t, got, rec)
			break
		}
		if !errors.Is(err, sessioning.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("Get after the server came back: %v", err)
		}
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping after recovery: %v", err)
	}
}
