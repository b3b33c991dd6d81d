// Package sessioning is the Sessioning concept of concept design, built for
// production: a user's logged-in state kept across requests without
// re-sending credentials.
//
// # The concept
//
// After a session is created for a user, that user can be retrieved
// through the session until it is deleted:
//
//	create(user) → session       Manager.Create
//	delete(session), logout      Manager.Delete
//	_getUser(session) → [user]   Manager.User (ErrNotFound for "no frames")
//
// # Beyond the original
//
// Tokens are 32 bytes from crypto/rand as unpadded base64url text. A Store
// keeps only Key, the SHA-256 of a token, so a leaked database or backup
// holds no usable session. A string that cannot be a token is answered with
// ErrNotFound without a store round trip.
//
// A session has an absolute lifetime and an idle timeout (Options). An
// expired session behaves exactly like a deleted one for every operation.
// A lookup writes the new idle deadline at most once per TouchInterval, so
// almost every lookup is a pure read.
//
// Each session also has a Handle: a non-secret name by which its owner can
// list it (Manager.List) and end it (Manager.Revoke) without its token.
// Manager.RevokeAll logs a user out everywhere; Manager.Rotate gives a
// session a new token after a privilege change.
//
// # Security model
//
// Whoever holds a token acts as its session: tokens travel in cookies,
// headers or request bodies, never in URLs, and this module never logs
// them or puts them in error messages. Whoever can call Create can
// impersonate any user, so services expose Create, List and RevokeAll only
// to trusted callers. Every input is validated (ValidateUser,
// ValidateMetadata); invalid input is ErrInvalidInput and changes nothing.
//
// # Storage
//
// Store is the contract every backend meets; storetest is the suite that
// checks it. memstore keeps sessions in memory, pebblestore on local disk
// with group-committed fsyncs, mongostore in MongoDB.
package sessioning
