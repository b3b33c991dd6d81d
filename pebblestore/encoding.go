package pebblestore

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

var errCorrupt = errors.New("pebblestore: corrupt record")

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// encode appends rec's value (everything but its key) to buf.
func encode(buf []byte, rec *sessioning.Record) []byte {
	var flags byte
	if !rec.Expires.IsZero() {
		flags |= flagExpires
	}
	if !rec.AbsoluteExpires.IsZero() {
		flags |= flagAbsolute
	}
	c := ms(rec.Created)
	buf = append(buf, encVersion, flags)
	buf = binary.AppendVarint(buf, c)
	buf = binary.AppendVarint(buf, ms(rec.LastSeen)-c)
	if flags&flagExpires != 0 {
		buf = binary.AppendVarint(buf, ms(rec.Expires)-c)
	}
	if flags&flagAbsolute != 0 {
		buf = binary.AppendVarint(buf, ms(rec.AbsoluteExpires)-c)
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

// decode reads the value stored under key. The result shares no memory
// with v.
func decode(key []byte, v []byte) (sessioning.Record, error) {
	var rec sessioning.Record
	if len(v) < 2 || v[0] != encVersion || len(key) != len(rec.Key) {
		return rec, errCorrupt
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
		return sessioning.Record{}, errCorrupt
	}
	if n > 0 {
		rec.Metadata = make(sessioning.Metadata, n)
		for range n {
			k := d.string()
			rec.Metadata[k] = d.string()
		}
	}
	if d.bad || len(d.b) != 0 {
		return sessioning.Record{}, errCorrupt
	}
	return rec, nil
}

// userKey is the user index entry of a record: the user's length and
// bytes, then the record key. The length prefix makes one user's entries
// a contiguous range that no other user's entries share.
func userKey(buf []byte, user string, key sessioning.Key) []byte {
	buf = userPrefix(buf, user)
	return append(buf, key[:]...)
}

func userPrefix(buf []byte, user string) []byte {
	return appendString(buf, user)
}

// expiryKey is the expiry index entry of a record: its deadline as
// big-endian milliseconds with the sign bit flipped (so byte order is time
// order), then the record key.
func expiryKey(buf []byte, at time.Time, key sessioning.Key) []byte {
	buf = binary.BigEndian.AppendUint64(buf, uint64(ms(at))^(1<<63))
	return append(buf, key[:]...)
}
