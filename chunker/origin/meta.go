package origin

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/reelcache/reelcache/chunker"
)

// validators are what an origin says of one version of an object: enough to
// name the version and to check that a later reply is of the same one.
type validators struct {
	size        int64
	etag        string    // as the origin sent it, quotes and W/ included; "" when none
	lastMod     time.Time // Last-Modified, to the second; zero when none
	contentType string
}

// strong reports whether the ETag is a strong validator (RFC 9110 §8.8.1):
// equal strong ETags mean equal bytes, so a ranged GET may send If-Match.
func (v validators) strong() bool {
	return strings.HasPrefix(v.etag, `"`) && len(v.etag) >= 2 && strings.HasSuffix(v.etag, `"`)
}

// version names the bytes v describes, for cache keys: a hash of the name
// and the strong ETag, or, when the ETag is weak or missing, of the name,
// size and Last-Modified (and the weak ETag, which changes with the content
// too). The name is hashed, as chunker.SharedVersionOf does, so that two
// objects never share keys; the hash keeps keys short whatever an origin's
// ETags look like. Every instance computes the same version for the same
// object, so instances share chunks.
func (v validators) version(name string) string {
	h := fnv.New64a()
	var b [8]byte
	put := func(x int64) {
		binary.LittleEndian.PutUint64(b[:], uint64(x))
		h.Write(b[:])
	}
	if v.strong() {
		h.Write([]byte("e"))
		h.Write([]byte(v.etag))
	} else {
		h.Write([]byte("m"))
		if !v.lastMod.IsZero() {
			put(v.lastMod.Unix())
		}
		h.Write([]byte(v.etag))
	}
	h.Write([]byte{0})
	put(v.size)
	h.Write([]byte(name))
	return hex.EncodeToString(h.Sum(nil))
}

func (v validators) info(name string) chunker.Info {
	return chunker.Info{
		Name: name, Size: v.size, ModTime: v.lastMod, Version: v.version(name),
		ChangedAt: v.lastMod, ContentType: v.contentType,
	}
}

// entry is what the origin last said of one object.
type entry struct {
	val   validators
	info  chunker.Info
	until time.Time // trusted until then; after it the next Open asks again
	stale bool      // kept past its time because the origin failed
}

// metaCache holds objects' validators for a TTL, so that an Open within it
// costs no round trip, and coalesces concurrent asks for one object into
// one. It is safe for concurrent use.
type metaCache struct {
	ttl    time.Duration
	max    int // entries; past it expired ones go, then any
	flight singleflight.Group

	mu sync.Mutex // protects m
	m  map[string]*entry
}

// maxEntries bounds the metadata cache: names come from viewers' requests.
const maxEntries = 100_000

func newMetaCache(ttl time.Duration) *metaCache {
	return &metaCache{ttl: ttl, max: maxEntries, m: make(map[string]*entry)}
}

// get returns the entry of name, fresh or not.
func (mc *metaCache) get(name string) (entry, bool) {
	return mc.update(name, func(*entry) {})
}

// update applies change to name's entry, if it has one, and returns a copy
// of the entry as changed. It holds mc.mu throughout.
func (mc *metaCache) update(name string, change func(e *entry)) (entry, bool) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	e, ok := mc.m[name]
	if !ok {
		return entry{}, false
	}
	change(e)
	return *e, true
}

// put records what the origin said of name now.
func (mc *metaCache) put(name string, v validators) entry {
	e := &entry{val: v, info: v.info(name), until: time.Now().Add(mc.ttl)}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if _, ok := mc.m[name]; !ok && len(mc.m) >= mc.max {
		mc.shrink()
	}
	mc.m[name] = e
	return *e
}

// shrink drops expired entries and, if that is not enough, arbitrary ones
// down to nine tenths of the bound. mc.mu must be held.
func (mc *metaCache) shrink() {
	now := time.Now()
	for k, e := range mc.m {
		if now.After(e.until) {
			delete(mc.m, k)
		}
	}
	for k := range mc.m {
		if len(mc.m) < mc.max*9/10 {
			break
		}
		delete(mc.m, k)
	}
}

// keepStale extends name's entry, if it has one, by a TTL after the origin
// failed to say anything newer: viewers keep getting what Redis holds of
// the version they know, and the origin is asked again after the TTL, not
// on every request of an outage.
func (mc *metaCache) keepStale(name string) (entry, bool) {
	return mc.update(name, func(e *entry) {
		e.until, e.stale = time.Now().Add(mc.ttl), true
	})
}

// forget drops name's entry when it is of version (any entry when version
// is ""), so that the next Open asks the origin.
func (mc *metaCache) forget(name, version string) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if e, ok := mc.m[name]; ok && (version == "" || e.info.Version == version) {
		delete(mc.m, name)
	}
}

// stat returns what is known of name: from the cache within the TTL, else
// from ask, which runs once for all concurrent callers, detached from any
// one of them (a viewer who leaves stops waiting; the others still get the
// answer). A transient failure of ask with an entry at hand keeps that
// entry (stale-if-error); a missing object drops it.
func (mc *metaCache) stat(ctx context.Context, name string, ask func(name string) (validators, error), transient func(error) bool, notFound func(error) bool) (entry, error) {
	if e, ok := mc.get(name); ok && time.Now().Before(e.until) {
		return e, nil
	}
	ch := mc.flight.DoChan(name, func() (any, error) {
		// An ask that finished just before this one began has the answer.
		if e, ok := mc.get(name); ok && time.Now().Before(e.until) {
			return e, nil
		}
		v, err := ask(name)
		if err == nil {
			return mc.put(name, v), nil
		}
		if transient(err) {
			if e, ok := mc.keepStale(name); ok {
				return e, nil
			}
		} else if notFound(err) {
			mc.forget(name, "")
		}
		return entry{}, err
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return entry{}, r.Err
		}
		return r.Val.(entry), nil
	case <-ctx.Done():
		return entry{}, ctx.Err()
	}
}
