package chunker

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// tierHeld waits up to 5 s for c's local tier to hold want bytes and
// returns what it holds.
func tierHeld(c *Cache, want int64) int64 {
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := c.local.size()
		if got == want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
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
	writeRandom(t, fx.dir, "a.mp4", 128<<10, 1)
	writeRandom(t, fx.dir, "b.mp4", 128<<10, 2)
	b, err := New(Options{Root: fx.root, Store: fx.cache.Store(), ChunkSize: 64 << 10, Fill: FillSync, LocalBytes: 4 << 20, Settle: time.Nanosecond})
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
	want := writeRandom(t, fx.dir, "a.mp4", 64<<10, 9)
	waitWatching(t, fx.cache)
	f, err := fx.cache.Open(t.Context(), "a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	key := f.Key(0)
	f.Close()
	rdb := fx.redis.Client()
	defer rdb.Close()
	junk := bytes.Repeat([]byte{'x'}, 64<<10)
	if err := rdb.Set(t.Context(), key, junk, 0).Err(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		readAll(t, fx.cache, "a.mp4")
	}
	if got, _ := readAll(t, fx.cache, "a.mp4"); !bytes.Equal(got, junk) {
		t.Fatal("setup: the damaged value was not served (the test relies on it reaching the tier)")
	}
	if n, _ := fx.cache.local.size(); n == 0 {
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
