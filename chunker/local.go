package chunker

import (
	"container/list"
	"strings"
	"sync"
)

// localTier is the in-process tier in front of Redis (Options.LocalBytes):
// whole chunks, most recently used first, bounded in bytes. A chunk served
// from it costs no round trip, no copy out of Redis and no garbage, which is
// what a video many viewers watch at once wants; groupcache keeps its "hot
// cache" in front of its peers for the same reason.
//
// It is coherent for free: entries are keyed by the chunk's Redis key,
// which carries the file version, so a rewritten file has new keys and the
// old entries only wait to be evicted. A purge of Redis reaches it too
// (see purge.go): what came from Redis may have been wrong there. Every
// purge applied (clear, dropVersions) moves the tier's generation, and a
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
type localTier struct {
	mu      sync.Mutex // protects the fields below
	max     int64
	used    int64
	order   list.List // of *localEntry, most recently used at the front
	entries map[string]*list.Element
	seen    map[string]asked // chunk key -> who asked for it
	seenMax int
	gen     uint64 // purges applied: clear and dropVersions calls
}

type localEntry struct {
	key, val string
}

func newLocalTier(maxBytes, chunkSize int64) *localTier {
	return &localTier{
		max:     maxBytes,
		entries: make(map[string]*list.Element),
		seen:    make(map[string]asked),
		// Remember several times as many chunks as fit, so that a chunk
		// watched by two viewers a while apart still counts as wanted.
		seenMax: int(max(1024, 4*maxBytes/chunkSize)),
	}
}

// get returns the chunk at key and marks it recently used.
func (t *localTier) get(key string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[key]
	if !ok {
		return "", false
	}
	t.order.MoveToFront(e)
	return e.Value.(*localEntry).val, true
}

// has reports whether key is held, without marking it used.
func (t *localTier) has(key string) bool {
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

// wanted records that request req asks for the chunk at key, and reports
// whether another request asked for it before: then it is worth holding.
// With take false the caller cannot fetch the chunk whole now (see
// File.fetch): the request is counted, and a later one that can takes it.
func (t *localTier) wanted(key string, req uint64, take bool) bool {
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

// add holds val, the whole chunk at key, evicting the least recently used
// chunks to stay within the bound. A chunk larger than the bound is not
// held.
func (t *localTier) add(key, val string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.addLocked(key, val)
}

// generation returns the count of purges applied so far (clear and
// dropVersions calls), for addAt.
func (t *localTier) generation() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.gen
}

// addAt is add for a value read from Redis after generation returned gen:
// when a purge was applied since, the value may be one the purge removed,
// and it is not held. It reports whether it added (or already held) key.
func (t *localTier) addAt(gen uint64, key, val string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gen != gen {
		return false
	}
	return t.addLocked(key, val)
}

// addLocked is add; t.mu must be held. It reports whether key is held.
func (t *localTier) addLocked(key, val string) bool {
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
		oe := old.Value.(*localEntry)
		t.order.Remove(old)
		delete(t.entries, oe.key)
		t.used -= int64(len(oe.val))
	}
	t.entries[key] = t.order.PushFront(&localEntry{key: key, val: val})
	t.used += n
	return true
}

// clear drops every chunk and moves the generation.
func (t *localTier) clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	clear(t.entries)
	t.order.Init()
	t.used = 0
}

// dropVersions drops the chunks of the given file versions, whose keys
// start with prefix:c:version: (see Store.Key), and moves the generation.
func (t *localTier) dropVersions(prefix string, versions []string) {
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
		le := e.Value.(*localEntry)
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

// size returns the bytes and chunks held.
func (t *localTier) size() (bytes int64, chunks int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.used, len(t.entries)
}
