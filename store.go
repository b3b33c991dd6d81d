package sessioning

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Key is the store's name for a session: the SHA-256 of its token. A
// leaked store therefore yields no usable token.
type Key [32]byte

// KeyOf returns the key a token is stored under.
func KeyOf(token string) Key { return sha256.Sum256([]byte(token)) }

// String returns the key in hex. Keys are not secret, but they identify a
// session, so they are still kept out of logs.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// Record is what a Store keeps for one session.
type Record struct {
	Key      Key
	Handle   string
	User     string
	Created  time.Time
	LastSeen time.Time
	// Expires is the effective deadline, the earlier of the absolute and
	// idle deadlines; zero means never. Stores index it for the sweep.
	Expires time.Time
	// AbsoluteExpires is the deadline no refresh can move; zero means
	// none.
	AbsoluteExpires time.Time
	Metadata        Metadata
}

// Info returns the record's public description.
func (r Record) Info() Info {
	return Info{
		Handle:   r.Handle,
		User:     r.User,
		Created:  r.Created,
		LastSeen: r.LastSeen,
		Expires:  r.Expires,
		Metadata: r.Metadata,
	}
}

// Store saves, finds and deletes session records. It is mechanism only:
// the Manager decides what is valid and what is expired, and a Store
// returns records whatever their Expires says (except DeleteExpired).
//
// Contract for every implementation:
//   - All methods are safe for concurrent use.
//   - Every method honours ctx: if ctx is done before the operation takes
//     effect, it returns an error wrapping ctx.Err() and changes nothing.
//   - "Missing" is always ErrNotFound (wrapped or not); deleting a missing
//     record returns ErrNotFound and changes nothing.
//   - Records passed in and returned are copies: callers may keep and
//     modify them, including their Metadata.
//   - Durable stores make Create, Replace and every Delete* durable before
//     they return (a crash afterwards loses none of them, and a deleted
//     record never comes back). Touch may be lost in a crash: the session
//     then keeps its earlier deadline.
//   - Failures to reach the backend are ErrUnavailable; use after Close is
//     ErrClosed. Close is idempotent.
type Store interface {
	// Create adds rec, or returns ErrExists if its key is taken.
	Create(ctx context.Context, rec Record) error
	// Get returns the record stored under key.
	Get(ctx context.Context, key Key) (Record, error)
	// Touch sets a record's LastSeen and Expires.
	Touch(ctx context.Context, key Key, lastSeen, expires time.Time) error
	// Replace atomically removes the record under old and adds rec (with
	// its new key): either both happen or neither. ErrNotFound if old is
	// missing, ErrExists if rec.Key is taken.
	Replace(ctx context.Context, old Key, rec Record) error
	// Delete removes the record under key and returns what it held.
	Delete(ctx context.Context, key Key) (Record, error)
	// DeleteHandle removes user's record with the given handle and returns
	// what it held. A handle of another user is ErrNotFound.
	DeleteHandle(ctx context.Context, user, handle string) (Record, error)
	// DeleteUser removes every record of user and returns them (none is
	// not an error).
	DeleteUser(ctx context.Context, user string) ([]Record, error)
	// ListUser returns every record of user, in any order.
	ListUser(ctx context.Context, user string) ([]Record, error)
	// DeleteExpired removes at most limit records whose Expires is set and
	// not after now, and returns how many it removed. It holds no lock
	// across calls, so a caller sweeps millions of records in batches
	// while lookups go on.
	DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error)
	// Count returns the number of records held, expired or not. It may be
	// an estimate for stores where an exact count is expensive.
	Count(ctx context.Context) (int64, error)
	// Ping reports whether the backend is reachable.
	Ping(ctx context.Context) error
	// Close releases the store. It does not close a handle the store was
	// given by its caller.
	Close() error
}

// Legacy gives the Manager access to sessions written by the original
// TypeScript implementation, which stored the plain session id. Stores that
// can hold such records (the MongoDB store) implement it; the Manager adopts
// a legacy session the first time its id is presented: it claims the plain
// record and stores the session again under the hash of the id.
type Legacy interface {
	// TakeLegacy atomically removes the legacy session with plain id id and
	// returns its user, or returns ErrNotFound. Of several concurrent
	// callers at most one gets the user, so a session adopted and then
	// logged out cannot be adopted a second time.
	TakeLegacy(ctx context.Context, id string) (user string, err error)
}
