package sessioning

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultLifetime      = 30 * 24 * time.Hour
	DefaultIdleTimeout   = 7 * 24 * time.Hour
	DefaultTouchInterval = time.Hour
	DefaultSweepBatch    = 1000
)

// Options are the Manager's optional settings. The zero value of each field
// means its documented default.
type Options struct {
	// Lifetime is the absolute lifetime of a session, counted from its
	// creation; no use extends it. Zero means DefaultLifetime; a negative
	// value disables it.
	Lifetime time.Duration
	// IdleTimeout ends a session that has not been used for that long.
	// Zero means DefaultIdleTimeout; a negative value disables it.
	IdleTimeout time.Duration
	// TouchInterval is how often at most a lookup writes the session's new
	// last-seen time and idle deadline, so that almost every lookup is a
	// read. A session may therefore idle out up to TouchInterval early.
	// Zero means DefaultTouchInterval, or half the idle timeout if that is
	// shorter. It must be shorter than IdleTimeout.
	TouchInterval time.Duration
	// SweepBatch is how many expired records Sweep removes per store call.
	// Zero means DefaultSweepBatch.
	SweepBatch int
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Legacy, if set, lets sessions of the original implementation (plain
	// session ids) be used and adopts each one the first time it is seen.
	// It implies LegacyIDs.
	Legacy Legacy
	// LegacyIDs makes the Manager accept ids of the original
	// implementation's form (letters, digits, '-' and '_', at most
	// MaxLegacyID bytes) besides its own tokens, and look them up by their
	// hash, where an adopted session lives. Set it on a store that holds
	// adopted sessions, even once nothing is left to adopt.
	LegacyIDs bool
}

// Manager enforces the rules of sessions over a Store: it mints tokens,
// hashes them, validates input and applies expiry. It is safe for
// concurrent use and holds no state of its own besides its settings.
type Manager struct {
	store  Store
	opts   Options
	legacy Legacy
}

var _ Service = (*Manager)(nil)

// New returns a Manager over store. It returns ErrInvalidInput if opts are
// inconsistent. A nil opts means all defaults.
func New(store Store, opts *Options) (*Manager, error) {
	if store == nil {
		return nil, invalid("store must not be nil")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Lifetime == 0 {
		o.Lifetime = DefaultLifetime
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.TouchInterval == 0 {
		o.TouchInterval = DefaultTouchInterval
		if o.IdleTimeout > 0 && o.IdleTimeout/2 < o.TouchInterval {
			o.TouchInterval = o.IdleTimeout / 2
		}
	}
	if o.TouchInterval < 0 {
		return nil, invalid("touch interval must be positive")
	}
	if o.IdleTimeout > 0 && o.TouchInterval >= o.IdleTimeout {
		return nil, invalid("touch interval (%v) must be shorter than the idle timeout (%v)", o.TouchInterval, o.IdleTimeout)
	}
	if o.SweepBatch == 0 {
		o.SweepBatch = DefaultSweepBatch
	}
	if o.SweepBatch < 0 {
		return nil, invalid("sweep batch must be positive")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Legacy != nil {
		o.LegacyIDs = true
	}
	return &Manager{store: store, opts: o, legacy: o.Legacy}, nil
}

// Settings returns the effective options, defaults filled in.
func (m *Manager) Settings() Options { return m.opts }

// now is the clock at millisecond precision, the finest every store keeps.
func (m *Manager) now() time.Time { return m.opts.Now().UTC().Truncate(time.Millisecond) }

// deadline returns the effective expiry for a session seen at seen whose
// absolute deadline is abs (zero: none).
func (m *Manager) deadline(seen, abs time.Time) time.Time {
	d := abs
	if m.opts.IdleTimeout > 0 {
		idle := seen.Add(m.opts.IdleTimeout)
		if d.IsZero() || idle.Before(d) {
			d = idle
		}
	}
	return d
}

func live(rec Record, now time.Time) bool {
	return rec.Expires.IsZero() || now.Before(rec.Expires)
}

func newToken() (string, Key) {
	var b [tokenBytes]byte
	rand.Read(b[:]) // never returns an error; crashes the program if the OS fails
	tok := tokenEncoding.EncodeToString(b[:])
	return tok, KeyOf(tok)
}

func newHandle() string {
	var b [12]byte
	rand.Read(b[:])
	return tokenEncoding.EncodeToString(b[:])
}

// Create mints a session for user with optional metadata.
func (m *Manager) Create(ctx context.Context, user string, md Metadata) (Session, error) {
	if err := ValidateUser(user); err != nil {
		return Session{}, err
	}
	if err := ValidateMetadata(md); err != nil {
		return Session{}, err
	}
	tok, key := newToken()
	rec := m.newRecord(key, user, md)
	if err := m.store.Create(ctx, rec); err != nil {
		return Session{}, fmt.Errorf("create session: %w", err)
	}
	return Session{Token: tok, Info: rec.Info()}, nil
}

// newRecord returns a fresh session record for user under key, starting
// now.
func (m *Manager) newRecord(key Key, user string, md Metadata) Record {
	now := m.now()
	var abs time.Time
	if m.opts.Lifetime > 0 {
		abs = now.Add(m.opts.Lifetime)
	}
	rec := Record{
		Key:             key,
		Handle:          newHandle(),
		User:            user,
		Created:         now,
		LastSeen:        now,
		Expires:         m.deadline(now, abs),
		AbsoluteExpires: abs,
	}
	if len(md) > 0 {
		rec.Metadata = maps.Clone(md)
	}
	return rec
}

// key returns the key a presented token is stored under, or false for
// anything that cannot be a token, which is answered without the store.
func (m *Manager) key(token string) (Key, bool) {
	if validToken(token) || m.opts.LegacyIDs && legacyID(token) {
		return KeyOf(token), true
	}
	return Key{}, false
}

// adoptable reports whether a token missing from the store may still be a
// legacy session waiting for adoption.
func (m *Manager) adoptable(token string) bool {
	return m.legacy != nil && !validToken(token)
}

// find returns the stored record a token stands for, expired or not,
// adopting a legacy session on the way.
func (m *Manager) find(ctx context.Context, token string) (Key, Record, error) {
	key, ok := m.key(token)
	if !ok {
		return key, Record{}, ErrNotFound
	}
	rec, err := m.store.Get(ctx, key)
	if errors.Is(err, ErrNotFound) && m.adoptable(token) {
		if err := m.adopt(ctx, token, key); err != nil {
			return key, Record{}, err
		}
		rec, err = m.store.Get(ctx, key)
	}
	return key, rec, err
}

// adopt claims the legacy session id and stores it under its hash. The
// claim comes first so that no interleaving of processes can bring back a
// session that was adopted and then logged out; a crash between claim and
// store logs that one user out, which is the safe side.
func (m *Manager) adopt(ctx context.Context, id string, key Key) error {
	user, err := m.legacy.TakeLegacy(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil // never a session, or a concurrent caller adopted it
	}
	if err != nil {
		return err
	}
	rec := m.newRecord(key, user, Metadata{"adopted": "legacy"})
	if err := m.store.Create(ctx, rec); err != nil && !errors.Is(err, ErrExists) {
		return fmt.Errorf("adopt legacy session: %w", err)
	}
	return nil
}

// Adopt converts the legacy session with plain id id into a hashed record,
// as a lookup would. It returns ErrNotFound if there is no such session or
// no Legacy is configured.
func (m *Manager) Adopt(ctx context.Context, id string) error {
	if m.legacy == nil {
		return ErrNotFound
	}
	_, _, err := m.find(ctx, id)
	return err
}

// Lookup returns the live session a token stands for. Every
// TouchInterval at most, it also moves the session's idle deadline.
func (m *Manager) Lookup(ctx context.Context, token string) (Info, error) {
	key, rec, err := m.find(ctx, token)
	if err != nil {
		return Info{}, err
	}
	now := m.now()
	if !live(rec, now) {
		return Info{}, ErrNotFound
	}
	if m.opts.IdleTimeout > 0 && now.Sub(rec.LastSeen) >= m.opts.TouchInterval {
		exp := m.deadline(now, rec.AbsoluteExpires)
		if err := m.store.Touch(ctx, key, now, exp); err != nil {
			return Info{}, err
		}
		rec.LastSeen, rec.Expires = now, exp
	}
	return rec.Info(), nil
}

// User returns the user a token stands for: the concept's _getUser.
func (m *Manager) User(ctx context.Context, token string) (string, error) {
	info, err := m.Lookup(ctx, token)
	return info.User, err
}

// Delete ends the session a token stands for: the concept's delete and
// logout. An expired session is removed too, but reported as ErrNotFound.
func (m *Manager) Delete(ctx context.Context, token string) error {
	key, ok := m.key(token)
	if !ok {
		return ErrNotFound
	}
	rec, err := m.store.Delete(ctx, key)
	if errors.Is(err, ErrNotFound) && m.adoptable(token) {
		if err := m.adopt(ctx, token, key); err != nil {
			return err
		}
		rec, err = m.store.Delete(ctx, key)
	}
	if err != nil {
		return err
	}
	if !live(rec, m.now()) {
		return ErrNotFound
	}
	return nil
}

// Rotate gives the session a new token; the old one stops working at once.
func (m *Manager) Rotate(ctx context.Context, token string) (Session, error) {
	key, rec, err := m.find(ctx, token)
	if err != nil {
		return Session{}, err
	}
	now := m.now()
	if !live(rec, now) {
		return Session{}, ErrNotFound
	}
	tok, newKey := newToken()
	rec.Key = newKey
	rec.LastSeen = now
	rec.Expires = m.deadline(now, rec.AbsoluteExpires)
	if err := m.store.Replace(ctx, key, rec); err != nil {
		return Session{}, fmt.Errorf("rotate session: %w", err)
	}
	return Session{Token: tok, Info: rec.Info()}, nil
}

// List returns user's live sessions, oldest first.
func (m *Manager) List(ctx context.Context, user string) ([]Info, error) {
	if err := ValidateUser(user); err != nil {
		return nil, err
	}
	recs, err := m.store.ListUser(ctx, user)
	if err != nil {
		return nil, err
	}
	now := m.now()
	out := make([]Info, 0, len(recs))
	for _, r := range recs {
		if live(r, now) {
			out = append(out, r.Info())
		}
	}
	slices.SortFunc(out, func(a, b Info) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Handle, b.Handle))
	})
	return out, nil
}

// Revoke ends user's session with the given handle.
func (m *Manager) Revoke(ctx context.Context, user, handle string) error {
	if err := ValidateUser(user); err != nil {
		return err
	}
	if err := ValidateHandle(handle); err != nil {
		return err
	}
	rec, err := m.store.DeleteHandle(ctx, user, handle)
	if err != nil {
		return err
	}
	if !live(rec, m.now()) {
		return ErrNotFound
	}
	return nil
}

// RevokeAll ends every session of user ("log out everywhere") and returns
// how many live sessions it ended.
func (m *Manager) RevokeAll(ctx context.Context, user string) (int, error) {
	if err := ValidateUser(user); err != nil {
		return 0, err
	}
	recs, err := m.store.DeleteUser(ctx, user)
	if err != nil {
		return 0, err
	}
	now := m.now()
	n := 0
	for _, r := range recs {
		if live(r, now) {
			n++
		}
	}
	return n, nil
}

// Sweep removes every expired record, in batches of SweepBatch so that
// lookups proceed between them, and returns how many it removed.
func (m *Manager) Sweep(ctx context.Context) (int, error) {
	now := m.now()
	total := 0
	for {
		n, err := m.store.DeleteExpired(ctx, now, m.opts.SweepBatch)
		total += n
		if err != nil || n < m.opts.SweepBatch {
			return total, err
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// RunSweeper calls Sweep every interval until ctx is done, passing each
// result to report (which may be nil). It returns when ctx is done.
func (m *Manager) RunSweeper(ctx context.Context, interval time.Duration, report func(n int, err error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := m.Sweep(ctx)
			if report != nil && ctx.Err() == nil {
				report(n, err)
			}
		}
	}
}

// Ready reports whether the store is reachable.
func (m *Manager) Ready(ctx context.Context) error { return m.store.Ping(ctx) }

// Count returns the number of stored sessions, including expired ones not
// yet swept; it may be an estimate.
func (m *Manager) Count(ctx context.Context) (int64, error) { return m.store.Count(ctx) }
