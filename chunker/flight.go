package chunker

import (
	"context"
	"sync"
	"unsafe"
)

// A flight is one chunk being read from the origin to be cached, shared by
// every request that misses that chunk while it is read and until it is in
// Redis. Its readers get the bytes as they arrive (stream while filling): a
// cold seek's first byte waits for the origin's first read, not for the
// whole chunk.
//
// Flights are found in Cache.flights by chunk key. x/sync/singleflight,
// which coalesced misses before, shares only a finished result; here the
// readers need a value that grows while they read it, and the chunk must
// stay findable after the read, until its write to Redis lands (groupcache
// and the earlier "pending" map kept it for the same reason).
//
// buf is written by the flight's reader goroutine only, in order; a byte
// below n (read under mu) is never written again, so readers use buf[:n]
// without the lock. Once done without error, buf is immutable for good and
// is shared, without a copy, with the local tier and the Redis write.
type flight struct {
	key  string
	off  int64  // file offset of the chunk's first byte
	buf  []byte // the chunk
	held int64  // bytes of the in-flight budget taken for buf
	src  source // srcDisk, or srcRedis when another writer had cached it
	// leased: this instance holds the chunk's fill lease (lease.go),
	// released by the write or, when the chunk will not be written, by
	// Cache.releaseLease. Set before the read; read after it.
	leased bool

	mu   sync.Mutex    // protects the fields below
	n    int           // bytes of buf read so far
	err  error         // why the read failed; set with done
	done bool          // n is final
	wake chan struct{} // closed (and replaced) when n, err or done change
	refs int           // pieces reading buf, plus one for the flight itself until it is written or dropped
}

func newFlight(key string, off int64, size int64, held int64) *flight {
	return &flight{key: key, off: off, buf: make([]byte, size), held: held, src: srcDisk, wake: make(chan struct{}), refs: 1}
}

// advance publishes m more bytes of buf. Only the flight's reader calls it.
func (fl *flight) advance(m int) {
	fl.mu.Lock()
	fl.n += m
	close(fl.wake)
	fl.wake = make(chan struct{})
	fl.mu.Unlock()
}

// finish ends the read, with err when it failed.
func (fl *flight) finish(err error) {
	fl.mu.Lock()
	fl.err, fl.done = err, true
	close(fl.wake)
	fl.wake = make(chan struct{})
	fl.mu.Unlock()
}

// wait returns the bytes of buf read so far, once there are more than have
// (or the read has ended). It returns the read's error when no more bytes
// will come, and ctx's when the caller stops waiting first.
func (fl *flight) wait(ctx context.Context, have int) ([]byte, error) {
	for {
		fl.mu.Lock()
		n, err, done, wake := fl.n, fl.err, fl.done, fl.wake
		fl.mu.Unlock()
		switch {
		case n > have:
			return fl.buf[:n], nil
		case err != nil:
			return fl.buf[:n], err
		case done:
			return fl.buf[:n], nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return fl.buf[:n], ctx.Err()
		}
	}
}

// data returns the finished chunk as a string, without a copy. Only for a
// flight that is ok.
func (fl *flight) data() string { return unsafe.String(unsafe.SliceData(fl.buf), len(fl.buf)) }

// ref adds a reader of buf.
func (fl *flight) ref() {
	fl.mu.Lock()
	fl.refs++
	fl.mu.Unlock()
}

// unref drops a reader of buf (or the flight's own reference) and reports
// whether it was the last, so that the caller returns buf's budget.
func (fl *flight) unref() bool {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.refs--
	return fl.refs == 0
}
