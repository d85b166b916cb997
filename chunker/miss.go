package chunker

import (
	"context"
	"fmt"
	"io"
)

// flightStep is the most a flight reads from the origin before handing
// what it has to its readers.
const flightStep = 256 << 10

// miss returns the piece for the bytes at off when no cache tier holds its
// chunk:
//
//   - a chunk another request is reading, or that is on its way to Redis:
//     share that flight;
//   - a chunk that will be cached: start a flight that reads it whole from
//     the origin, streams it to its readers as it arrives, and then keeps
//     it in Redis (and the local tier, when a second request wanted it);
//   - otherwise (cache off, fill off, Redis failing for this request, a
//     file changed too recently to trust, min_uses not reached, no room in
//     the in-flight budget): only the bytes asked for, straight from the
//     origin (direct.go).
//
// f.mu must be held.
func (f *File) miss(off, end int64, ww writableWaiter) (piece, error) {
	c := f.c
	i := f.geo.Index(off)
	if c.store == nil {
		c.stats.misses.Add(1)
		return f.direct(off)
	}
	if f.win.err == errHedged && f.win.contains(off) {
		// Redis too slow for the response's first bytes (hedge.go):
		// the window's bytes from the origin's file; the next window
		// asks Redis again.
		c.stats.misses.Add(1)
		pc, err := f.direct(off)
		pc.hi = min(pc.hi, f.win.end)
		return pc, err
	}
	fl := c.refFlight(f.Key(i))
	if fl == nil {
		fl = f.startFlight(i, off)
	}
	if fl == nil {
		c.stats.misses.Add(1)
		return f.direct(off)
	}
	f.useFlight(fl)
	if err := f.waitWritable(ww); err != nil {
		return piece{}, err
	}
	return f.flightPiece(fl, off)
}

// startFlight starts the flight of chunk i, for a read that starts at off,
// when the chunk is to be cached, and returns it (or the flight another
// request started meanwhile) with a reference for the caller; nil when the
// chunk will not be cached. f.mu must be held.
func (f *File) startFlight(i, off int64) *flight {
	c := f.c
	key := f.Key(i)
	cs, ce := f.geo.Bounds(i)
	// The local tier keeps what a second request wants (the window may
	// have asked already); with fill off it is the only tier a miss fills.
	wantLocal := f.win.wanted(i) || c.local != nil && c.local.Wanted(key, f.id, true)
	keep := f.mode != readNormal || (!f.skip.skipping() && (c.fill != FillOff || wantLocal) && f.settled())
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	if fl, ok := c.flights[key]; ok {
		fl.ref()
		return fl
	}
	// cache.min_uses counts misses that would fill Redis; with fill off the
	// local tier's own doorkeeper (wantLocal) has decided.
	if !keep || f.mode == readNormal && c.fill != FillOff && !c.admit.admit(key, f.id) {
		return nil
	}
	buf, held, ok := c.takeBuffer(ce - cs)
	if !ok {
		return nil
	}
	fl := c.newFlight(key, cs, ce-cs, buf, held, f.mode)
	if off-cs >= flightStep && f.mode == readNormal && c.fill != FillSync {
		fl.first = off - cs // a seek far into the chunk: its bytes first
	}
	fl.local = wantLocal
	fl.refs++ // the caller's
	c.flights[key] = fl
	go c.run(fl, f.name, f.version)
	return fl
}

// useFlight makes fl, whose reference the caller passes on, the flight
// the File reads from, letting go of the one before. f.mu must be held.
func (f *File) useFlight(fl *flight) {
	if f.fl == fl {
		f.c.unrefFlight(fl) // already held: one reference is enough
		return
	}
	f.dropFlight()
	f.fl = fl
}

// flightPiece returns the bytes of f.fl readable from off on, waiting for
// at least one. f.mu must be held.
func (f *File) flightPiece(fl *flight, off int64) (piece, error) {
	b, err := fl.wait(f.ctx, off-fl.off)
	if werr := fl.writeErr; werr != nil && fl.mode != readNormal && len(b) > 0 {
		// A prewarm's chunk that could not be written (Redis full under
		// noeviction, say): the prewarm's failure. (writeErr is set
		// before the bytes are published.)
		return piece{}, werr
	}
	if len(b) == 0 {
		if err == nil {
			err = fmt.Errorf("read %s at %d: chunk ended early: %w", f.name, off, ErrChanged)
		}
		return piece{}, err
	}
	return piece{lo: off, hi: off + int64(len(b)), src: fl.src, data: b}, nil
}

// dropFlight lets go of the flight the File read from. f.mu must be held.
func (f *File) dropFlight() {
	if f.fl != nil {
		f.c.unrefFlight(f.fl)
		f.fl = nil
	}
}

// refFlight returns the flight of key with a reference for the caller, or
// nil. The reference is taken while the flight is findable, so its buffer
// cannot go back to the pool under the caller.
func (c *Cache) refFlight(key string) *flight {
	if key == "" {
		return nil
	}
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	fl := c.flights[key]
	if fl != nil {
		fl.ref()
	}
	return fl
}

// newFlight returns a flight for the chunk at key, of n bytes at file
// offset off, read into buf.
func (c *Cache) newFlight(key string, off, n int64, buf *[]byte, held int64, mode readMode) *flight {
	hl := c.store.Codec().HeaderLen(n)
	return &flight{
		key: key, off: off, n: n, buf: buf, hl: hl, view: (*buf)[hl : hl+n], held: held,
		src: srcOrigin, mode: mode, wake: make(chan struct{}), refs: 1,
	}
}

// run fills fl: from Redis when another instance cached the chunk
// meanwhile, else from the origin. It is detached from the request that
// started it: the others sharing it still want it, and a chunk read is
// worth caching even when its viewer has left.
func (c *Cache) run(fl *flight, name, version string) {
	// Another instance may have cached the chunk since this request's
	// window missed it (groupcache's load re-checks its cache here for the
	// same reason), or be reading it now: the same round trip asks for the
	// chunk and for the lease on filling it (store/lease.go).
	if fl.mode != readRefresh && (c.fill != FillOff || fl.mode != readNormal) && c.store.Available() {
		ctx := context.Background()
		val, found, leased, err := c.store.GetOrLease(ctx, fl.key, c.owner)
		if err == nil && !found && !leased {
			val, found = c.store.WaitFilled(ctx, fl.key)
		}
		if found {
			if data, err := c.store.OpenValue(fl.key, val, fl.n); err == nil {
				fl.src = srcRedis
				copy(fl.view, data)
				fl.finishAll()
				if leased {
					c.store.ReleaseLease(ctx, fl.key)
				}
				c.endFlight(fl)
				return
			}
		}
		fl.leased = leased
	}
	// FillSync (and a prewarm) write the chunk before any reader gets it,
	// so that a response ends after its chunks are in Redis.
	sync := c.fill == FillSync || fl.mode != readNormal
	if err := c.readFlight(fl, name, version, !sync); err != nil {
		c.dropFlight(fl)
		fl.finish(err)
		c.releaseLease(fl)
		c.endFlight(fl)
		return
	}
	if c.local != nil && fl.keepLocal() {
		c.local.Add(fl.key, fl.view)
	}
	switch {
	case c.fill == FillOff && fl.mode == readNormal:
		fl.finish(nil)
		c.releaseLease(fl)
		c.endFlight(fl)
	case sync:
		c.putSync(fl)
		fl.finishAll()
		c.endFlight(fl)
	default:
		fl.finish(nil)
		c.put(fl)
	}
}

// readFlight reads the chunk into fl.view, in the order fl.first says,
// handing each step to fl's readers when stream is set, then reads on to
// each range's end, where the origin checks the version again.
func (c *Cache) readFlight(fl *flight, name, version string, stream bool) error {
	if err := c.readSpan(fl, name, version, fl.first, fl.n, stream); err != nil {
		return err
	}
	if fl.first > 0 {
		if err := c.readSpan(fl, name, version, 0, fl.first, stream); err != nil {
			return err
		}
	}
	c.stats.misses.Add(1)
	return nil
}

// readSpan reads the chunk's bytes [lo, hi) from the origin into fl.view.
func (c *Cache) readSpan(fl *flight, name, version string, lo, hi int64, stream bool) error {
	rc, err := c.origin.ReadRange(context.Background(), name, version, fl.off+lo, hi-lo)
	if err != nil {
		return err
	}
	defer rc.Close()
	for n := lo; n < hi; {
		m, err := rc.Read(fl.view[n:min(hi, n+flightStep)])
		c.stats.diskBytes.Add(int64(m))
		if err != nil && err != io.EOF {
			// Bytes that come with an error are not handed on: the
			// origin may have found them to be of another version.
			return fmt.Errorf("read chunk at %d of %s: %w", fl.off, name, err)
		}
		n += int64(m)
		if m > 0 && stream {
			fl.advance(int64(m))
		}
		if err == io.EOF && n < hi {
			return fmt.Errorf("read chunk at %d of %s: %d of %d bytes: %w", fl.off, name, n-lo, hi-lo, ErrChanged)
		}
	}
	return atEOF(rc, name)
}

// atEOF reads on to the end of an origin range that has given all its
// bytes, so that the origin checks the version there.
func atEOF(rc io.Reader, name string) error {
	var extra [1]byte
	for range 2 {
		m, err := rc.Read(extra[:])
		if m > 0 {
			return fmt.Errorf("read %s: the origin sent more bytes than asked: %w", name, ErrChanged)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return fmt.Errorf("read %s: no end of range from the origin", name)
}

// releaseLease gives up fl's fill lease, if it holds one, in the
// background: fl's chunk will not be written.
func (c *Cache) releaseLease(fl *flight) {
	if fl.leased {
		go c.store.ReleaseLease(context.Background(), fl.key)
	}
}

// dropFlight forgets fl, so that the next miss of its chunk starts anew.
func (c *Cache) dropFlight(fl *flight) {
	c.flightMu.Lock()
	if c.flights[fl.key] == fl {
		delete(c.flights, fl.key)
	}
	c.flightMu.Unlock()
}

// endFlight forgets fl and drops the flight's own reference to its buffer:
// the buffer returns to the pool once the last reader lets go.
func (c *Cache) endFlight(fl *flight) {
	c.dropFlight(fl)
	c.unrefFlight(fl)
}

// unrefFlight drops a reference to fl, returning its buffer on the last.
func (c *Cache) unrefFlight(fl *flight) {
	if fl.unref() {
		c.putBuffer(fl.buf, fl.held)
	}
}
