package sessioning

import (
	"context"
	"time"
)

// Metadata is caller-supplied, non-secret information kept with a session,
// such as the user agent and address it was created from. See
// [MaxMetadataEntries], [MaxMetadataKey] and [MaxMetadataValue] for the
// bounds.
type Metadata map[string]string

// Info describes a live session without its token. Handle identifies the
// session to its owner (to list and revoke it) but cannot be used to act
// as that session.
type Info struct {
	Handle   string    `json:"handle"`
	User     string    `json:"user"`
	Created  time.Time `json:"created"`
	LastSeen time.Time `json:"lastSeen"`
	// Expires is when the session ends unless it is used again: the
	// earlier of its absolute and idle deadlines. Zero means never.
	Expires  time.Time `json:"expires,omitzero"`
	Metadata Metadata  `json:"metadata,omitempty"`
}

// Session is a newly minted session: its Info and the secret Token that
// acts as it. The token is returned only here; the store keeps its hash.
type Session struct {
	Token string `json:"session"`
	Info
}

// Service is the set of session operations. *Manager implements it in
// process; the client package implements it against a remote sessiond, so
// an application can switch between the two by configuration.
type Service interface {
	// Create mints a session for user. Metadata may be nil.
	Create(ctx context.Context, user string, md Metadata) (Session, error)
	// Lookup returns the live session a token stands for, or ErrNotFound.
	Lookup(ctx context.Context, token string) (Info, error)
	// Delete ends the session a token stands for (logout), or returns
	// ErrNotFound if there is no live one.
	Delete(ctx context.Context, token string) error
	// Rotate gives the session a new token; the old one stops working at
	// once. The handle, user, metadata and creation time are kept.
	Rotate(ctx context.Context, token string) (Session, error)
	// List returns user's live sessions, oldest first.
	List(ctx context.Context, user string) ([]Info, error)
	// Revoke ends user's session with the given handle, or returns
	// ErrNotFound if user has no live session with that handle.
	Revoke(ctx context.Context, user, handle string) error
	// RevokeAll ends every session of user and returns how many live
	// sessions it ended.
	RevokeAll(ctx context.Context, user string) (int, error)
}
