package chunker

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reelcache/reelcache/internal/poll"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// tierHeld waits up to 5 s for c's local tier to hold want bytes and
// returns what it holds.
func tierHeld(c *Cache, want int64) int64 {
	var got int64
	poll.Wait(5*time.Second, func() bool {
		got, _ = c.local.Size()
		return got == want
	})
	return got
}

func waitWatching(tb testing.TB, c *Cache) {
	tb.Helper()
	select {
	case <-c.watching:
	case <-time.After(10 * time.Second):
		tb.Fatal("the cache never subscribed to purge notifications")
	}
}

// TestPurgeReachesEveryLocalTier: two instances with local tiers on one
// Redis; a purge of one file's version drops its chunks from both tiers, a
// purge of everything empties them, and a purge announced while an
// instance was not subscribed empties its tier when it subscribes again
// (issue 13, items 1 and 2).
func TestPurgeReachesEveryLocalTier(t *testing.T) {
	fx := newFixture(t, true, Options{ChunkSize: 64 << 10, Fill: FillSync, LocalBytes: 4 << 20})
	testmedia.WriteRandom(t, fx.dir, "a.mp4", 128<<10, 1)
	testmedia.WriteRandom(t, fx.dir, "b.mp4", 128<<10, 2)
	b, err := New(Options{Origin: NewDir(fx.root, DirOptions{}), Store: fx.cache.Store(), ChunkSize: 64 << 10, Fill: FillSync, LocalBytes: 4 << 20, Settle: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	insts := []*Cache{fx.cache, b}
	fill := func() {
		for _, c := range insts {
			waitWatching(t, c)
			for range 2 { // a chunk from Redis enters the tier on its second request
				readAll(t, c, "a.mp4")
				readAll(t, c, "b.mp4")
			}
			if got := tierHeld(c, 256<<10); got != 256<<10 {
				t.Fatalf("tier holds %d bytes after reading both files, want %d; %+v", got, 256<<10, c.Stats())
			}
		}
	}
	fill()
	f, err := fx.cache.Open(t.Context(), "a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	va := f.Version()
	f.Close()
	if err := fx.cache.Store().AnnouncePurge(t.Context(), []string{va}); err != nil {
		t.Fatal(err)
	}
	for i, c := range insts {
		if got := tierHeld(c, 128<<10); got != 128<<10 {
			t.Errorf("instance %d: tier holds %d bytes after a.mp4 was purged, want b.mp4's %d", i, got, 128<<10)
		}
	}
	if err := fx.cache.Store().AnnouncePurge(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	for i, c := range insts {
		if got := tierHeld(c, 0); got != 0 {
			t.Errorf("instance %d: tier holds %d bytes after a full purge", i, got)
		}
	}

	// A purge nobody heard: the generation moves while the subscribers are
	// cut off; when they subscribe again they empty their tiers.
	fill()
	rdb := fx.redis.Client()
	defer rdb.Close()
	if err := rdb.Incr(t.Context(), "reelcache:purge:gen").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Do(t.Context(), "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	for i, c := range insts {
		if got := tierHeld(c, 0); got != 0 {
			t.Errorf("instance %d: tier holds %d bytes after a missed purge and a resubscription", i, got)
		}
	}
}

// TestPurgeRemovesDamageFromTheTier: a value of the chunk's length but the
// wrong bytes, put in Redis by something else, reaches the local tier when
// two requests read it; after a purge the file's own bytes are served
// again (issue 13, item 2).
func TestPurgeRemovesDamageFromTheTier(t *testing.T) {
	fx := newFixture(t, true, Options{ChunkSize: 64 << 10, Fill: FillOff, LocalBytes: 4 << 20})
	want := testmedia.WriteRandom(t, fx.dir, "a.mp4", 64<<10, 9)
	key, junk := damageChunk(t, fx, "a.mp4")
	rdb := fx.redis.Client()
	defer rdb.Close()
	for range 3 {
		readAll(t, fx.cache, "a.mp4")
	}
	if got, _ := readAll(t, fx.cache, "a.mp4"); !bytes.Equal(got, junk) {
		t.Fatal("setup: the damaged value was not served (the test relies on it reaching the tier)")
	}
	if n, _ := fx.cache.local.Size(); n == 0 {
		t.Fatal("setup: the damaged value did not reach the local tier")
	}
	// The operator's remedy: cache purge (delete, then announce).
	if err := rdb.Del(context.Background(), key).Err(); err != nil {
		t.Fatal(err)
	}
	if err := fx.cache.Store().AnnouncePurge(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	tierHeld(fx.cache, 0)
	if got, _ := readAll(t, fx.cache, "a.mp4"); !bytes.Equal(got, want) {
		t.Fatal("after the purge the local tier still served the damaged bytes")
	}
}

// purgeMidFetch is the Redis client with a hook run once, after the first
// pipeline that follows arm, before its reply goes back to the caller: a
// purge that arrives while a fetch's round trip is under way.
type purgeMidFetch struct {
	redis.UniversalClient
	armed atomic.Bool
	hook  func()
}

func (p *purgeMidFetch) Pipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error) {
	cmds, err := p.UniversalClient.Pipelined(ctx, fn)
	if p.armed.CompareAndSwap(true, false) {
		p.hook()
	}
	return cmds, err
}

// TestPurgeDuringAFetchKeepsItOutOfTheTier: a damaged value is read from
// Redis by a request whose chunk the tier wants, and a purge (delete, then
// announce) is applied to the tier while that round trip is under way. The
// value must not enter the tier after the purge emptied it: the next
// request gets the file's bytes, not the damaged ones until eviction.
func TestPurgeDuringAFetchKeepsItOutOfTheTier(t *testing.T) {
	pm := &purgeMidFetch{}
	fx := newFixtureWrapped(t, true, Options{ChunkSize: 64 << 10, Fill: FillOff, LocalBytes: 4 << 20},
		func(c redis.UniversalClient) redis.UniversalClient { pm.UniversalClient = c; return pm })
	want := testmedia.WriteRandom(t, fx.dir, "a.mp4", 64<<10, 11)
	key, junk := damageChunk(t, fx, "a.mp4")
	rdb := fx.redis.Client()
	defer rdb.Close()
	store := fx.cache.Store()
	pm.hook = func() {
		gen := fx.cache.local.Generation()
		if err := rdb.Del(context.Background(), key).Err(); err != nil {
			t.Error(err)
		}
		if err := store.AnnouncePurge(context.Background(), nil); err != nil {
			t.Error(err)
		}
		if !poll.Wait(5*time.Second, func() bool { return fx.cache.local.Generation() != gen }) {
			t.Error("the purge never reached the tier")
		}
	}

	// Request 1 reads the chunk from Redis; the tier notes that it asked.
	if got, _ := readAll(t, fx.cache, "a.mp4"); !bytes.Equal(got, junk) {
		t.Fatal("setup: the damaged value was not served")
	}
	// Request 2 asks too, so its fetch takes the chunk whole for the tier;
	// the purge lands during that round trip.
	pm.armed.Store(true)
	readAll(t, fx.cache, "a.mp4")
	if pm.armed.Load() {
		t.Fatal("setup: request 2 made no round trip to Redis")
	}
	if fx.cache.local.Has(key) {
		t.Error("the value fetched before the purge entered the tier after it")
	}
	if got, _ := readAll(t, fx.cache, "a.mp4"); !bytes.Equal(got, want) {
		t.Error("after the purge the tier served the damaged bytes")
	}
}

// damageChunk puts bytes of the right length but not the file's (what
// something else writing to the database could leave) in Redis as chunk 0
// of name, once fx's cache watches purges, and returns the key and bytes.
func damageChunk(t *testing.T, fx *fixture, name string) (string, []byte) {
	t.Helper()
	waitWatching(t, fx.cache)
	// Sealed like a chunk of ours, without an integrity key: what a writer
	// who knows the format can put in Redis, and what only a purge (or a
	// key) keeps from viewers.
	junk := bytes.Repeat([]byte{'x'}, 64<<10)
	key := fx.setChunk(t, name, 0, func(key string) []byte { return fx.cache.Store().Codec().Sealed(key, junk) })
	return key, junk
}
