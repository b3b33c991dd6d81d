// Package mongostore keeps sessions in MongoDB (or a server that speaks
// its wire protocol, such as FerretDB), in the collection the original
// TypeScript implementation used: "Sessioning.sessions" in the
// application's database.
//
// # Documents
//
// A session is one document:
//
//	{
//	  _id:        "sha256:<hex of the key, the SHA-256 of the token>",
//	  user:       "<user>",
//	  handle:     "<handle>",
//	  created:    ISODate(…),
//	  lastSeen:   ISODate(…),
//	  expires:    ISODate(…),   // absent when the session never expires
//	  absExpires: ISODate(…),   // absent when there is no absolute lifetime
//	  metadata:   [{k: "<key>", v: "<value>"}, …] // absent when empty
//	}
//
// Metadata is a list of pairs rather than a sub-document so that any key
// the Manager accepts (dots, dollars, NUL bytes) can be stored.
//
// The _id is a string, not the 32 bytes as binary, because FerretDB (v1)
// turns only a string or ObjectId _id filter into an indexed lookup and
// scans the whole collection for any other. Its "sha256:" prefix tells it
// apart from the original's ids, which a colon never appears in, and says
// what it is: a hash, not a usable token.
//
// Documents written by the original, {_id: "<session id>", user: "<user>"},
// can share the collection; Store implements [sessioning.Legacy] so that the
// Manager adopts them, and LegacyIDs and HasLegacy serve a bulk adoption.
//
// # Consistency
//
// Every write uses majority write concern and every read goes to the
// primary with majority read concern, so a logout acknowledged to one
// process is seen by every other process sharing the database, and
// survives a failover.
//
// # Indexes
//
// New creates, if missing: {user: 1, handle: 1} for listing, revoking one
// and revoking all of a user's sessions; and {expires: 1} for the sweep,
// declared as a TTL index (expireAfterSeconds: 0) where the server supports
// one. The TTL monitor of MongoDB runs about once a minute, so expiry is
// always checked on read by the Manager as well.
package mongostore

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	"github.com/sessioning/sessioning"
)

// Collection is the name of the collection that holds the sessions, the
// one the original implementation used.
const Collection = "Sessioning.sessions"

// DefaultServerSelectionTimeout is how long Connect waits for a reachable
// server, and each operation of a Store it returns waits before it fails
// with ErrUnavailable, unless the connection string or Options say
// otherwise.
const DefaultServerSelectionTimeout = 5 * time.Second

// idPrefix starts the _id of every session this package writes.
const idPrefix = "sha256:"

// Index names, fixed so that a later start finds the indexes it made.
const (
	indexUser    = "user_handle"
	indexExpires = "expires"
)

// Server error codes the store tells apart.
const (
	codeIndexOptionsConflict  = 85
	codeIndexKeySpecsConflict = 86
	codeCommandNotSupported   = 115
	codeNotImplemented        = 238 // FerretDB, for options it lacks
	codeInvalidIndexSpec      = 197
)

// Options are the Store's optional settings; the zero value of each field
// means its documented default.
type Options struct {
	// Logger receives the notices the store gives once at open (no TTL
	// index on this server, an existing index that differs). Nil discards
	// them.
	Logger *slog.Logger
	// ServerSelectionTimeout applies to Connect only: how long it waits
	// for a reachable server at start, and how long each later operation
	// waits before failing with ErrUnavailable. Zero means the connection
	// string's serverSelectionTimeoutMS, or else
	// DefaultServerSelectionTimeout.
	ServerSelectionTimeout time.Duration
}

// Store is a sessioning.Store over a MongoDB collection. It is safe for
// concurrent use.
type Store struct {
	coll   *mongo.Collection
	owned  *mongo.Client // disconnected by Close; nil if the caller's
	log    *slog.Logger
	ttl    bool
	closed atomic.Bool
}

var (
	_ sessioning.Store  = (*Store)(nil)
	_ sessioning.Legacy = (*Store)(nil)
)

// New returns a Store over the collection Collection of db, creating its
// indexes if they are missing. db's client stays the caller's: Close does
// not disconnect it. Whatever db's own settings, the store writes with
// majority write concern and reads from the primary.
func New(ctx context.Context, db *mongo.Database, opts *Options) (*Store, error) {
	if db == nil {
		return nil, fmt.Errorf("mongostore: %w: database must not be nil", sessioning.ErrInvalidInput)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	coll := db.Collection(Collection, options.Collection().
		SetWriteConcern(writeconcern.Majority()).
		SetReadConcern(readconcern.Majority()).
		SetReadPreference(readpref.Primary()))
	s := &Store{coll: coll, log: o.Logger}
	if err := s.ensureIndexes(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Connect dials the MongoDB deployment at uri, waits at most the server
// selection timeout for it to answer, and returns a Store over the
// database dbName (or, if dbName is empty, the database named in uri).
// Close disconnects the client Connect made. Errors never contain uri,
// which may hold a password.
func Connect(ctx context.Context, uri, dbName string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	cs, err := connstring.ParseAndValidate(uri)
	if err != nil {
		return nil, fmt.Errorf("mongostore: %w: malformed MongoDB connection string", sessioning.ErrInvalidInput)
	}
	if dbName == "" {
		dbName = cs.Database
	}
	if dbName == "" {
		return nil, fmt.Errorf("mongostore: %w: no database name given, and none in the connection string", sessioning.ErrInvalidInput)
	}
	copts := options.Client().ApplyURI(uri)
	switch {
	case o.ServerSelectionTimeout > 0:
		copts.SetServerSelectionTimeout(o.ServerSelectionTimeout)
	case copts.ServerSelectionTimeout == nil:
		copts.SetServerSelectionTimeout(DefaultServerSelectionTimeout)
	}
	client, err := mongo.Connect(copts)
	if err != nil {
		return nil, fmt.Errorf("mongostore: connect: %w", sessioning.ErrInvalidInput)
	}
	fail := func(err error) (*Store, error) {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		client.Disconnect(dctx)
		return nil, err
	}
	if err := client.Ping(ctx, readpref.Primary()); err != nil {
		return fail(translate(ctx, fmt.Sprintf("connect to %v", cs.Hosts), err))
	}
	s, err := New(ctx, client.Database(dbName), &o)
	if err != nil {
		return fail(err)
	}
	s.owned = client
	return s, nil
}

// TTL reports whether the server expires documents by itself through a TTL
// index. Without one, only the Manager's sweep removes expired records;
// with one, the sweep is still worth running, since the server's TTL
// monitor runs only about once a minute.
func (s *Store) TTL() bool { return s.ttl }

func (s *Store) ensureIndexes(ctx context.Context) error {
	iv := s.coll.Indexes()
	_, err := iv.CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "user", Value: 1}, {Key: "handle", Value: 1}},
		Options: options.Index().SetName(indexUser),
	})
	if err != nil && !s.keepIndex(indexUser, err) {
		return translate(ctx, "create index on user", err)
	}
	_, err = iv.CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "expires", Value: 1}},
		Options: options.Index().SetName(indexExpires).SetExpireAfterSeconds(0),
	})
	switch {
	case err == nil:
		s.ttl = true
		return nil
	case hasCode(err, codeNotImplemented, codeCommandNotSupported, codeInvalidIndexSpec):
		s.log.Info("mongostore: the server does not support TTL indexes; expired sessions are removed by the sweep only")
	case s.keepIndex(indexExpires, err):
		return nil
	default:
		return translate(ctx, "create TTL index on expires", err)
	}
	_, err = iv.CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "expires", Value: 1}},
		Options: options.Index().SetName(indexExpires),
	})
	if err != nil && !s.keepIndex(indexExpires, err) {
		return translate(ctx, "create index on expires", err)
	}
	return nil
}

// keepIndex reports whether err says that an index by that name or on
// those keys exists with other options (made by an operator, or by an
// earlier start on a server without TTL support); the store then uses it
// as it is.
func (s *Store) keepIndex(name string, err error) bool {
	if !hasCode(err, codeIndexOptionsConflict, codeIndexKeySpecsConflict) {
		return false
	}
	s.log.Warn("mongostore: keeping an existing index that differs from the one this version creates", "index", name, "collection", Collection)
	return true
}

func hasCode(err error, codes ...int) bool {
	var se mongo.ServerError
	if !errors.As(err, &se) {
		return false
	}
	for _, c := range codes {
		if se.HasErrorCode(c) {
			return true
		}
	}
	return false
}

// translate maps a driver error to the package's sentinel errors. It never
// includes a key, a token or a legacy session id: the driver's messages for
// the errors that could (duplicate keys) are not passed on.
func translate(ctx context.Context, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("mongostore: %s: %w", op, sessioning.ErrNotFound)
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("mongostore: %s: %w", op, sessioning.ErrExists)
	case errors.Is(err, mongo.ErrClientDisconnected):
		return fmt.Errorf("mongostore: %s: %w", op, sessioning.ErrClosed)
	}
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(cerr, context.DeadlineExceeded) {
			// The server did not answer in time: for the caller that is an
			// unavailable store as much as an expired deadline.
			return fmt.Errorf("mongostore: %s: %w: %w", op, sessioning.ErrUnavailable, cerr)
		}
		return fmt.Errorf("mongostore: %s: %w", op, cerr)
	}
	return fmt.Errorf("mongostore: %s: %w: %w", op, sessioning.ErrUnavailable, err)
}

// begin is every operation's first step: it refuses a closed store and a
// done context before anything is sent.
func (s *Store) begin(ctx context.Context, op string) error {
	if s.closed.Load() {
		return fmt.Errorf("mongostore: %s: %w", op, sessioning.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongostore: %s: %w", op, err)
	}
	return nil
}

// pair is one metadata entry as stored.
type pair struct {
	K string `bson:"k"`
	V string `bson:"v"`
}

// doc is a stored session as read back. _id is raw so that any document,
// such as the original implementation's, decodes.
type doc struct {
	ID         bson.RawValue  `bson:"_id"`
	User       string         `bson:"user"`
	Handle     string         `bson:"handle"`
	Created    bson.DateTime  `bson:"created"`
	LastSeen   bson.DateTime  `bson:"lastSeen"`
	Expires    *bson.DateTime `bson:"expires"`
	AbsExpires *bson.DateTime `bson:"absExpires"`
	Metadata   []pair         `bson:"metadata"`
}

func idOf(k sessioning.Key) string { return idPrefix + k.String() }

// keyOf returns the key stored in id, and false if id is not the _id of a
// session this package wrote.
func keyOf(id string) (sessioning.Key, bool) {
	var k sessioning.Key
	h, ok := strings.CutPrefix(id, idPrefix)
	if !ok || hex.DecodedLen(len(h)) != len(k) {
		return k, false
	}
	_, err := hex.Decode(k[:], []byte(h))
	return k, err == nil
}

func date(t time.Time) bson.DateTime { return bson.NewDateTimeFromTime(t) }

func timeOf(d bson.DateTime) time.Time { return d.Time().UTC() }

// encode returns rec as the document to store.
func encode(rec sessioning.Record) bson.D {
	d := bson.D{
		{Key: "_id", Value: idOf(rec.Key)},
		{Key: "user", Value: rec.User},
		{Key: "handle", Value: rec.Handle},
		{Key: "created", Value: date(rec.Created)},
		{Key: "lastSeen", Value: date(rec.LastSeen)},
	}
	if !rec.Expires.IsZero() {
		d = append(d, bson.E{Key: "expires", Value: date(rec.Expires)})
	}
	if !rec.AbsoluteExpires.IsZero() {
		d = append(d, bson.E{Key: "absExpires", Value: date(rec.AbsoluteExpires)})
	}
	if len(rec.Metadata) > 0 {
		md := make([]pair, 0, len(rec.Metadata))
		for k, v := range rec.Metadata {
			md = append(md, pair{k, v})
		}
		slices.SortFunc(md, func(a, b pair) int { return cmp.Compare(a.K, b.K) })
		d = append(d, bson.E{Key: "metadata", Value: md})
	}
	return d
}

// record returns the stored session d holds, and false for a document
// that is not one (a legacy session, or something foreign).
func (d *doc) record() (sessioning.Record, bool) {
	id, _ := d.ID.StringValueOK()
	key, ok := keyOf(id)
	if !ok {
		return sessioning.Record{}, false
	}
	rec := sessioning.Record{
		Key:      key,
		Handle:   d.Handle,
		User:     d.User,
		Created:  timeOf(d.Created),
		LastSeen: timeOf(d.LastSeen),
	}
	if d.Expires != nil {
		rec.Expires = timeOf(*d.Expires)
	}
	if d.AbsExpires != nil {
		rec.AbsoluteExpires = timeOf(*d.AbsExpires)
	}
	if len(d.Metadata) > 0 {
		rec.Metadata = make(sessioning.Metadata, len(d.Metadata))
		for _, p := range d.Metadata {
			rec.Metadata[p.K] = p.V
		}
	}
	return rec, true
}

// decodeOne decodes the document of a single-document operation on a key.
func decodeOne(ctx context.Context, op string, r *mongo.SingleResult) (sessioning.Record, error) {
	var d doc
	if err := r.Decode(&d); err != nil {
		return sessioning.Record{}, translate(ctx, op, err)
	}
	rec, ok := d.record()
	if !ok {
		return sessioning.Record{}, fmt.Errorf("mongostore: %s: %w", op, sessioning.ErrNotFound)
	}
	return rec, nil
}

// Create adds rec, or returns ErrExists if its key is taken.
func (s *Store) Create(ctx context.Context, rec sessioning.Record) error {
	if err := s.begin(ctx, "create"); err != nil {
		return err
	}
	_, err := s.coll.InsertOne(ctx, encode(rec))
	return translate(ctx, "create", err)
}

// Get returns the record stored under key.
func (s *Store) Get(ctx context.Context, key sessioning.Key) (sessioning.Record, error) {
	if err := s.begin(ctx, "get"); err != nil {
		return sessioning.Record{}, err
	}
	return decodeOne(ctx, "get", s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: idOf(key)}}))
}

// Touch sets a record's LastSeen and Expires.
func (s *Store) Touch(ctx context.Context, key sessioning.Key, lastSeen, expires time.Time) error {
	if err := s.begin(ctx, "touch"); err != nil {
		return err
	}
	update := bson.D{{Key: "$set", Value: bson.D{{Key: "lastSeen", Value: date(lastSeen)}}}}
	if expires.IsZero() {
		update = append(update, bson.E{Key: "$unset", Value: bson.D{{Key: "expires", Value: ""}}})
	} else {
		update[0].Value = append(update[0].Value.(bson.D), bson.E{Key: "expires", Value: date(expires)})
	}
	res, err := s.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: idOf(key)}}, update)
	if err != nil {
		return translate(ctx, "touch", err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("mongostore: touch: %w", sessioning.ErrNotFound)
	}
	return nil
}

// Replace removes the record under old and adds rec. MongoDB offers no
// transaction on every deployment (nor FerretDB at all), so Replace inserts
// rec first and then deletes old; if old turns out to be missing, or the
// delete fails, it removes rec again and reports the failure. The new
// token is handed out only when Replace succeeds, so a record left behind
// by a crash between the two steps is unreachable and expires with its
// deadline, while the old token keeps working: to its caller the rotation
// did not happen.
func (s *Store) Replace(ctx context.Context, old sessioning.Key, rec sessioning.Record) error {
	if err := s.begin(ctx, "replace"); err != nil {
		return err
	}
	if _, err := s.coll.InsertOne(ctx, encode(rec)); err != nil {
		return translate(ctx, "replace", err)
	}
	res, err := s.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: idOf(old)}})
	if err == nil && res.DeletedCount == 1 {
		return nil
	}
	if err != nil {
		err = translate(ctx, "replace", err)
	} else {
		err = fmt.Errorf("mongostore: replace: %w", sessioning.ErrNotFound)
	}
	// Undo the insert even if ctx is done: a half-done rotation must not
	// outlive the call. Bounded, since the server may be gone.
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, uerr := s.coll.DeleteOne(uctx, bson.D{{Key: "_id", Value: idOf(rec.Key)}}); uerr != nil {
		s.log.Warn("mongostore: could not undo a failed rotation; the unused record expires with its deadline", "error", uerr)
	}
	return err
}

// Delete removes the record under key and returns what it held.
func (s *Store) Delete(ctx context.Context, key sessioning.Key) (sessioning.Record, error) {
	if err := s.begin(ctx, "delete"); err != nil {
		return sessioning.Record{}, err
	}
	return decodeOne(ctx, "delete", s.coll.FindOneAndDelete(ctx, bson.D{{Key: "_id", Value: idOf(key)}}))
}

// DeleteHandle removes user's record with the given handle and returns
// what it held.
func (s *Store) DeleteHandle(ctx context.Context, user, handle string) (sessioning.Record, error) {
	if err := s.begin(ctx, "delete handle"); err != nil {
		return sessioning.Record{}, err
	}
	filter := bson.D{{Key: "user", Value: user}, {Key: "handle", Value: handle}}
	return decodeOne(ctx, "delete handle", s.coll.FindOneAndDelete(ctx, filter))
}

// find returns the documents matching filter, decoded.
func (s *Store) find(ctx context.Context, op string, filter bson.D, opts ...options.Lister[options.FindOptions]) ([]doc, error) {
	cur, err := s.coll.Find(ctx, filter, opts...)
	if err != nil {
		return nil, translate(ctx, op, err)
	}
	var docs []doc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate(ctx, op, err)
	}
	return docs, nil
}

// DeleteUser removes every record of user and returns them. Sessions of the
// original implementation that belong to user are removed as well ("log
// out everywhere" must include them) and returned as records under the
// hash of their id, with no handle and no deadline.
func (s *Store) DeleteUser(ctx context.Context, user string) ([]sessioning.Record, error) {
	if err := s.begin(ctx, "delete user"); err != nil {
		return nil, err
	}
	filter := bson.D{{Key: "user", Value: user}}
	docs, err := s.find(ctx, "delete user", filter)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, nil
	}
	// By user rather than by the ids just read: a session created in
	// between is revoked too, though not counted.
	if _, err := s.coll.DeleteMany(ctx, filter); err != nil {
		return nil, translate(ctx, "delete user", err)
	}
	recs := make([]sessioning.Record, 0, len(docs))
	for _, d := range docs {
		if rec, ok := d.record(); ok {
			recs = append(recs, rec)
		} else if id, ok := d.ID.StringValueOK(); ok && !isOurs(id) {
			recs = append(recs, sessioning.Record{Key: sessioning.KeyOf(id), User: d.User})
		}
	}
	return recs, nil
}

// ListUser returns every record of user, in any order. Sessions of the
// original implementation are not listed: they have no handle to revoke
// them by until they are adopted.
func (s *Store) ListUser(ctx context.Context, user string) ([]sessioning.Record, error) {
	if err := s.begin(ctx, "list user"); err != nil {
		return nil, err
	}
	docs, err := s.find(ctx, "list user", bson.D{{Key: "user", Value: user}})
	if err != nil {
		return nil, err
	}
	recs := make([]sessioning.Record, 0, len(docs))
	for _, d := range docs {
		if rec, ok := d.record(); ok {
			recs = append(recs, rec)
		}
	}
	return recs, nil
}

// DeleteExpired removes at most limit records whose Expires is set and not
// after now. Documents without an expires field (sessions that never
// expire, and those of the original implementation) never match.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if err := s.begin(ctx, "delete expired"); err != nil {
		return 0, err
	}
	if limit <= 0 {
		return 0, nil
	}
	expired := bson.E{Key: "expires", Value: bson.D{{Key: "$lte", Value: date(now)}}}
	docs, err := s.find(ctx, "delete expired", bson.D{expired},
		options.Find().SetLimit(int64(limit)).SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil || len(docs) == 0 {
		return 0, err
	}
	ids := make(bson.A, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	// The deadline is checked again: a record touched since it was read
	// stays.
	res, err := s.coll.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}, expired})
	if err != nil {
		return 0, translate(ctx, "delete expired", err)
	}
	return int(res.DeletedCount), nil
}

// Count returns the number of documents in the collection, from the
// server's collection statistics (exact on a replica set after a clean
// shutdown, an estimate on a sharded cluster). Sessions of the original
// implementation not yet adopted are counted too.
func (s *Store) Count(ctx context.Context) (int64, error) {
	if err := s.begin(ctx, "count"); err != nil {
		return 0, err
	}
	n, err := s.coll.EstimatedDocumentCount(ctx)
	return n, translate(ctx, "count", err)
}

// Ping reports whether the primary is reachable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.begin(ctx, "ping"); err != nil {
		return err
	}
	return translate(ctx, "ping", s.coll.Database().Client().Ping(ctx, readpref.Primary()))
}

// Close releases the store and, if Connect made its client, disconnects
// it. It is idempotent.
func (s *Store) Close() error {
	if s.closed.Swap(true) || s.owned == nil {
		return nil
	}
	// Close has no context of its own; bound the wait for in-flight
	// operations and the server's goodbye.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.owned.Disconnect(ctx); err != nil {
		return fmt.Errorf("mongostore: close: %w", err)
	}
	return nil
}

// legacyFilter matches the documents of the original implementation: a
// string _id outside the range of this package's ids. Both bounds are on
// _id, so MongoDB answers from the _id index.
var legacyFilter = bson.D{{Key: "$or", Value: bson.A{
	bson.D{{Key: "_id", Value: bson.D{{Key: "$type", Value: "string"}, {Key: "$lt", Value: idPrefix}}}},
	bson.D{{Key: "_id", Value: bson.D{{Key: "$type", Value: "string"}, {Key: "$gte", Value: idPrefixEnd}}}},
}}}

// idPrefixEnd is the least string above every one that starts with
// idPrefix.
const idPrefixEnd = "sha256;"

// isOurs reports whether id is in this package's range, so that the legacy
// methods never reach a hashed record: its _id is readable by whoever
// reads the database, and must not work as a session id.
func isOurs(id string) bool { return strings.HasPrefix(id, idPrefix) }

// TakeLegacy atomically removes the original implementation's session
// with plain id id and returns its user, or ErrNotFound. A document whose
// user is not a valid user id (the original checked nothing) is removed
// too, since no session can stand on it, and reported as not found.
func (s *Store) TakeLegacy(ctx context.Context, id string) (string, error) {
	if err := s.begin(ctx, "take legacy"); err != nil {
		return "", err
	}
	if isOurs(id) {
		return "", fmt.Errorf("mongostore: take legacy: %w", sessioning.ErrNotFound)
	}
	var d struct {
		User bson.RawValue `bson:"user"`
	}
	// No projection: FerretDB does not implement one on findAndModify.
	err := s.coll.FindOneAndDelete(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if err != nil {
		return "", translate(ctx, "take legacy", err)
	}
	user, ok := d.User.StringValueOK()
	if !ok || sessioning.ValidateUser(user) != nil {
		s.log.Warn("mongostore: removed a legacy session that has no valid user")
		return "", fmt.Errorf("mongostore: take legacy: %w", sessioning.ErrNotFound)
	}
	return user, nil
}

// HasLegacy reports whether the collection holds any session of the
// original implementation. A service turns adoption on when it does.
func (s *Store) HasLegacy(ctx context.Context) (bool, error) {
	if err := s.begin(ctx, "has legacy"); err != nil {
		return false, err
	}
	err := s.coll.FindOne(ctx, legacyFilter, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, translate(ctx, "has legacy", err)
	}
	return true, nil
}

// LegacyIDs yields the plain id of every session of the original
// implementation, for a bulk adoption (Manager.Adopt on each). The ids are
// secrets: never log them. Adopting or removing sessions while iterating
// is fine. On failure it yields ("", err) once and stops.
func (s *Store) LegacyIDs(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		if err := s.begin(ctx, "legacy ids"); err != nil {
			yield("", err)
			return
		}
		cur, err := s.coll.Find(ctx, legacyFilter, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
		if err != nil {
			yield("", translate(ctx, "legacy ids", err))
			return
		}
		defer func() {
			// The cursor is closed on the server even when ctx is done.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			cur.Close(cctx)
		}()
		for cur.Next(ctx) {
			id, ok := cur.Current.Lookup("_id").StringValueOK()
			if !ok || isOurs(id) {
				continue
			}
			if !yield(id, nil) {
				return
			}
		}
		if err := cur.Err(); err != nil {
			yield("", translate(ctx, "legacy ids", err))
		}
	}
}
