package chunker

import (
	"sync"
	"time"
)

// The settle window. An in-place write(2) updates mtime and ctime (so the
// version) before it copies its data, so a chunk read while such a write
// runs can hold old bytes under the new version, and every version check
// agrees, since nothing changes again when the write ends. Reads that start
// Options.Settle after the last change cannot overlap a write shorter than
// that (and any later write changes the version, which every origin read
// checks). Bytes read sooner are still served, as the file is right now,
// but never cached, so a rewrite leaves nothing wrong behind it.
//
// The last change is the object's Info.ChangedAt, or when this Cache first
// saw the version, whichever is earlier: a timestamp in the future (clock
// skew between the host that wrote a file or object and this one) must not
// keep it uncached, and a prewarm from waiting, past the window counted
// from when the version was first seen (issue 21 item 3).

// settleClock remembers when versions were first seen. It is safe for
// concurrent use.
type settleClock struct {
	window time.Duration // Options.Settle; 0: none

	mu    sync.Mutex // protects first
	first map[string]time.Time
	max   int
}

// maxFirstSeen bounds the versions remembered; when full the map is
// cleared, and a version seen again counts from then (later, so never
// cached sooner than it should be).
const maxFirstSeen = 1 << 16

func newSettleClock(window time.Duration) *settleClock {
	return &settleClock{window: window, first: make(map[string]time.Time), max: maxFirstSeen}
}

// firstSeen returns when version was first seen, now if never before.
func (s *settleClock) firstSeen(version string) time.Time {
	if s.window == 0 {
		return time.Time{}
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.first[version]
	if !ok {
		if len(s.first) >= s.max {
			clear(s.first)
		}
		s.first[version] = now
		t = now
	}
	return t
}

// unsettled returns how long until bytes of a version last changed at
// changed (zero when unknown) and first seen at seen may be cached.
func (s *settleClock) unsettled(changed, seen time.Time) time.Duration {
	if s.window == 0 || changed.IsZero() {
		return 0
	}
	if !seen.IsZero() && seen.Before(changed) {
		changed = seen
	}
	return max(0, s.window-time.Since(changed))
}

// settled reports whether the file's bytes may be cached now.
func (f *File) settled() bool { return f.Unsettled() == 0 }

// Unsettled returns how long until the file's bytes may be cached: zero
// once Options.Settle has passed since it last changed (or since this
// Cache first saw its version, if that is earlier). A prewarm waits this
// long before it reads.
func (f *File) Unsettled() time.Duration {
	return f.c.settle.unsettled(f.info.ChangedAt, f.seen)
}
