package chunker

import (
	"github.com/reelcache/reelcache/chunker/store"

	"fmt"
	"time"
	"unsafe"
)

// Window sizes. A File fetches a window of bytes from Redis in one round
// trip, and the next window while the current one is written out
// (read-ahead). The window starts small and doubles each time the client
// drains one quickly, up to Options.Window chunks; it halves for a client
// that drains slowly. A fast reader gets big round trips; a thousand slow
// phones each hold little memory.
const (
	minWindow = 128 << 10
	fastDrain = 5 * time.Millisecond  // drained faster than this: double
	slowDrain = 50 * time.Millisecond // slower than this: halve
)

// piece is the bytes [off, off+n) of the file, all in one chunk. Its bytes
// are at hand (have: from the local tier or Redis), or come from a flight
// (fl: the chunk being read to be cached), or are read from the origin as
// they are asked for (direct); see File.resolve.
type piece struct {
	off, n int64
	chunk  int64
	data   string // n bytes once have is set
	have   bool
	src    source  // where data came from
	fl     *flight // holds a reference, dropped by releaseWindow
	direct bool
}

// source says where a piece's bytes came from.
type source uint8

const (
	srcDisk source = iota
	srcRedis
	srcLocal
)

// window is the file bytes [start, end), as pieces, fetched from Redis in
// one round trip.
type window struct {
	start, end int64
	pieces     []piece
	held       int64 // bytes acquired from the cache's in-flight budget
	err        error // the Redis error, if the fetch failed
	asked      bool  // the fetch asked Redis (and, without err, it answered)

	// For Prepare: whether the chunks after the window exist (up to
	// maxProbe of them), asked with the window's fetch when probed is set.
	exist  []bool
	probed bool
}

// fromLocal reports whether any of the window's pieces came from the local
// tier.
func (w *window) fromLocal() bool {
	for _, pc := range w.pieces {
		if pc.src == srcLocal {
			return true
		}
	}
	return false
}

// contains reports whether off is in the window's bytes, while it holds
// them (a released window keeps its bounds, for adapt, but no bytes).
func (w *window) contains(off int64) bool {
	return len(w.pieces) > 0 && off >= w.start && off < w.end
}

// piece returns the piece holding off, loading a window when off is not in
// the current one, and deciding where its bytes come from when the local
// tier and Redis did not have them. The piece stays valid until the next
// call. f.mu must be held.
func (f *File) piece(off int64) (*piece, error) {
	if !f.win.contains(off) {
		if err := f.load(off, 0); err != nil {
			return nil, err
		}
	}
	for j := range f.win.pieces {
		pc := &f.win.pieces[j]
		if off < pc.off || off >= pc.off+pc.n {
			continue
		}
		if !pc.have && pc.fl == nil && !pc.direct {
			f.resolve(pc)
		}
		return pc, nil
	}
	return nil, fmt.Errorf("read %s at %d: no piece in window [%d, %d)", f.name, off, f.win.start, f.win.end)
}

// bytesAt returns the bytes of pc from off on, at most max of them: those
// at hand, those its flight has read so far (waiting until there is at
// least one), or, for a direct piece, bytes read now into the File's
// scratch buffer. They stay valid until the next call; the caller only
// reads them. f.mu must be held.
func (f *File) bytesAt(pc *piece, off int64, max int64) ([]byte, error) {
	end := min(pc.off+pc.n, off+max)
	switch {
	case pc.have:
		s := pc.data[off-pc.off : end-pc.off]
		return unsafe.Slice(unsafe.StringData(s), len(s)), nil
	case pc.fl != nil:
		fl := pc.fl
		buf, err := fl.wait(f.ctx, int(off-fl.off))
		if int64(len(buf)) > off-fl.off {
			pc.src = fl.src
			return buf[off-fl.off : min(int64(len(buf)), end-fl.off)], nil
		}
		if err == nil {
			err = fmt.Errorf("read %s at %d: chunk ended early: %w", f.name, off, ErrChanged)
		}
		return nil, err
	}
	if f.scratch == nil {
		f.scratch = f.c.scratch.Get().(*[]byte)
		f.c.scratchHeld.Add(1)
	}
	buf := *f.scratch
	n, err := f.direct(buf[:min(int64(len(buf)), end-off)], off)
	return buf[:n], err
}

// load makes the window start at off: from the prefetch when it starts
// there, else fetched now. Either way it then starts fetching the window
// after it. A Redis error is not returned: a slow or unavailable Redis
// switches this File to the origin for a second (skipRedisFor). f.mu must
// be held.
func (f *File) load(off, probeTo int64) error {
	f.adapt(off)
	f.releaseWindow()
	var w window
	if pf := f.pf; pf != nil && pf.start == off {
		f.pf = nil
		select {
		case <-pf.done:
		case <-f.ctx.Done():
			go func() { <-pf.done; f.c.release(pf.w.held) }()
			return f.ctx.Err()
		}
		w = pf.w
	} else {
		f.dropPrefetch()
		w = f.plan(off)
		held, ok := f.c.tryAcquire(w.end - w.start)
		if !ok {
			// The budget is tight: shrink to the smallest window, and
			// wait only for that much.
			f.winSize = minWindow
			w = f.plan(off)
			var err error
			if held, err = f.c.acquire(f.ctx, w.end-w.start); err != nil {
				return err
			}
		}
		f.fetch(&w, f.cacheable(), f.probeKeys(w, probeTo), false)
		w.held = held
	}
	if w.err != nil {
		if err := f.ctx.Err(); err != nil {
			f.c.release(w.held)
			return err
		}
		// A slow or unavailable Redis is left alone for a while (see
		// skipRedisFor); a fast failure (a Cluster node refusing
		// connections) costs little, and the next window may live on a
		// node that is up.
		if store.IsSlow(w.err) {
			f.skipRedis()
		}
	} else if w.asked {
		f.redisAnswered()
	}
	f.win, f.winAt = w, time.Now()
	f.startPrefetch(w.end)
	return nil
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
	share := f.c.memCap / (2 * max(1, f.c.open.Load()))
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
		w.pieces = append(w.pieces, piece{off: p, n: n, chunk: i})
		p += n
	}
	return w
}

// probeKeys returns the keys of the chunks after w up to chunk probeTo,
// at most maxProbe of them: those Prepare wants to know about.
func (f *File) probeKeys(w window, probeTo int64) []string {
	if probeTo <= 0 || w.end <= w.start {
		return nil
	}
	next := f.geo.Index(w.end-1) + 1
	last := min(probeTo, next+maxProbe-1)
	if next > last {
		return nil
	}
	return f.keys(next, last)
}
