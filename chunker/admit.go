package chunker

import "sync"

// admission decides whether a chunk missed in the cache is worth caching
// yet: only once min_uses different requests have missed it, as nginx's
// proxy_cache_min_uses does. With MinUses 1 every miss is cached; the
// server's default is DefaultMinUses (2).
// Higher values suit a long tail of media mostly read once: a chunk read a
// single time then costs a direct origin read, not a fill of Redis that
// nobody reads back (on a cold long tail the Redis write was a third of the
// work per byte).
//
// Requests are remembered per chunk in a bounded map that is cleared when
// full, like the local tier's doorkeeper: a chunk whose uses were
// forgotten starts counting again. It is safe for concurrent use.
type admission struct {
	min int

	mu   sync.Mutex // protects seen
	seen map[string]uses
	max  int
}

type uses struct {
	last uint64 // the File that missed the chunk last
	n    int    // distinct Files that missed it
}

func newAdmission(min, max int) *admission {
	return &admission{min: min, seen: make(map[string]uses), max: max}
}

// admit records that File req misses the chunk at key and reports whether
// the chunk should now be cached. A File that misses the same chunk again
// (its next window) does not count twice.
func (a *admission) admit(key string, req uint64) bool {
	if a == nil || a.min <= 1 {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.seen[key]
	if !ok && len(a.seen) >= a.max {
		clear(a.seen)
	}
	if !ok || u.last != req {
		u.n++
		u.last = req
	}
	if u.n >= a.min {
		delete(a.seen, key)
		return true
	}
	a.seen[key] = u
	return false
}
