package boltstore

import (
	"context"
	"errors"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"

	"github.com/sessioning/sessioning"
)

// Group commit.
//
// bbolt runs one write transaction at a time and syncs the file twice per
// commit, so committing each write on its own caps a store at a few
// thousand durable writes per second however many callers there are. Here
// every write is queued, and whoever holds the commit slot (a one-token
// semaphore) takes everything queued so far and commits it as one
// transaction: all the writes that arrived while the previous commit was
// syncing share the next sync. There is no timer and no background
// goroutine: the committer is always one of the waiting callers, and a
// caller whose write was committed by another simply returns.
//
// Each write is a function over the transaction that either fails with an
// expected error (ErrExists, ErrNotFound) before changing anything, or
// succeeds; its result is its own, so one failing Create does not fail the
// others in the same transaction. If a write fails unexpectedly the batch
// is rolled back and every write of it is retried in a transaction of its
// own.

// op states: a queued op is claimed by the committer that runs it, or
// cancelled by its caller whose ctx ended first — never both.
const (
	opQueued int32 = iota
	opClaimed
	opCancelled
)

type op struct {
	fn    func(*txn) error
	state atomic.Int32
	err   error
	done  chan struct{} // closed once err is set
}

// write runs fn in a durable write transaction shared with whatever other
// writes are queued, and returns fn's result once the transaction is on
// disk.
func (s *Store) write(ctx context.Context, fn func(*txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &op{fn: fn, done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return sessioning.ErrClosed
	}
	s.queue = append(s.queue, o)
	s.mu.Unlock()

	select {
	case <-o.done:
	case s.slot <- struct{}{}:
		// Our op is either done by the previous committer or still queued,
		// in which case this commit runs it.
		select {
		case <-o.done:
		default:
			s.commitQueued()
		}
		<-s.slot
	case <-ctx.Done():
		if o.state.CompareAndSwap(opQueued, opCancelled) {
			return ctx.Err()
		}
		<-o.done // a committer has it
	}
	<-o.done
	return o.err
}

// commitQueued commits every queued op in one transaction. The caller
// holds the commit slot.
func (s *Store) commitQueued() {
	s.mu.Lock()
	queued := s.queue
	s.queue = nil
	s.mu.Unlock()

	batch := queued[:0]
	for _, o := range queued {
		if o.state.CompareAndSwap(opQueued, opClaimed) {
			batch = append(batch, o)
		}
	}
	if len(batch) == 0 {
		return
	}
	s.commits.Add(1)
	s.batched.Add(int64(len(batch)))
	var failed *op
	err := s.db.Update(func(tx *bolt.Tx) error {
		t := newTxn(tx)
		for _, o := range batch {
			o.err = o.fn(t)
			if o.err != nil && !expected(o.err) {
				failed = o
				return o.err
			}
		}
		return t.finish()
	})
	switch {
	case err == nil:
	case failed != nil && len(batch) > 1:
		for _, o := range batch {
			s.commitOne(o)
		}
	case failed != nil:
		// o.err is already the op's own failure.
	default:
		for _, o := range batch {
			o.err = unavailable(err)
		}
	}
	for _, o := range batch {
		close(o.done)
	}
}

// commitOne runs o in a transaction of its own.
func (s *Store) commitOne(o *op) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		t := newTxn(tx)
		if o.err = o.fn(t); o.err != nil {
			return o.err
		}
		return t.finish()
	})
	if err != nil && o.err == nil {
		o.err = unavailable(err) // the commit itself failed
	}
}

// expected reports whether err is an op's ordinary answer, given before
// the op changed anything.
func expected(err error) bool {
	return errors.Is(err, sessioning.ErrExists) || errors.Is(err, sessioning.ErrNotFound)
}
