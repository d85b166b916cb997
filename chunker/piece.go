package chunker

import (
	"os"
)

// source says where a piece's bytes came from.
type source uint8

const (
	srcOrigin source = iota
	srcRedis
	srcLocal
)

// piece is where the file's bytes [lo, hi) come from, all within one chunk:
// data holds them (a Redis window, a flight's buffer), or file does (the
// local tier's chunk file, or the origin's own file, whose byte 0 is the
// file's byte base), or neither, and they are read from a remote origin
// as they are written (direct.go).
type piece struct {
	lo, hi int64
	src    source
	data   []byte
	file   *os.File
	base   int64
	own    bool // file is the piece's own descriptor: release closes it
}

// release closes the piece's own descriptor, if it has one.
func (pc piece) release() {
	if pc.own {
		pc.file.Close()
	}
}

// piece returns where the bytes at off come from, for a read that ends at
// end, deciding in this order:
//
//  0. the flight the File last read from, while off is in its chunk;
//  1. the Redis window at hand;
//  2. the local tier's file of the chunk;
//  3. a flight already reading the chunk from the origin (shared);
//  4. Redis, in a new window (which also fills the local tier with the
//     chunks it wants, and reads the next window ahead);
//  5. the origin (miss.go): a new flight when the chunk will be cached,
//     else a direct read of just these bytes.
//
// A slow client (ww says its socket is full) is waited for before bytes
// are fetched into memory for it, so that a thousand slow viewers hold no
// chunk data while their sockets drain. f.mu must be held.
func (f *File) piece(off, end int64, ww writableWaiter) (piece, error) {
	if fl := f.fl; fl != nil && off >= fl.off && off < fl.off+fl.n {
		// The flight this File reads from: it still holds the chunk, even
		// once it has left Cache.flights.
		return f.flightPiece(fl, off)
	}
	i := f.geo.Index(off)
	if f.win.contains(off) {
		if pc, ok := f.windowPiece(off); ok {
			return pc, nil
		}
		// The window asked Redis and the chunk was not there; a flight
		// may have put it in the local tier since.
		if pc, ok := f.localPiece(i, off, true); ok {
			return pc, nil
		}
		return f.miss(off, end, ww)
	}
	if pc, ok := f.localPiece(i, off, true); ok {
		return pc, nil
	}
	if fl := f.c.refFlight(f.keyOrEmpty(i)); fl != nil {
		f.useFlight(fl)
		return f.flightPiece(fl, off)
	}
	if err := f.waitWritable(ww); err != nil {
		return piece{}, err
	}
	if f.useRedis() {
		if err := f.load(off, 0); err != nil {
			return piece{}, err
		}
		if pc, ok := f.windowPiece(off); ok {
			return pc, nil
		}
	}
	return f.miss(off, end, ww)
}

// localPiece returns the local tier's file of chunk i, from off on, when
// the tier holds it (counted as a local hit when hit is set). f.mu must be
// held.
func (f *File) localPiece(i, off int64, hit bool) (piece, bool) {
	if f.c.local == nil || f.mode != readNormal {
		return piece{}, false
	}
	fd, ok := f.c.local.Open(f.Key(i))
	if !ok {
		return piece{}, false
	}
	if hit {
		f.c.stats.localHits.Add(1)
	}
	cs, ce := f.geo.Bounds(i)
	return piece{lo: off, hi: ce, src: srcLocal, file: fd, base: cs, own: true}, true
}

// keyOrEmpty returns the key of chunk i, or "" when the cache is off.
func (f *File) keyOrEmpty(i int64) string {
	if f.c.store == nil {
		return ""
	}
	return f.Key(i)
}

// useRedis reports whether this File may ask Redis now. f.mu must be held.
// A prewarm's File does not read windows: its misses' flights ask Redis
// again anyway (miss.go), and what it reads it only writes.
func (f *File) useRedis() bool {
	return f.c.store != nil && f.mode == readNormal && !f.skip.skipping() && f.c.store.Available()
}

// waitWritable waits until a slow client's socket has room, letting go of
// the bytes the File holds meanwhile: the Redis window and read-ahead (what
// is left of the window is fetched again, smaller), the flight it read
// from and the scratch buffer.
// f.mu must be held.
func (f *File) waitWritable(ww writableWaiter) error {
	if ww == nil || ww.Writable() {
		return nil
	}
	f.slow = true
	f.dropPrefetch()
	f.releaseScratch()
	f.releaseWindow()
	f.dropFlight()
	f.winSize = minWindow
	if err := ww.WaitWritable(); err != nil {
		return errWrite(err)
	}
	return nil
}

// afterWrite lets go of the window once its last byte is written: nothing
// holds it any more. f.mu must be held.
func (f *File) afterWrite(off int64) {
	if off == f.win.end {
		f.releaseWindow()
	}
}

// writableWaiter is a writer that can wait until a write would not block:
// the stream handler's response over a socket.
type writableWaiter interface {
	// Writable reports whether a write would not block now.
	Writable() bool
	// WaitWritable returns once a write would not block (or would fail).
	WaitWritable() error
}
