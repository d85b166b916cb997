package chunker

import (
	"context"
	"sync"
)

// A flight is one chunk being read from the origin to be cached, shared by
// every request that misses that chunk while it is read and until it is in
// Redis. Its readers get the bytes as they arrive (stream while filling): a
// cold seek's first byte waits for the origin's first read, not for the
// whole chunk.
//
// A flight started by a seek far into its chunk reads the chunk from the
// seek's offset to its end first, then from its start to the seek (two
// origin reads, each byte once), so that the seek's first byte does not
// wait for the bytes before it (issue 21 item 5: with 16 MiB chunks and a
// slow origin, a seek near a chunk's end waited seconds for its prefix).
//
// Flights are found in Cache.flights by chunk key. x/sync/singleflight
// shares only a finished result; here the readers need a value that grows
// while they read it, and the chunk must stay findable after the read,
// until its write to Redis lands (groupcache keeps its "pending" entries
// for the same reason).
//
// The chunk is read into view, written by the flight's reader goroutine
// only; a byte readable (see avail) is never written again, so readers use
// it without the lock. Once done without error, view is immutable and is
// shared, without a copy, with the local tier and the Redis write.
type flight struct {
	key   string
	off   int64   // file offset of the chunk's first byte
	n     int64   // the chunk's length
	buf   *[]byte // from the cache's pool: the sealed value's room (header, then the chunk)
	hl    int64   // header length: view is (*buf)[hl : hl+n] while buf is set
	view  []byte  // the chunk's bytes
	first int64   // the chunk offset the read starts at
	held  int64   // bytes of the in-flight budget taken for buf
	src   source  // srcOrigin, or srcRedis when another writer had cached it
	mode  readMode
	// writeErr is why a synchronous write of the chunk failed; set before
	// the chunk's bytes are published (finishAll), read after.
	writeErr error
	// leased: this instance holds the chunk's fill lease (store/lease.go),
	// released by the write or, when the chunk will not be written, by
	// Cache.releaseLease. Set before the read; read after it.
	leased bool

	mu    sync.Mutex    // protects the fields below
	a, b  int64         // bytes read: [first, first+a), then [0, b)
	err   error         // why the read failed; set with done
	done  bool          // the read has ended
	wake  chan struct{} // closed (and replaced) when a, b, err or done change
	refs  int           // readers holding view, plus one for the flight itself until it is written or dropped
	local bool          // a second request wanted the chunk: keep it in the local tier
}

// avail returns how many bytes from chunk offset x on are readable. fl.mu
// must be held.
func (fl *flight) avail(x int64) int64 {
	if x >= fl.first {
		return max(0, fl.first+fl.a-x)
	}
	return max(0, min(fl.b, fl.first)-x)
}

// advance publishes m more bytes read. Only the flight's reader calls it.
func (fl *flight) advance(m int64) {
	fl.mu.Lock()
	if fl.first+fl.a < fl.n {
		fl.a += m
	} else {
		fl.b += m
	}
	fl.signal()
	fl.mu.Unlock()
}

// finish ends the read, with err when it failed.
func (fl *flight) finish(err error) {
	fl.mu.Lock()
	fl.err, fl.done = err, true
	fl.signal()
	fl.mu.Unlock()
}

// finishAll ends the read with the whole chunk in view at once (it came
// from Redis).
func (fl *flight) finishAll() {
	fl.mu.Lock()
	fl.first, fl.a, fl.b = 0, fl.n, 0
	fl.done = true
	fl.signal()
	fl.mu.Unlock()
}

// signal wakes the waiters. fl.mu must be held.
func (fl *flight) signal() {
	close(fl.wake)
	fl.wake = make(chan struct{})
}

// wait returns the bytes readable from chunk offset x on, once there is at
// least one (or the read has ended). It returns the read's error when no
// more bytes will come, and ctx's when the caller stops waiting first.
func (fl *flight) wait(ctx context.Context, x int64) ([]byte, error) {
	for {
		fl.mu.Lock()
		k, err, done, wake := fl.avail(x), fl.err, fl.done, fl.wake
		fl.mu.Unlock()
		switch {
		case k > 0:
			return fl.view[x : x+k], nil
		case err != nil:
			return nil, err
		case done:
			return nil, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// complete reports whether the whole chunk has been read without error.
func (fl *flight) complete() bool {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.done && fl.err == nil
}

// ref adds a reader of view.
func (fl *flight) ref() {
	fl.mu.Lock()
	fl.refs++
	fl.mu.Unlock()
}

// unref drops a reader of view (or the flight's own reference) and reports
// whether it was the last, so that the caller returns the buffer.
func (fl *flight) unref() bool {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.refs--
	return fl.refs == 0
}

// wantLocal records that the local tier should keep the chunk once read.
func (fl *flight) wantLocal() {
	fl.mu.Lock()
	fl.local = true
	fl.mu.Unlock()
}

func (fl *flight) keepLocal() bool {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.local
}
