package chunker

import (
	"errors"
	"time"

	"github.com/reelcache/reelcache/chunker/store"
)

// Window sizes. A File fetches a window of bytes from Redis in one round
// trip, and the next window while the current one is written out
// (read-ahead). The window starts small and doubles each time the client
// drains one quickly, up to Options.Window chunks; it halves for a client
// that drains slowly. A fast reader gets big round trips; a thousand slow
// phones each hold little memory. A window is read in whole blocks
// (store.BlockSize), whose tags are checked before any byte is used.
const (
	minWindow = store.BlockSize
	fastDrain = 5 * time.Millisecond  // drained faster than this: double
	slowDrain = 50 * time.Millisecond // slower than this: halve
)

// window is the file bytes [start, end), one wpiece per chunk, fetched
// from Redis in one round trip.
type window struct {
	start, end int64
	pieces     []wpiece
	held       int64 // bytes taken from the cache's in-flight budget
	err        error // the Redis error, if the fetch failed
	asked      bool  // the fetch asked Redis (and, without err, it answered)

	// For PrepareSources: whether the chunks after the window are in a
	// cache tier (up to maxProbe of them), asked in the same round trip.
	exist  []bool
	probed bool
}

// wpiece is the bytes [off, off+n) of chunk `chunk`, as a window has them.
type wpiece struct {
	off, n int64
	chunk  int64
	data   []byte       // checked bytes of the chunk from file offset dataOff on; nil when not found
	at     int64        // dataOff: the file offset of data[0]
	src    source       // srcLocal: the tier held it; srcRedis: Redis had it (and it may be in the tier now)
	mem    store.Buffer // holds data: released with the window
	whole  bool         // fetched whole, for the local tier
	local  bool         // the local tier holds the chunk now: read it there
}

// contains reports whether off is in the window's bytes, while it holds
// them (a released window keeps its bounds, for adapt, but no pieces).
func (w *window) contains(off int64) bool {
	return len(w.pieces) > 0 && off >= w.start && off < w.end
}

// wanted reports whether the window fetched chunk i whole because the
// local tier wanted it (and so asked the tier's doorkeeper already).
func (w *window) wanted(i int64) bool {
	for _, wp := range w.pieces {
		if wp.chunk == i && wp.whole {
			return true
		}
	}
	return false
}

// fromLocal reports whether any of the window's chunks is read from the
// local tier.
func (w *window) fromLocal() bool {
	for _, pc := range w.pieces {
		if pc.local {
			return true
		}
	}
	return false
}

// windowPiece returns the window's piece holding off, when the window
// found it (in Redis, or put it in the local tier). f.mu must be held.
func (f *File) windowPiece(off int64) (piece, bool) {
	for j := range f.win.pieces {
		wp := &f.win.pieces[j]
		if off < wp.off || off >= wp.off+wp.n {
			continue
		}
		switch {
		case wp.local:
			// In the local tier, or fetched from Redis by this window and
			// written there (then counted as Redis's): sent from there.
			pc, ok := f.localPiece(wp.chunk, off, false) // fetch counted the hit
			pc.src = wp.src
			return pc, ok
		case wp.data != nil:
			lo := wp.off
			return piece{lo: lo, hi: lo + wp.n, src: srcRedis, data: wp.data[lo-wp.at : lo+wp.n-wp.at]}, true
		}
		return piece{}, false
	}
	return piece{}, false
}

// load makes the window start at off: from the prefetch when it starts
// there, else fetched now, with probes of the chunks after it up to chunk
// probeTo (for PrepareSources). Either way it then starts fetching the
// window after it. A Redis error is not returned but kept in f.win.err: a
// slow or unavailable Redis makes the File leave it alone for a while
// (skip.go). Only the request's end is an error. f.mu must be held.
func (f *File) load(off, probeTo int64) error {
	f.adapt(off)
	f.releaseWindow()
	var w window
	if pf := f.pf; pf != nil && pf.start == off && probeTo <= 0 {
		f.pf = nil
		select {
		case <-pf.done:
		case <-f.ctx.Done():
			pf.abandon(f.c)
			return f.ctx.Err()
		}
		w = pf.w
	} else {
		f.dropPrefetch()
		w = f.plan(off)
		held, ok := f.c.tryAcquire(w.cost())
		if !ok {
			// The budget is tight: shrink to the smallest window, and
			// wait only for that much; unless the origin is a local file,
			// which sends these bytes with no memory at all (sendfile):
			// then the window holds nothing and its bytes are a miss.
			f.winSize = minWindow
			w = f.plan(off)
			if held, ok = f.c.tryAcquire(w.cost()); !ok && f.OSFile() != nil && f.mode == readNormal {
				w.err = errBudgetFull
				f.win, f.winAt = w, time.Now()
				return nil
			}
			if !ok {
				var err error
				if held, err = f.c.acquire(f.ctx, w.cost()); err != nil {
					return err
				}
			}
		}
		w.held = held
		later := !f.winAt.IsZero() // not the response's first window
		probe := f.probes(w, probeTo)
		if !f.hedges(later) {
			f.fetch(f.ctx, &w, probe, later)
		} else if !f.fetchHedged(&w, probe) {
			// The first block comes from the origin's file (miss.go);
			// the window after it asks Redis again.
			w.err = errHedged
			w.clip(w.start + minWindow)
			f.win, f.winAt = w, time.Now()
			return nil
		}
		if w.err != nil && f.ctx.Err() == nil && f.skip.busy(w.err, f.c.store) {
			// Redis timed out while answering others: busy, not down.
			// One more try before the origin takes over this window.
			w.err, w.asked = nil, false
			f.fetch(f.ctx, &w, probe, later)
		}
	}
	if w.err != nil {
		if err := f.ctx.Err(); err != nil {
			f.c.freeWindow(&w)
			return err
		}
		if store.IsSlow(w.err) {
			f.skip.skipRedis()
		}
	} else if w.asked {
		f.skip.answered()
	}
	f.win, f.winAt = w, time.Now()
	f.startPrefetch(f.nextWindow())
	return nil
}

// errBudgetFull is a window's error when it was not fetched because the
// in-flight budget had no room and its bytes could be sent from a local
// file instead.
var errBudgetFull = errors.New("chunker: in-flight budget full")

// cost is the in-flight budget a window's fetch takes: the bytes of its
// pieces, or of their whole chunks when fetched whole.
func (w *window) cost() int64 {
	var n int64
	for _, pc := range w.pieces {
		n += pc.n + store.BlockSize // a block at each end, at most
	}
	return n
}

// adapt sizes the next window from how fast the client drained the last
// one, when it reads on from where that one ended. f.mu must be held.
func (f *File) adapt(off int64) {
	if f.winAt.IsZero() || off != f.win.end {
		return // the first window, or a jump: keep the size
	}
	d := time.Since(f.winAt)
	f.slow = d > slowDrain
	switch {
	case d < fastDrain:
		f.winSize = min(2*f.winSize, f.maxWindow())
	case f.slow:
		f.winSize = max(f.winSize/2, minWindow)
	}
}

// maxWindow is the largest window: Options.Window chunks, but no more than
// a fair share of the in-flight budget among the Files open (each may hold
// two windows), so that many readers do not queue for memory.
func (f *File) maxWindow() int64 {
	share := f.c.memCap / (2 * max(1, f.c.files.Load()))
	return max(minWindow, min(int64(f.c.window)*f.c.chunkSize, share))
}

// plan cuts the window [off, off+winSize), clipped to the range being
// served, into one piece per chunk. f.mu must be held.
func (f *File) plan(off int64) window {
	f.winSize = min(f.winSize, f.maxWindow())
	end := min(f.end, off+f.winSize)
	if end <= off {
		end = min(f.geo.Size, off+f.winSize) // a read past the prepared range
	}
	w := window{start: off, end: end}
	for p := off; p < end; {
		i := f.geo.Index(p)
		_, ce := f.geo.Bounds(i)
		n := min(ce, end) - p
		w.pieces = append(w.pieces, wpiece{off: p, n: n, chunk: i})
		p += n
	}
	return w
}

// probes returns the chunks after w up to chunk probeTo, at most maxProbe
// of them: those PrepareSources wants to know about.
func (f *File) probes(w window, probeTo int64) []int64 {
	if probeTo <= 0 || w.end <= w.start {
		return nil
	}
	next := f.geo.Index(w.end-1) + 1
	last := min(probeTo, next+maxProbe-1)
	var idx []int64
	for i := next; i <= last; i++ {
		idx = append(idx, i)
	}
	return idx
}

// releaseWindow lets go of the window's bytes. f.mu must be held.
func (f *File) releaseWindow() {
	f.c.freeWindow(&f.win)
	f.win.pieces = nil
}

// freeWindow gives back what w holds: its share of the in-flight budget and
// the buffers its bytes were read into, which must not be used after.
func (c *Cache) freeWindow(w *window) {
	c.release(w.held)
	w.held = 0
	for j := range w.pieces {
		wp := &w.pieces[j]
		wp.mem.Release()
		wp.mem, wp.data = store.Buffer{}, nil
	}
}

// maxProbe is the most chunks PrepareSources asks Redis about.
const maxProbe = 32
