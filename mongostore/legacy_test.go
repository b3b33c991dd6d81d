package mongostore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/internal/mongotest"
	"github.com/sessioning/sessioning/mongostore"
	"github.com/sessioning/sessioning/storetest"
)

// fixture is a store over a fresh database plus a raw handle on its
// collection, for writing and inspecting documents as the original did.
type fixture struct {
	store *mongostore.Store
	raw   *mongo.Collection
}

func newFixture(t testing.TB, opts *options.ClientOptions) fixture {
	t.Helper()
	ctx := context.Background()
	uri, name := mongotest.URI(t), mongotest.DBName(t.TempDir())
	if opts == nil {
		opts = options.Client()
	}
	client, err := mongo.Connect(opts.ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Disconnect(context.Background()) })
	mongotest.Drop(t, uri, name)
	db := client.Database(name)
	s, err := mongostore.New(ctx, db, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return fixture{store: s, raw: db.Collection(mongostore.Collection)}
}

// insertLegacy writes sessions the way the original implementation did:
// {_id: <session id>, user}.
func (f fixture) insertLegacy(t *testing.T, idUser ...string) {
	t.Helper()
	for i := 0; i < len(idUser); i += 2 {
		doc := bson.D{{Key: "_id", Value: idUser[i]}, {Key: "user", Value: idUser[i+1]}}
		if _, err := f.raw.InsertOne(context.Background(), doc); err != nil {
			t.Fatal(err)
		}
	}
}

// count returns how many raw documents match filter.
func (f fixture) count(t *testing.T, filter bson.D) int64 {
	t.Helper()
	n, err := f.raw.CountDocuments(context.Background(), filter)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// plainIDs returns how many documents have an _id that is not a key hash.
func (f fixture) plainIDs(t *testing.T) int64 {
	t.Helper()
	return f.count(t, bson.D{{Key: "_id", Value: bson.D{{Key: "$not", Value: bson.Regex{Pattern: "^sha256:"}}}}})
}

func (f fixture) manager(t *testing.T, now *time.Time) *sessioning.Manager {
	t.Helper()
	m, err := sessioning.New(f.store, &sessioning.Options{
		Now:    func() time.Time { return *now },
		Legacy: f.store,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const (
	uuidA1 = "0b6f1c5e-7d2a-4c8e-9f3b-1a2b3c4d5e61"
	uuidA2 = "0b6f1c5e-7d2a-4c8e-9f3b-1a2b3c4d5e62"
	uuidB1 = "5d0c2f47-3b1e-4a9d-8c7f-6e5d4c3b2a11"
	uuidC1 = "9e8d7c6b-5a49-4382-a716-f5e4d3c2b1a0"
)

func TestLegacyAdoptedOnUse(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	now := storetest.Base
	m := f.manager(t, &now)
	if has, err := f.store.HasLegacy(ctx); err != nil || has {
		t.Fatalf("HasLegacy on an empty collection = %v, %v", has, err)
	}
	f.insertLegacy(t, uuidA1, "alice", uuidA2, "alice", uuidB1, "bob")
	if has, err := f.store.HasLegacy(ctx); err != nil || !has {
		t.Fatalf("HasLegacy = %v, %v; want true", has, err)
	}

	// _getUser with the old id works, and converts the session.
	if u, err := m.User(ctx, uuidA1); err != nil || u != "alice" {
		t.Fatalf("User(legacy id) = %q, %v; want alice", u, err)
	}
	if n := f.count(t, bson.D{{Key: "_id", Value: uuidA1}}); n != 0 {
		t.Errorf("plain id still stored after adoption")
	}
	rec, err := f.store.Get(ctx, sessioning.KeyOf(uuidA1))
	if err != nil {
		t.Fatalf("adopted record: %v", err)
	}
	if rec.User != "alice" || rec.Expires.IsZero() || !rec.Created.Equal(now) {
		t.Errorf("adopted record = %+v; want alice's, created now, with a deadline", rec)
	}
	now = now.Add(time.Minute)
	if u, err := m.User(ctx, uuidA1); err != nil || u != "alice" {
		t.Errorf("User(legacy id) after adoption = %q, %v", u, err)
	}

	// delete/logout with the old id ends the session.
	if err := m.Delete(ctx, uuidA2); err != nil {
		t.Fatalf("Delete(legacy id): %v", err)
	}
	if _, err := m.User(ctx, uuidA2); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("User after Delete(legacy id): err = %v, want ErrNotFound", err)
	}
	if err := m.Delete(ctx, uuidA2); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("second Delete(legacy id): err = %v, want ErrNotFound", err)
	}

	// An unknown id, legacy-shaped or not, is simply not found.
	if _, err := m.User(ctx, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, sessioning.ErrNotFound) {
		t.Errorf("User(unknown legacy id): err = %v, want ErrNotFound", err)
	}

	// Explicit adoption, as `sessiond adopt` does it.
	if err := m.Adopt(ctx, uuidB1); err != nil {
		t.Fatalf("Adopt: %v", err)
	}
	if u, err := m.User(ctx, uuidB1); err != nil || u != "bob" {
		t.Errorf("User after Adopt = %q, %v", u, err)
	}
	if n := f.plainIDs(t); n != 0 {
		t.Errorf("%d plain session ids remain in the collection", n)
	}
	if has, err := f.store.HasLegacy(ctx); err != nil || has {
		t.Errorf("HasLegacy after adoption = %v, %v; want false", has, err)
	}
}

func TestLegacyBulkAdoption(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	now := storetest.Base
	m := f.manager(t, &now)
	ids := []string{uuidA1, uuidA2, uuidB1, uuidC1}
	f.insertLegacy(t, uuidA1, "alice", uuidA2, "alice", uuidB1, "bob", uuidC1, "carol")
	// Two not adoptable: a user that is no string (the original checked
	// nothing) and an id that cannot be presented as a session.
	if _, err := f.raw.InsertOne(ctx, bson.D{{Key: "_id", Value: "bad-user"}, {Key: "user", Value: bson.D{{Key: "name", Value: "eve"}}}}); err != nil {
		t.Fatal(err)
	}
	f.insertLegacy(t, "not a session id", "dave")

	converted, skipped := 0, 0
	for id, err := range f.store.LegacyIDs(ctx) {
		if err != nil {
			t.Fatalf("LegacyIDs: %v", err)
		}
		switch err := m.Adopt(ctx, id); {
		case err == nil:
			converted++
		case errors.Is(err, sessioning.ErrNotFound):
			skipped++
		default:
			t.Fatalf("Adopt: %v", err)
		}
	}
	if converted != len(ids) || skipped != 2 {
		t.Errorf("adopted %d, skipped %d; want %d, 2", converted, skipped, len(ids))
	}
	for _, id := range ids {
		if n := f.count(t, bson.D{{Key: "_id", Value: id}}); n != 0 {
			t.Errorf("plain id still stored after bulk adoption")
		}
		if _, err := m.User(ctx, id); err != nil {
			t.Errorf("User(adopted id): %v", err)
		}
	}
	// The document without a valid user was claimed and dropped (no
	// session can stand on it); the id that cannot be presented stays.
	if n := f.plainIDs(t); n != 1 {
		t.Errorf("%d plain ids remain, want 1 (the id that cannot be presented)", n)
	}
}

// A user with sessions of both kinds: nothing that reads records by user,
// by deadline or in bulk trips over the original's documents.
func TestLegacyMixedUser(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	now := storetest.Base
	m := f.manager(t, &now)
	f.insertLegacy(t, uuidA1, "alice", uuidA2, "alice", uuidB1, "bob")
	sess, err := m.Create(ctx, "alice", sessioning.Metadata{"ua": "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, "bob", nil); err != nil {
		t.Fatal(err)
	}
	// Listing shows the sessions that have a handle to revoke them by.
	list, err := m.List(ctx, "alice")
	if err != nil || len(list) != 1 || list[0].Handle != sess.Handle {
		t.Fatalf("List(alice) = %+v, %v; want her one new session", list, err)
	}
	if n, err := f.store.Count(ctx); err != nil || n != 5 {
		t.Errorf("Count = %d, %v; want 5 (legacy sessions count)", n, err)
	}
	now = now.Add(400 * 24 * time.Hour)
	if n, err := m.Sweep(ctx); err != nil || n != 2 {
		t.Errorf("Sweep long after = %d, %v; want the 2 new sessions (legacy ones have no deadline)", n, err)
	}
	now = storetest.Base
	if _, err := m.Create(ctx, "alice", nil); err != nil {
		t.Fatal(err)
	}
	// Log out everywhere includes the sessions of the original.
	n, err := m.RevokeAll(ctx, "alice")
	if err != nil || n != 3 {
		t.Errorf("RevokeAll(alice) = %d, %v; want 3 (1 new, 2 legacy)", n, err)
	}
	for _, id := range []string{uuidA1, uuidA2} {
		if _, err := m.User(ctx, id); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("legacy session survived RevokeAll: err = %v", err)
		}
	}
	if u, err := m.User(ctx, uuidB1); err != nil || u != "bob" {
		t.Errorf("bob's legacy session after RevokeAll(alice) = %q, %v", u, err)
	}
}

// Metadata keys that MongoDB treats specially as field names round-trip.
func TestMetadataKeys(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	rec := storetest.Record("alice", 1, time.Hour)
	rec.Metadata = sessioning.Metadata{"a.b": "dot", "$where": "dollar", "nul\x00key": "v\x00", "": "empty"}
	if err := f.store.Create(ctx, rec); err != nil {
		t.Fatalf("Create: %v", err)
	}
	got, err := f.store.Get(ctx, rec.Key)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Equal(t, got, rec)
}

// The stored layout is what the docs promise: a string _id holding the
// key, dates, and no expires field for a session without a deadline.
func TestDocumentLayout(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	rec := storetest.Record("alice", 1, 0)
	if err := f.store.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	raw, err := f.raw.FindOne(ctx, bson.D{}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := raw.Lookup("_id").StringValueOK(); !ok || id != "sha256:"+rec.Key.String() {
		t.Errorf("_id = %v, want \"sha256:<hex key>\"", raw.Lookup("_id"))
	}
	if _, err := raw.LookupErr("expires"); err == nil {
		t.Errorf("expires stored for a session without a deadline")
	}
	if d, ok := raw.Lookup("created").DateTimeOK(); !ok || d != rec.Created.UnixMilli() {
		t.Errorf("created = %v, want a date", raw.Lookup("created"))
	}
}

// Whoever reads the database sees every _id; none of them, with or without
// its prefix, works as a legacy session id.
func TestStoredIDIsNoSessionID(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	now := storetest.Base
	m := f.manager(t, &now)
	f.insertLegacy(t, uuidA1, "alice")
	if _, err := m.Create(ctx, "alice", nil); err != nil {
		t.Fatal(err)
	}
	raw, err := f.raw.FindOne(ctx, bson.D{{Key: "handle", Value: bson.D{{Key: "$exists", Value: true}}}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	id := raw.Lookup("_id").StringValue()
	for _, presented := range []string{id, id[len("sha256:"):]} {
		if _, err := m.User(ctx, presented); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("User(stored _id) err = %v, want ErrNotFound", err)
		}
		if _, err := f.store.TakeLegacy(ctx, presented); !errors.Is(err, sessioning.ErrNotFound) {
			t.Errorf("TakeLegacy(stored _id) err = %v, want ErrNotFound", err)
		}
	}
	if n := f.count(t, bson.D{}); n != 2 {
		t.Errorf("%d documents after the attempts, want 2", n)
	}
	var ids []string
	for id, err := range f.store.LegacyIDs(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if len(ids) != 1 || ids[0] != uuidA1 {
		t.Errorf("LegacyIDs yielded %d ids, want only the legacy one", len(ids))
	}
}
