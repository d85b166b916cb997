// Package local is reelcache's local tier: whole chunks held by one
// instance in front of the shared Redis, so that what many viewers watch
// costs no round trip.
package local

import (
	"container/list"
	"strings"
	"sync"
)

// Tier is the in-process tier in front of Redis (Options.LocalBytes):
// whole chunks, most recently used first, bounded in bytes. A chunk served
// from it costs no round trip, no copy out of Redis and no garbage, which is
// what a video many viewers watch at once wants; groupcache keeps its "hot
// cache" in front of its peers for the same reason.
//
// It is coherent for free: entries are keyed by the chunk's Redis key,
// which carries the file version, so a rewritten file has new keys and the
// old entries only wait to be evicted. A purge of Redis reaches it too
// (see purge.go): what came from Redis may have been wrong there. Every
// purge applied (PurgeAll, PurgeVersions) moves the tier's generation, and a
// value read from Redis enters only if the generation has not moved since
// before the read (addAt): a value fetched just before a purge cannot land
// in the tier after the purge emptied it.
//
// Admission keeps one-off reads out. A chunk read from disk always enters
// (reading it again would cost the disk). A chunk from Redis enters when a
// second request asks for it while the first is remembered: a viewer
// reading a film alone, or a crawler, would otherwise push out the chunks
// everybody is watching. The requests seen are remembered per chunk in a
// bounded "doorkeeper" set that is cleared when full, like TinyLFU's.
//
// A hand-written LRU rather than a library: the ones in wide use bound the
// number of entries, not bytes (hashicorp/golang-lru), or admit and evict
// asynchronously and by sampling (ristretto), which would make "read once
// from disk" and "zero bytes from Redis once hot" untestable. This is the
// textbook list plus map.
type Tier struct {
	mu      sync.Mutex // protects the fields below
	max     int64
	used    int64
	order   list.List // of *entry, most recently used at the front
	entries map[string]*list.Element
	seen    map[string]asked // chunk key -> who asked for it
	seenMax int
	gen     uint64 // purges applied: PurgeAll and PurgeVersions calls
}

type entry struct {
	key, val string
}

// New returns a Tier holding at most maxBytes of chunks of about chunkSize
// bytes each. It is safe for concurrent use.
func New(maxBytes, chunkSize int64) *Tier {
	return &Tier{
		max:     maxBytes,
		entries: make(map[string]*list.Element),
		seen:    make(map[string]asked),
		// Remember several times as many chunks as fit, so that a chunk
		// watched by two viewers a while apart still counts as wanted.
		seenMax: int(max(1024, 4*maxBytes/chunkSize)),
	}
}

// Get returns the chunk at key and marks it recently used.
func (t *Tier) Get(key string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[key]
	if !ok {
		return "", false
	}
	t.order.MoveToFront(e)
	return e.Value.(*entry).val, true
}

// Has reports whether key is held, without marking it used.
func (t *Tier) Has(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.entries[key]
	return ok
}

// asked is what the tier remembers of the requests for a chunk it does not
// hold.
type asked struct {
	last  uint64 // the request that asked last
	twice bool   // another request asked before it
}

// Wanted records that request req asks for the chunk at key, and reports
// whether another request asked for it before: then it is worth holding.
// With take false the caller cannot fetch the chunk whole now (see
// File.fetch): the request is counted, and a later one that can takes it.
func (t *Tier) Wanted(key string, req uint64, take bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, ok := t.seen[key]
	if !ok && len(t.seen) >= t.seenMax {
		clear(t.seen)
	}
	a.twice = a.twice || (ok && a.last != req)
	if a.twice && take {
		delete(t.seen, key)
		return true
	}
	a.last = req
	t.seen[key] = a
	return false
}

// Add holds val, the whole chunk at key, evicting the least recently used
// chunks to stay within the bound. A chunk larger than the bound is not
// held.
func (t *Tier) Add(key, val string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.addLocked(key, val)
}

// Generation returns the count of purges applied so far (PurgeAll and
// PurgeVersions calls), for addAt.
func (t *Tier) Generation() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.gen
}

// AddAt is Add for a value read from Redis after generation returned gen:
// when a purge was applied since, the value may be one the purge removed,
// and it is not held. It reports whether it added (or already held) key.
func (t *Tier) AddAt(gen uint64, key, val string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gen != gen {
		return false
	}
	return t.addLocked(key, val)
}

// addLocked is add; t.mu must be held. It reports whether key is held.
func (t *Tier) addLocked(key, val string) bool {
	n := int64(len(val))
	if n > t.max {
		return false
	}
	if e, ok := t.entries[key]; ok {
		t.order.MoveToFront(e)
		return true // same key, same bytes
	}
	for t.used+n > t.max {
		old := t.order.Back()
		oe := old.Value.(*entry)
		t.order.Remove(old)
		delete(t.entries, oe.key)
		t.used -= int64(len(oe.val))
	}
	t.entries[key] = t.order.PushFront(&entry{key: key, val: val})
	t.used += n
	return true
}

// PurgeAll drops every chunk and moves the generation.
func (t *Tier) PurgeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	clear(t.entries)
	t.order.Init()
	t.used = 0
}

// PurgeVersions drops the chunks of the given file versions, whose keys
// start with prefix:c:version: (see Store.Key), and moves the generation.
func (t *Tier) PurgeVersions(prefix string, versions []string) {
	starts := make([]string, 0, len(versions))
	for _, v := range versions {
		if v != "" {
			starts = append(starts, prefix+":c:"+v+":")
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	for e := t.order.Front(); e != nil; {
		next := e.Next()
		le := e.Value.(*entry)
		for _, s := range starts {
			if strings.HasPrefix(le.key, s) {
				t.order.Remove(e)
				delete(t.entries, le.key)
				t.used -= int64(len(le.val))
				break
			}
		}
		e = next
	}
}

// Size returns the bytes and chunks held.
func (t *Tier) Size() (bytes int64, chunks int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.used, len(t.entries)
}
