// Package recordenc is the byte layout of session records and their index
// keys, shared by the key-value stores (pebblestore, and the bbolt store
// kept for comparison in bench/engines).
package recordenc

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/sessioning/sessioning"
)

// Record values are a compact binary encoding, about 60 bytes plus user,
// handle and metadata, so that a million sessions stay well under the disk
// budget:
//
//	version  byte (1)
//	flags    byte: bit 0 Expires set, bit 1 AbsoluteExpires set
//	varint   Created, Unix milliseconds
//	varint   LastSeen − Created, milliseconds
//	varint   Expires − Created (if set)
//	varint   AbsoluteExpires − Created (if set)
//	string   Handle, User (uvarint length, bytes)
//	uvarint  number of metadata entries, then key and value strings
//
// Times are kept at millisecond precision, like every store.
const encVersion = 1

const (
	flagExpires = 1 << iota
	flagAbsolute
)

// ErrCorrupt is returned by Decode for a value it cannot read.
var ErrCorrupt = errors.New("corrupt session record")

// MS is t in Unix milliseconds, the precision every store keeps.
func MS(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// Encode appends rec's value (everything but its key) to buf.
func Encode(buf []byte, rec *sessioning.Record) []byte {
	var flags byte
	if !rec.Expires.IsZero() {
		flags |= flagExpires
	}
	if !rec.AbsoluteExpires.IsZero() {
		flags |= flagAbsolute
	}
	c := MS(rec.Created)
	buf = append(buf, encVersion, flags)
	buf = binary.AppendVarint(buf, c)
	buf = binary.AppendVarint(buf, MS(rec.LastSeen)-c)
	if flags&flagExpires != 0 {
		buf = binary.AppendVarint(buf, MS(rec.Expires)-c)
	}
	if flags&flagAbsolute != 0 {
		buf = binary.AppendVarint(buf, MS(rec.AbsoluteExpires)-c)
	}
	buf = appendString(buf, rec.Handle)
	buf = appendString(buf, rec.User)
	buf = binary.AppendUvarint(buf, uint64(len(rec.Metadata)))
	for k, v := range rec.Metadata {
		buf = appendString(buf, k)
		buf = appendString(buf, v)
	}
	return buf
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// decoder reads a value; the first failure sticks.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.bad, d.b = true, nil
		return ""
	}
	s := string(d.b[:n]) // copies: the value belongs to the transaction
	d.b = d.b[n:]
	return s
}

// Decode reads the value stored under key. The result shares no memory
// with v.
func Decode(key []byte, v []byte) (sessioning.Record, error) {
	var rec sessioning.Record
	if len(v) < 2 || v[0] != encVersion || len(key) != len(rec.Key) {
		return rec, ErrCorrupt
	}
	copy(rec.Key[:], key)
	flags := v[1]
	d := decoder{b: v[2:]}
	c := d.varint()
	rec.Created = fromMS(c)
	rec.LastSeen = fromMS(c + d.varint())
	if flags&flagExpires != 0 {
		rec.Expires = fromMS(c + d.varint())
	}
	if flags&flagAbsolute != 0 {
		rec.AbsoluteExpires = fromMS(c + d.varint())
	}
	rec.Handle = d.string()
	rec.User = d.string()
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return sessioning.Record{}, ErrCorrupt
	}
	if n > 0 {
		rec.Metadata = make(sessioning.Metadata, n)
		for range n {
			k := d.string()
			rec.Metadata[k] = d.string()
		}
	}
	if d.bad || len(d.b) != 0 {
		return sessioning.Record{}, ErrCorrupt
	}
	return rec, nil
}

// UserKey is the user index entry of a record: the user's length and
// bytes, then the record key. The length prefix makes one user's entries
// a contiguous range that no other user's entries share.
func UserKey(buf []byte, user string, key sessioning.Key) []byte {
	buf = UserPrefix(buf, user)
	return append(buf, key[:]...)
}

// UserPrefix is the start every user index entry of user shares.
func UserPrefix(buf []byte, user string) []byte {
	return appendString(buf, user)
}

// ExpiryKey is the expiry index entry of a record: its deadline as
// big-endian milliseconds with the sign bit flipped (so byte order is time
// order), then the record key.
func ExpiryKey(buf []byte, at time.Time, key sessioning.Key) []byte {
	buf = binary.BigEndian.AppendUint64(buf, uint64(MS(at))^(1<<63))
	return append(buf, key[:]...)
}

// ExpiryTime reads the deadline of an expiry index entry.
func ExpiryTime(k []byte) int64 {
	return int64(binary.BigEndian.Uint64(k) ^ (1 << 63))
}
