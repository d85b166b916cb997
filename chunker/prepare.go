package chunker

// Status says where the bytes of a read came, or will come, from.
type Status int

const (
	Miss    Status = iota // all from disk
	Hit                   // all from Redis
	Partial               // some from each
	Bypass                // cache off or unavailable: disk only
)

// Prepare readies the File to serve the n bytes at off and reports where they
// will come from (for the first 32 chunks of a longer range). With body set
// it fetches the first window and, in the same round trip, asks Redis
// which of the range's chunks past that window exist; without it (a HEAD
// request) it only asks. The answer is what Redis holds at this moment: a
// chunk evicted while the rest is streamed is read from disk.
func (f *File) Prepare(off, n int64, body bool) Status {
	if f.c.store == nil {
		return Bypass
	}
	first, last, ok := f.geo.Span(off, n)
	if !ok {
		return Miss
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
	var hits, total int64
	next := first
	var exist []bool // whether the chunks past the first window are cached
	if body {
		if err := f.load(off, last); err != nil || f.bypass {
			return Bypass
		}
		// The window's pieces tell which of its chunks are cached.
		seen := int64(-1)
		for _, pc := range f.win.pieces {
			if pc.chunk != seen {
				seen = pc.chunk
				total++
				if pc.src != srcDisk {
					hits++
				}
			}
		}
		next = seen + 1
		if f.win.probed {
			// The chunks past the window were asked about in the same
			// round trip.
			exist, next = f.win.exist, last+1
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
		found, err := f.c.store.Exists(f.ctx, ask)
		if err != nil {
			if slow(err) {
				f.bypass = true
			}
			return Bypass
		}
		for k, i := range at {
			exist[i] = found[k]
		}
	}
	for _, ok := range exist {
		if ok {
			hits++
		}
	}
	total += int64(len(exist))
	switch hits {
	case 0:
		return Miss
	case total:
		return Hit
	}
	return Partial
}

// maxProbe is the most chunks Prepare asks Redis about.
const maxProbe = 32

// String returns the X-Cache value for s: MISS, HIT, PARTIAL or BYPASS.
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
