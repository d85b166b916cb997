package chunker

import (
	"github.com/reelcache/reelcache/chunker/store"
)

// Status says where the bytes of a read came, or will come, from.
type Status int

const (
	Miss    Status = iota // all from the origin
	Hit                   // all from a cache tier: Redis or the local tier
	Partial               // some from each
	Bypass                // cache off or unavailable: the origin only
)

// Sources counts, of the chunks PrepareSources looked at, those held by
// each tier: this instance's local tier, Redis, or neither (read from the
// origin). Bypass is set when the cache is off or unavailable for the
// request.
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

// PrepareSources readies the File to serve the n bytes at off and reports
// where they will come from, tier by tier, for the first maxProbe chunks
// of a longer range (a seek in a long film asks for everything to its end
// and reads a few MB: the status speaks for the chunks it will read first,
// so that a seek costs the same in a 4 GB film as in a clip).
//
// With body set it fetches the first window, whose chunks are then judged
// by what Redis really returned: bytes that passed their check, or not
// (a damaged or forged value is a miss, read from the origin). The chunks
// past the window are asked about in the same round trip, by the length
// their value must have (a value of the wrong length is a miss); one of
// the right length that then fails its check when read is refilled from
// the origin and counted in Stats.Rejected. Without body (a HEAD request)
// every chunk is judged by length. Chunks the local tier holds count as
// local without asking.
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
	last = min(last, first+maxProbe-1)
	var src Sources
	next := first
	if body {
		// A window this File holds already (a format read the file's
		// head through it: faststart's look at the top-level boxes) has
		// Redis's answer for its chunks; the chunks after it are probed
		// below, in one round trip.
		reuse := f.win.contains(off) && f.win.asked && f.win.err == nil && f.geo.Index(f.win.start) == first
		if !reuse {
			if err := f.load(off, last); err != nil {
				return Sources{Bypass: true}
			}
		}
		if f.skip.skipping() {
			return Sources{Bypass: true}
		}
		// A Redis that failed fast (refused the connection) did not say
		// what it holds: unless the local tier served the window, the
		// cache was unavailable to this response, not missed.
		if f.win.err != nil && !f.win.fromLocal() {
			return Sources{Bypass: true}
		}
		seen := int64(-1)
		for _, wp := range f.win.pieces {
			if wp.chunk == seen {
				continue
			}
			seen = wp.chunk
			switch {
			case wp.local && wp.src == srcLocal:
				src.Local++
			case wp.local || wp.data != nil:
				src.Redis++
			case f.c.local != nil && f.c.local.Has(f.Key(wp.chunk)):
				src.Local++
			default:
				src.Disk++
			}
		}
		next = seen + 1
		if f.win.probed {
			for j, ok := range f.win.exist {
				src.add(f, next+int64(j), ok)
			}
			return src
		}
	}
	if next > last {
		return src
	}
	var asks []store.Probe
	var at []int64
	for i := next; i <= last; i++ {
		if f.c.local != nil && f.c.local.Has(f.Key(i)) {
			src.Local++
			continue
		}
		cs, ce := f.geo.Bounds(i)
		asks, at = append(asks, store.Probe{Key: f.Key(i), Len: ce - cs}), append(at, i)
	}
	if len(asks) == 0 {
		return src
	}
	_, present, err := f.c.store.Read(f.ctx, nil, asks)
	if err != nil {
		if store.IsSlow(err) {
			f.skip.skipRedis()
		}
		return Sources{Bypass: true}
	}
	for k, i := range at {
		src.add(f, i, present[k])
	}
	return src
}

// add counts chunk i, which Redis holds when inRedis (or, for a probe of
// fetch, a cache tier holds).
func (s *Sources) add(f *File, i int64, inRedis bool) {
	switch {
	case f.c.local != nil && f.c.local.Has(f.Key(i)):
		s.Local++
	case inRedis:
		s.Redis++
	default:
		s.Disk++
	}
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
	pc, err := f.piece(off, f.end, nil)
	if err != nil {
		return err
	}
	defer pc.release()
	if pc.data != nil || pc.file != nil {
		return nil
	}
	return f.openDirect(off)
}
