package chunker

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLocalTierEvictsLeastRecentlyUsedByBytes(t *testing.T) {
	lt := newLocalTier(10, 4)
	lt.add("a", "aaaa")
	lt.add("b", "bbbb")
	if _, ok := lt.get("a"); !ok { // a is now more recent than b
		t.Fatal("a missing")
	}
	lt.add("c", "cccc") // 12 bytes > 10: the least recent, b, goes
	lt.add("a", "aaaa") // already held: not counted twice
	lt.add("big", strings.Repeat("x", 11))

	for _, tt := range []struct {
		key  string
		want bool
	}{{"a", true}, {"b", false}, {"c", true}, {"big", false}} {
		if got := lt.has(tt.key); got != tt.want {
			t.Errorf("has(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
	if n, chunks := lt.size(); n != 8 || chunks != 2 {
		t.Errorf("size = %d bytes, %d chunks; want 8, 2", n, chunks)
	}
}

func TestLocalTierAdmitsWhatTwoRequestsWant(t *testing.T) {
	lt := newLocalTier(1<<20, 1<<20) // remembers 1024 keys
	steps := []struct {
		key  string
		req  uint64
		take bool // the caller can fetch the chunk whole now
		want bool
	}{
		{"k", 1, true, false}, // first sight
		{"k", 1, true, false}, // the same request again: a lone viewer
		{"k", 2, true, true},  // a second request
		{"k", 3, true, false}, // admitted once; remembered afresh
		{"j", 1, false, false},
		{"j", 2, false, false}, // wanted twice, but not fetchable whole now
		{"j", 2, true, true},   // ... so the next fetch that can takes it
		{"i", 1, true, false},
		{"i", 1, false, false},
		{"i", 1, true, false}, // one request, however it asks
	}
	for i, s := range steps {
		if got := lt.wanted(s.key, s.req, s.take); got != s.want {
			t.Errorf("step %d: wanted(%q, %d, %v) = %v, want %v", i, s.key, s.req, s.take, got, s.want)
		}
	}
	// The doorkeeper is bounded: past seenMax keys it starts over.
	for i := range 2000 {
		lt.wanted(string(rune('a'+i%26))+strings.Repeat("x", i), 9, true)
	}
	if n := len(lt.seen); n > lt.seenMax {
		t.Errorf("doorkeeper holds %d keys, bound %d", n, lt.seenMax)
	}
}

// readRange reads n bytes at off through a fresh File, as one request does.
func readRange(tb testing.TB, c *Cache, name string, off, n int64) ([]byte, Status) {
	tb.Helper()
	f, err := c.Open(context.Background(), name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	st := f.Prepare(off, n, true)
	got := make([]byte, n)
	if _, err := f.ReadAt(got, off); err != nil && err != io.EOF {
		tb.Fatalf("read %s at %d: %v", name, off, err)
	}
	return got, st
}

func TestLocalTierServesHotChunksWithoutRedis(t *testing.T) {
	const cs = 64 << 10
	fx := newFixture(t, true, Options{ChunkSize: cs, Fill: FillSync})
	want := writeRandom(t, fx.dir, "hot.mp4", 300_001, 7) // 5 chunks
	readAll(t, fx.cache, "hot.mp4")                       // fills Redis

	// A second instance on the same Redis, with a local tier.
	c, err := New(Options{Root: fx.root, Store: fx.cache.Store(), ChunkSize: cs, Fill: FillSync, LocalBytes: 1 << 20, Settle: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// Request 1 reads chunk 1 in part: from Redis, only its bytes, and
	// the tier does not keep it (one viewer).
	got, st := readRange(t, c, "hot.mp4", 70_000, 10_000)
	if !bytes.Equal(got, want[70_000:80_000]) || st != Hit {
		t.Fatalf("request 1: wrong bytes or status %v", st)
	}
	if s := c.Stats(); s.RedisBytes != 10_000 || s.LocalHeld != 0 {
		t.Fatalf("after request 1: %+v, want 10000 bytes from Redis and nothing held", s)
	}
	// Request 2 wants a small part of chunk 1 too, in the round trip of
	// its first byte: fetching the whole chunk would make it wait for
	// three times the bytes it needs, so the tier does not take it yet.
	got, _ = readRange(t, c, "hot.mp4", 66_000, 20_000)
	if !bytes.Equal(got, want[66_000:86_000]) {
		t.Fatal("request 2: wrong bytes")
	}
	if s := c.Stats(); s.RedisBytes != 30_000 || s.LocalHeld != 0 {
		t.Fatalf("after request 2: %+v, want only its 20000 bytes from Redis and nothing held", s)
	}
	// Request 3 wants half of chunk 1 or more: fetched whole, kept.
	got, _ = readRange(t, c, "hot.mp4", 66_000, cs/2)
	if !bytes.Equal(got, want[66_000:66_000+cs/2]) {
		t.Fatal("request 3: wrong bytes")
	}
	if s := c.Stats(); s.LocalHeld != cs || s.LocalHits != 0 {
		t.Fatalf("after request 3: %+v, want chunk 1 (%d bytes) held", s, cs)
	}
	// Request 4 is served from memory: no byte from Redis.
	before := c.Stats()
	got, st = readRange(t, c, "hot.mp4", cs, cs)
	if !bytes.Equal(got, want[cs:2*cs]) || st != Hit {
		t.Fatalf("request 4: wrong bytes or status %v", st)
	}
	after := c.Stats()
	if after.RedisBytes != before.RedisBytes || after.LocalBytes-before.LocalBytes != cs || after.LocalHits-before.LocalHits != 1 {
		t.Fatalf("request 4: %+v then %+v, want %d bytes from the local tier and none from Redis", before, after, cs)
	}
	if after.DiskBytes != 0 {
		t.Errorf("the second instance read %d bytes from disk, want 0", after.DiskBytes)
	}
}

func TestLocalTierKeepsDiskReadsAndStaysBounded(t *testing.T) {
	const cs = 64 << 10
	fx := newFixture(t, true, Options{ChunkSize: cs, Fill: FillOff, LocalBytes: 2 * cs})
	want := writeRandom(t, fx.dir, "a.mp4", 5*cs, 8)

	// Nothing reaches Redis (fill off), so only the tier saves disk reads:
	// the last two chunks read stay, the first three are pushed out.
	if got, _ := readAll(t, fx.cache, "a.mp4"); !bytes.Equal(got, want) {
		t.Fatal("first read differs from the file")
	}
	s := fx.cache.Stats()
	if s.Misses != 5 || s.LocalHeld != 2*cs {
		t.Fatalf("after first read: %+v, want 5 misses and %d bytes held", s, 2*cs)
	}
	got, _ := readRange(t, fx.cache, "a.mp4", 3*cs, 2*cs)
	if !bytes.Equal(got, want[3*cs:]) {
		t.Fatal("tail read differs from the file")
	}
	if s2 := fx.cache.Stats(); s2.Misses != s.Misses || s2.LocalBytes != 2*cs {
		t.Fatalf("tail read: %+v, want no disk read and %d bytes from the local tier", s2, 2*cs)
	}
}

func TestLocalTierNeverServesAnOldVersion(t *testing.T) {
	const cs = 64 << 10
	fx := newFixture(t, true, Options{ChunkSize: cs, Fill: FillSync, LocalBytes: 1 << 20})
	writeRandom(t, fx.dir, "v.mp4", 3*cs, 9)
	readAll(t, fx.cache, "v.mp4") // read from disk: the tier holds version 1
	readAll(t, fx.cache, "v.mp4")
	if s := fx.cache.Stats(); s.LocalHits == 0 {
		t.Fatalf("version 1 was not served from the tier: %+v", s)
	}

	// Rewrite in place, same size; make sure the mtime moves.
	v2 := writeRandom(t, fx.dir, "v.mp4", 3*cs, 10)
	future := time.Now().Add(time.Minute)
	if err := os.Chtimes(filepath.Join(fx.dir, "v.mp4"), future, future); err != nil {
		t.Fatal(err)
	}
	if got, _ := readAll(t, fx.cache, "v.mp4"); !bytes.Equal(got, v2) {
		t.Fatal("read after the rewrite returned bytes of the old version")
	}
}

// TestLocalTierRefusesValuesReadBeforeAPurge: a value read at one
// generation enters only while no purge (clear or dropVersions) has been
// applied since.
func TestLocalTierRefusesValuesReadBeforeAPurge(t *testing.T) {
	lt := newLocalTier(1<<20, 4)
	for _, tt := range []struct {
		name  string
		purge func()
		want  bool
	}{
		{"no purge", func() {}, true},
		{"clear", lt.clear, false},
		{"dropVersions", func() { lt.dropVersions("p", []string{"other"}) }, false},
	} {
		gen := lt.generation()
		tt.purge()
		key := "p:c:v:" + tt.name
		if got := lt.addAt(gen, key, "vvvv"); got != tt.want || lt.has(key) != tt.want {
			t.Errorf("%s: addAt = %v, held %v; want %v", tt.name, got, lt.has(key), tt.want)
		}
	}
}
