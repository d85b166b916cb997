package chunker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// flightStep is the most a flight reads from the origin before handing
// what it has to its readers.
const flightStep = 256 << 10

// scratchSize is the buffer a File writes direct bytes out of.
const scratchSize = 128 << 10

// resolve decides where the bytes of a piece that neither the local tier
// nor Redis returned come from:
//
//   - a chunk another request is reading, or that is on its way to Redis:
//     share that flight;
//   - a chunk that will be cached: start a flight that reads it whole from
//     the origin, streams it to its readers as it arrives, and keeps it in
//     the local tier and Redis;
//   - otherwise (fill off, Redis failing for this request, a file changed
//     too recently to trust, no room in the in-flight budget): read only
//     the bytes asked for, straight from the origin (direct).
//
// f.mu must be held.
func (f *File) resolve(pc *piece) {
	c := f.c
	if c.store == nil {
		pc.direct = true
		c.stats.misses.Add(1)
		return
	}
	key := f.Key(pc.chunk)
	cs, ce := f.geo.Bounds(pc.chunk)
	if c.local != nil {
		if data, ok := c.local.Get(key); ok {
			pc.data, pc.have, pc.src = data[pc.off-cs:pc.off-cs+pc.n], true, srcLocal
			c.stats.localHits.Add(1)
			return
		}
	}
	keep := !f.skipping() && (c.fill != FillOff || c.local != nil) && f.settled()
	c.flightMu.Lock()
	if _, ok := c.flights[key]; !ok && keep {
		keep = c.admit.admit(key, f.id)
	}
	fl, ok := c.flights[key]
	switch {
	case ok:
		fl.ref()
	case keep:
		if held, got := c.tryAcquire(ce - cs); got {
			fl = newFlight(key, cs, ce-cs, held)
			fl.ref() // the piece's
			c.flights[key] = fl
			go c.run(fl, f.name, f.version)
		}
	}
	c.flightMu.Unlock()
	if fl != nil {
		pc.fl = fl
		return
	}
	pc.direct = true
	c.stats.misses.Add(1)
}

// settled reports whether the file last changed long enough ago that its
// bytes can be trusted to be those of its version, and so be cached.
//
// Why: an in-place write(2) updates mtime and ctime (so the version) before
// it copies its data. A chunk read while such a write runs can hold old
// bytes under the new version, and every version check agrees, since
// nothing changes again when the write ends. Reads that start Options.Settle
// after the last change cannot overlap a write shorter than that (and any
// later write changes the version, which ReadRange checks after every
// read). Bytes read sooner are still served, as the file is right now, but
// never cached, so a rewrite leaves nothing wrong behind it.
func (f *File) settled() bool { return f.Unsettled() == 0 }

// Unsettled returns how long until the file's bytes may be cached: zero
// once Options.Settle has passed since it last changed. A prewarm waits
// this long before it reads.
func (f *File) Unsettled() time.Duration {
	if f.info.ChangedAt.IsZero() || f.c.settle == 0 {
		return 0
	}
	return max(0, f.c.settle-time.Since(f.info.ChangedAt))
}

// run reads fl's chunk from the origin, hands it to fl's readers as it
// arrives, then keeps it in the local tier and Redis. It is detached from
// the request that started it: the others sharing it still want it, and a
// chunk read is worth caching even when its viewer has left.
func (c *Cache) run(fl *flight, name, version string) {
	size := len(fl.buf)
	// Another instance may have cached the chunk since this request's
	// window missed it (groupcache's load re-checks its cache here for the
	// same reason), or be reading it now: the same round trip asks for the
	// chunk and for the lease on filling it (lease.go).
	if c.fill != FillOff && c.store.Available() {
		ctx := context.Background()
		val, found, leased, err := c.store.GetOrLease(ctx, fl.key, c.owner)
		if err == nil && !found && !leased {
			val, found = c.store.WaitFilled(ctx, fl.key)
		}
		if found && len(val) == size {
			fl.src = srcRedis
			copy(fl.buf, val)
			fl.advance(size)
			fl.finish(nil)
			if leased {
				c.store.ReleaseLease(ctx, fl.key)
			}
			c.endFlight(fl)
			return
		}
		fl.leased = leased
	}
	err := c.readFlight(fl, name, version)
	if err != nil {
		c.dropFlight(fl)
		fl.finish(err)
		c.releaseLease(fl)
		c.endFlight(fl)
		return
	}
	if c.local != nil {
		c.local.Add(fl.key, fl.data())
	}
	switch {
	case c.fill == FillOff:
		fl.finish(nil)
		c.releaseLease(fl)
		c.endFlight(fl)
	case c.fill == FillSync:
		c.putSync(fl)
		fl.advance(size) // only now, so that a viewer's response ends after the write
		fl.finish(nil)
		c.endFlight(fl)
	default:
		fl.finish(nil)
		c.put(fl)
	}
}

// readFlight reads the chunk into fl.buf, handing each step to fl's readers
// (except under FillSync, whose caller hands the whole chunk over after the
// write), then reads on to the range's end, where the origin checks the
// version again.
func (c *Cache) readFlight(fl *flight, name, version string) error {
	size := len(fl.buf)
	rc, err := c.origin.ReadRange(context.Background(), name, version, fl.off, int64(size))
	if err != nil {
		return err
	}
	defer rc.Close()
	stream := c.fill != FillSync
	n := 0
	for n < size {
		m, err := rc.Read(fl.buf[n:min(size, n+flightStep)])
		c.stats.diskBytes.Add(int64(m))
		if err != nil && err != io.EOF {
			// Bytes that come with an error are not handed on: the
			// origin may have found them to be of another version.
			return fmt.Errorf("read chunk at %d of %s: %w", fl.off, name, err)
		}
		n += m
		if m > 0 && stream {
			fl.advance(m)
		}
		if err == io.EOF && n < size {
			return fmt.Errorf("read chunk at %d of %s: %d of %d bytes: %w", fl.off, name, n, size, ErrChanged)
		}
	}
	if err := atEOF(rc, name); err != nil {
		return err
	}
	c.stats.misses.Add(1)
	return nil
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
// the buffer's budget returns once the last piece reading it lets go.
func (c *Cache) endFlight(fl *flight) {
	c.dropFlight(fl)
	if fl.unref() {
		c.release(fl.held)
	}
}

// unrefFlight drops a piece's reference to fl.
func (c *Cache) unrefFlight(fl *flight) {
	if fl.unref() {
		c.release(fl.held)
	}
}

// direct reads into p the bytes at off of a piece nobody will cache,
// straight from the origin: only what is asked for, in one ranged read per
// run of consecutive bytes to the end of the range being served (a jump
// opens a new one). f.mu must be held.
func (f *File) direct(p []byte, off int64) (int, error) {
	if err := f.openDirect(off); err != nil {
		return 0, err
	}
	n, err := f.dr.Read(p)
	f.drOff += int64(n)
	f.c.stats.diskBytes.Add(int64(n))
	if err == io.EOF {
		f.closeDirect()
		if n == 0 {
			return 0, fmt.Errorf("read %s at %d: origin range ended early: %w", f.name, off, ErrChanged)
		}
		err = nil
	}
	if err != nil {
		f.closeDirect()
	}
	return n, err
}

// openDirect makes f.dr the direct read from off to the end of the range
// being served, unless it already reads from there. f.mu must be held.
func (f *File) openDirect(off int64) error {
	if f.dr != nil && f.drOff == off {
		return nil
	}
	f.closeDirect()
	end := f.end
	if end <= off {
		end = f.geo.Size // a read past the prepared range
	}
	rc, err := f.c.origin.ReadRange(f.ctx, f.name, f.version, off, end-off)
	if err != nil {
		return err
	}
	f.dr, f.drOff = rc, off
	return nil
}

// closeDirect closes the direct read, if any. f.mu must be held.
func (f *File) closeDirect() {
	if f.dr != nil {
		f.dr.Close()
		f.dr = nil
	}
}

// readRange fills p with the bytes at off of version of name, from the
// origin, and reads on to the range's end, where the origin checks the
// version again. A short range means the object changed (its size is part
// of the version): ErrChanged. (Not io.ReadFull, which drops an error that
// comes with the last bytes.)
func (c *Cache) readRange(ctx context.Context, name, version string, off int64, p []byte) error {
	rc, err := c.origin.ReadRange(ctx, name, version, off, int64(len(p)))
	if err != nil {
		return err
	}
	defer rc.Close()
	n := 0
	for n < len(p) {
		m, err := rc.Read(p[n:])
		n += m
		if err == io.EOF && n < len(p) {
			return fmt.Errorf("read %s: %d of %d bytes: %w", name, n, len(p), ErrChanged)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
	return atEOF(rc, name)
}
