package chunker

import (
	"slices"

	"github.com/reelcache/reelcache/chunker/store"
)

// Status says where the bytes of a read came, or will come, from.
type Status int

const (
	Miss    Status = iota // all from disk
	Hit                   // all from a cache tier: Redis or the local tier
	Partial               // some from each
	Bypass                // cache off or unavailable: disk only
)

// Sources counts, of the chunks Prepare looked at, those held by each tier:
// this instance's local tier, Redis, or neither (read from the origin).
// Bypass is set when the cache is off or unavailable for the request.
type Sources struct {
	Local, Redis, Disk int64
	Bypass             bool
}

// Status returns where the bytes come from as one word: Hit when every
// chunk is in a cache tier (the local tier or Redis), Miss when none is.
func (s Sources) Status() Status {
	switch {
	case s.Bypass:
		return Bypass
	case s.Local+s.Redis == 0:
		return Miss
	case s.Disk == 0:
		return Hit
	}
	return Partial
}

// PrepareSources readies the File to serve the n bytes at off and reports
// where they will come from (for the first 32 chunks of a longer range),
// tier by tier. With body set it fetches the first window and, in the same
// round trip, asks Redis which of the range's chunks past that window exist;
// without it (a HEAD request) it only asks. The answer is what the tiers
// hold at this moment: a chunk evicted while the rest is streamed is read
// from disk.
func (f *File) PrepareSources(off, n int64, body bool) Sources {
	if f.c.store == nil {
		f.Limit(off, n)
		return Sources{Bypass: true}
	}
	first, last, ok := f.geo.Span(off, n)
	if !ok {
		return Sources{}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.end = min(f.geo.Size, off+n)
	if rest := f.end - off; rest <= f.maxWindow() {
		// The whole range fits one window: one round trip. (An open-ended
		// range of a big file starts small, and grows while the client
		// keeps up.)
		f.winSize = max(rest, minWindow)
	}
	var src Sources
	next := first
	var exist []bool // whether the chunks from next on are cached
	var local []bool // and whether the local tier holds them
	if body {
		if err := f.load(off, last); err != nil || f.skipping() {
			return Sources{Bypass: true}
		}
		// The window's pieces tell which of its chunks are cached, and
		// where. A Redis that failed fast (refused the connection) did not
		// say what it holds: unless the local tier served the window,
		// the cache was unavailable to this response, not missed.
		if f.win.err != nil && !f.win.fromLocal() {
			return Sources{Bypass: true}
		}
		seen := int64(-1)
		for _, pc := range f.win.pieces {
			if pc.chunk != seen {
				seen = pc.chunk
				switch pc.src {
				case srcLocal:
					src.Local++
				case srcRedis:
					src.Redis++
				default:
					src.Disk++
				}
			}
		}
		next = seen + 1
		if f.win.probed {
			// The chunks past the window were asked about in the same
			// round trip (the local tier's count as present).
			exist = f.win.exist
			local = make([]bool, len(exist))
			for j := range exist {
				local[j] = exist[j] && f.c.local != nil && f.c.local.Has(f.Key(next+int64(j)))
			}
			next = last + 1
		}
	}
	// A seek in a long video asks for everything to the end (bytes=N-) and
	// reads a few MB; the status speaks for the first maxProbe chunks, so
	// that a seek costs the same in a 4 GB film as in a clip.
	last = min(last, max(next, first)+maxProbe-1)
	if next <= last {
		var ask []string
		var at []int
		exist, ask, at = f.c.held(f.keys(next, last))
		local = slices.Clone(exist) // before Redis's answers are added
		found, err := f.c.store.Exists(f.ctx, ask)
		if err != nil {
			if store.IsSlow(err) {
				f.skipRedis()
			}
			return Sources{Bypass: true}
		}
		for k, i := range at {
			exist[i] = found[k]
		}
	}
	for j, ok := range exist {
		switch {
		case local[j]:
			src.Local++
		case ok:
			src.Redis++
		default:
			src.Disk++
		}
	}
	return src
}

// maxProbe is the most chunks Prepare asks Redis about.
const maxProbe = 32

// String returns the X-Cache value for s: MISS, HIT, PARTIAL or BYPASS.
// HIT covers both tiers; Sources says which.
func (s Status) String() string {
	switch s {
	case Hit:
		return "HIT"
	case Partial:
		return "PARTIAL"
	case Bypass:
		return "BYPASS"
	}
	return "MISS"
}

// Limit tells the File that the response it serves reads only the n bytes
// at off, so that a read from the origin asks for no more than that.
// PrepareSources does it too; Limit is for a response served without the
// cache.
func (f *File) Limit(off, n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.end = min(f.geo.Size, max(0, off+n))
}

// Begin makes sure the byte at off, the first a response will carry, can
// be read, before the caller commits to a status: when no tier holds it,
// it starts the origin read that will bring it (the chunk's flight, or the
// direct read) and waits for its first bytes or its failure. An error here
// comes before any byte of the body is sent, so the caller can still
// answer it with an error status (an origin that fails or hangs: 502 or
// 504) instead of cutting a response it has promised. Call it after
// PrepareSources, for the same range; the bytes it waited for are then
// read without waiting again.
func (f *File) Begin(off int64) error {
	if off < 0 || off >= f.geo.Size {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	pc, err := f.piece(off)
	if err != nil {
		return err
	}
	switch {
	case pc.have:
		return nil
	case pc.fl != nil:
		buf, err := pc.fl.wait(f.ctx, int(off-pc.fl.off))
		if int64(len(buf)) > off-pc.fl.off {
			return nil
		}
		return err
	}
	return f.openDirect(off)
}
