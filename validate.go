package sessioning

import (
	"encoding/base64"
	"fmt"
	"unicode/utf8"
)

// Bounds on input. Anything beyond them is ErrInvalidInput.
const (
	MaxUser            = 512  // bytes in a user id
	MaxMetadataEntries = 16   // keys in a session's metadata
	MaxMetadataKey     = 64   // bytes in a metadata key
	MaxMetadataValue   = 1024 // bytes in a metadata value
	MaxHandle          = 64   // bytes in a handle
	MaxLegacyID        = 128  // bytes in a legacy (plain-text) session id
)

// tokenBytes is the entropy of a token; tokenLen its length as text.
const (
	tokenBytes = 32
	tokenLen   = 43 // base64.RawURLEncoding.EncodedLen(tokenBytes)
)

var tokenEncoding = base64.RawURLEncoding.Strict()

// validToken reports whether s can be a token minted by this package,
// without looking it up.
func validToken(s string) bool {
	if len(s) != tokenLen {
		return false
	}
	var buf [tokenBytes]byte
	n, err := tokenEncoding.Decode(buf[:], []byte(s))
	return err == nil && n == tokenBytes
}

// legacyID reports whether s can be a session id of the original
// implementation (a UUID there; any short id of URL-safe characters here).
func legacyID(s string) bool {
	if s == "" || len(s) > MaxLegacyID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidInput}, args...)...)
}

// ValidateUser returns ErrInvalidInput unless user is a non-empty UTF-8
// string of at most MaxUser bytes.
func ValidateUser(user string) error {
	switch {
	case user == "":
		return invalid("user must be a non-empty string")
	case len(user) > MaxUser:
		return invalid("user must be at most %d bytes, got %d", MaxUser, len(user))
	case !utf8.ValidString(user):
		return invalid("user must be valid UTF-8")
	}
	return nil
}

// ValidateHandle returns ErrInvalidInput unless handle is a non-empty
// string of at most MaxHandle bytes.
func ValidateHandle(handle string) error {
	switch {
	case handle == "":
		return invalid("handle must be a non-empty string")
	case len(handle) > MaxHandle:
		return invalid("handle must be at most %d bytes", MaxHandle)
	}
	return nil
}

// ValidateMetadata returns ErrInvalidInput unless md is within the bounds:
// at most MaxMetadataEntries entries, non-empty keys of at most
// MaxMetadataKey bytes, values of at most MaxMetadataValue bytes, all
// valid UTF-8.
func ValidateMetadata(md Metadata) error {
	if len(md) > MaxMetadataEntries {
		return invalid("metadata must have at most %d entries, got %d", MaxMetadataEntries, len(md))
	}
	for k, v := range md {
		switch {
		case k == "":
			return invalid("metadata keys must be non-empty")
		case len(k) > MaxMetadataKey:
			return invalid("metadata key must be at most %d bytes", MaxMetadataKey)
		case !utf8.ValidString(k):
			return invalid("metadata keys must be valid UTF-8")
		case len(v) > MaxMetadataValue:
			return invalid("metadata value of %q must be at most %d bytes", k, MaxMetadataValue)
		case !utf8.ValidString(v):
			return invalid("metadata value of %q must be valid UTF-8", k)
		}
	}
	return nil
}
