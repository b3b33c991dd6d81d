package sessioning

import "errors"

// The errors every layer speaks. Stores and clients translate their own
// failures into these at the edge and wrap them with %w; callers test with
// errors.Is.
var (
	// ErrNotFound means the session does not exist: it was never created,
	// it was deleted, it expired, or the token is malformed. The message
	// never contains the token.
	ErrNotFound = errors.New("session not found")

	// ErrInvalidInput means a caller passed a value that breaks a rule
	// (an empty user, oversized metadata, …). It is always wrapped with a
	// message that says which rule. Nothing was changed.
	ErrInvalidInput = errors.New("invalid input")

	// ErrExists is returned by a Store when a record's key is already
	// taken. With 256-bit random tokens the Manager never sees it in
	// practice; it exists so that stores have a defined answer.
	ErrExists = errors.New("session key already exists")

	// ErrUnavailable means the store could not be reached or failed; the
	// operation may or may not have happened and can be retried.
	ErrUnavailable = errors.New("session store unavailable")

	// ErrClosed is returned by a Store used after Close.
	ErrClosed = errors.New("session store closed")

	// ErrUnauthorized is returned by a remote client when the service
	// refused its service credential.
	ErrUnauthorized = errors.New("unauthorized")
)
