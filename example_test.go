package sessioning_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/memstore"
)

// The concept's principle: after a session is created for a user, that user
// can be retrieved through the session until it is deleted.
func Example() {
	ctx := context.Background()
	m, err := sessioning.New(memstore.New(), nil)
	if err != nil {
		panic(err)
	}

	s, _ := m.Create(ctx, "alice", sessioning.Metadata{"ua": "curl/8.5"})
	user, _ := m.User(ctx, s.Token)
	fmt.Println("user:", user)

	_ = m.Delete(ctx, s.Token) // logout
	_, err = m.User(ctx, s.Token)
	fmt.Println("after logout:", errors.Is(err, sessioning.ErrNotFound))
	// Output:
	// user: alice
	// after logout: true
}

// A user lists their sessions by handle and logs out everywhere.
func ExampleManager_RevokeAll() {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	m, _ := sessioning.New(memstore.New(), &sessioning.Options{Now: func() time.Time { return now }})
	m.Create(ctx, "alice", sessioning.Metadata{"ua": "phone"})
	now = now.Add(time.Hour)
	m.Create(ctx, "alice", sessioning.Metadata{"ua": "laptop"})

	list, _ := m.List(ctx, "alice")
	for _, s := range list {
		fmt.Println(s.Metadata["ua"])
	}
	n, _ := m.RevokeAll(ctx, "alice")
	fmt.Println("ended:", n)
	// Output:
	// phone
	// laptop
	// ended: 2
}

// Rotating after a privilege change: the old token stops working at once.
func ExampleManager_Rotate() {
	ctx := context.Background()
	m, _ := sessioning.New(memstore.New(), nil)
	s, _ := m.Create(ctx, "alice", nil)

	r, _ := m.Rotate(ctx, s.Token)
	_, oldErr := m.User(ctx, s.Token)
	user, _ := m.User(ctx, r.Token)
	fmt.Println(errors.Is(oldErr, sessioning.ErrNotFound), user, r.Handle == s.Handle)
	// Output: true alice true
}
