package chunker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reelcache/reelcache/internal/testmedia"
)

// readRange reads n bytes at off through a fresh File, as one request does.
func readRange(tb testing.TB, c *Cache, name string, off, n int64) ([]byte, Status) {
	tb.Helper()
	f, err := c.Open(context.Background(), name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	st := f.PrepareSources(off, n, true).Status()
	got := make([]byte, n)
	if _, err := f.ReadAt(got, off); err != nil && err != io.EOF {
		tb.Fatalf("read %s at %d: %v", name, off, err)
	}
	return got, st
}

func TestLocalTierServesHotChunksWithoutRedis(t *testing.T) {
	const cs = 64 << 10
	fx := newFixture(t, true, Options{ChunkSize: cs, Fill: FillSync})
	want := testmedia.WriteRandom(t, fx.dir, "hot.mp4", 300_001, 7) // 5 chunks
	readAll(t, fx.cache, "hot.mp4")                                 // fills Redis

	// A second instance on the same Redis, with a local tier.
	c, err := New(Options{Origin: NewDir(fx.root, DirOptions{}), Store: fx.cache.Store(), ChunkSize: cs, Fill: FillSync, LocalBytes: 1 << 20, Settle: time.Nanosecond})
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

// TestLocalTierKeepsDiskReadsAndStaysBounded: with fill off the local tier
// is the only tier a miss fills, and it keeps what a second request reads
// (one reader alone fills nothing), within its bound.
func TestLocalTierKeepsDiskReadsAndStaysBounded(t *testing.T) {
	const cs = 64 << 10
	fx := newFixture(t, true, Options{ChunkSize: cs, Fill: FillOff, LocalBytes: 2 * cs})
	want := testmedia.WriteRandom(t, fx.dir, "a.mp4", 5*cs, 8)

	if got, _ := readAll(t, fx.cache, "a.mp4"); !bytes.Equal(got, want) {
		t.Fatal("first read differs from the file")
	}
	if s := fx.cache.Stats(); s.LocalHeld != 0 || s.Fills != 0 {
		t.Fatalf("after one request: %+v, want nothing kept", s)
	}
	// A second request reads it all again: the last two chunks read stay,
	// the first three are pushed out.
	if got, _ := readAll(t, fx.cache, "a.mp4"); !bytes.Equal(got, want) {
		t.Fatal("second read differs from the file")
	}
	// The flights end (and the tier takes their chunks) just after their
	// readers have the bytes.
	waitIdle(t, fx.cache)
	s := fx.cache.Stats()
	if s.LocalHeld != 2*cs {
		t.Fatalf("after a second request: %+v, want %d bytes held", s, 2*cs)
	}
	// The chunks held (flights end in any order, so which two is not
	// fixed) are read again with no disk read.
	f, err := fx.cache.Open(context.Background(), "a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	var held []int64
	for i := range int64(5) {
		if fx.cache.local.Has(f.Key(i)) {
			held = append(held, i)
		}
	}
	f.Close()
	if len(held) != 2 {
		t.Fatalf("the tier holds chunks %v, want two", held)
	}
	for _, i := range held {
		got, _ := readRange(t, fx.cache, "a.mp4", i*cs, cs)
		if !bytes.Equal(got, want[i*cs:(i+1)*cs]) {
			t.Fatalf("chunk %d from the tier differs from the file", i)
		}
	}
	if s2 := fx.cache.Stats(); s2.DiskBytes != s.DiskBytes || s2.LocalBytes != 2*cs {
		t.Fatalf("reading the held chunks: %+v, want no disk read and %d bytes from the local tier", s2, 2*cs)
	}
}

func TestLocalTierNeverServesAnOldVersion(t *testing.T) {
	const cs = 64 << 10
	fx := newFixture(t, true, Options{ChunkSize: cs, Fill: FillSync, LocalBytes: 1 << 20})
	testmedia.WriteRandom(t, fx.dir, "v.mp4", 3*cs, 9)
	readAll(t, fx.cache, "v.mp4") // read from disk, filled into Redis
	readAll(t, fx.cache, "v.mp4") // a second request: the tier takes version 1
	readAll(t, fx.cache, "v.mp4")
	if s := fx.cache.Stats(); s.LocalHits == 0 {
		t.Fatalf("version 1 was not served from the tier: %+v", s)
	}

	// Rewrite in place, same size; make sure the mtime moves.
	v2 := testmedia.WriteRandom(t, fx.dir, "v.mp4", 3*cs, 10)
	future := time.Now().Add(time.Minute)
	if err := os.Chtimes(filepath.Join(fx.dir, "v.mp4"), future, future); err != nil {
		t.Fatal(err)
	}
	if got, _ := readAll(t, fx.cache, "v.mp4"); !bytes.Equal(got, v2) {
		t.Fatal("read after the rewrite returned bytes of the old version")
	}
}

// slowWriter is a client that drains each write slowly: a viewer at its
// bitrate, whose windows stay small and who gets no read-ahead.
type slowWriter struct {
	bytes.Buffer
	pause time.Duration
}

func (w *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(w.pause)
	return w.Buffer.Write(p)
}

// TestSlowViewerTakesWantedChunksIntoTheTier: a viewer reading at its
// bitrate (small windows, no read-ahead) takes a chunk another request
// read before into the local tier with its second window (the rest of the
// chunk is sent from there): before, only read-ahead took chunks whole,
// and hundreds of viewers at 8 Mbit/s streamed every byte from Redis
// (issue 20: 10x nginx's CPU per GB).
func TestSlowViewerTakesWantedChunksIntoTheTier(t *testing.T) {
	const cs = 1 << 20
	fx := newFixture(t, true, Options{ChunkSize: cs, Fill: FillSync})
	want := testmedia.WriteRandom(t, fx.dir, "film.mp4", 2*cs, 41)
	readAll(t, fx.cache, "film.mp4") // fills Redis
	// An instance with a tier, windows of at most one chunk (the range
	// is longer, so the first window is the smallest, a seek's) and an
	// in-flight budget that leaves no room for read-ahead, as under
	// hundreds of viewers.
	c, err := New(Options{Origin: NewDir(fx.root, DirOptions{}), Store: fx.cache.Store(), ChunkSize: cs, Window: 1,
		MaxInflightBytes: 3 * minWindow, LocalBytes: 8 << 20, Settle: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	readRange(t, c, "film.mp4", 0, 1000) // request 1: the tier notes it
	f, err := c.Open(context.Background(), "film.mp4")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	key := f.Key(0)
	if c.local.Has(key) {
		t.Fatal("setup: the tier took the chunk on its first request")
	}
	// Request 2: from the start, open-ended, drained slowly.
	f.PrepareSources(0, 2*cs, true)
	w := &slowWriter{pause: 3 * slowDrain / 2}
	if _, err := f.WriteRange(w, 0, cs); err != nil || !bytes.Equal(w.Bytes(), want[:cs]) {
		t.Fatalf("read: %d bytes, %v", w.Len(), err)
	}
	if !c.local.Has(key) {
		t.Error("the slow viewer's later windows did not take the wanted chunk into the tier")
	}
	if st := c.Stats(); st.Hits == 0 {
		t.Errorf("stats %+v: no window came from Redis", st)
	}
}

// TestBusyRetryNeverPutsPartOfAChunkInTheTier: a window that asked for a
// chunk whole for the tier and timed out (Redis busy) is asked again; the
// tier's yes was spent on the first try, so the second asks only the
// window's blocks, and those must not be kept as the chunk (a short file
// there cut every later response at its end: "file changed while being
// served").
func TestBusyRetryNeverPutsPartOfAChunkInTheTier(t *testing.T) {
	const cs = 1 << 20
	// Armed, it fails the next round trip that GETs a chunk value whole,
	// as a Redis too busy to answer in time does.
	var armed atomic.Bool
	fx := newFixtureWrapped(t, true, Options{ChunkSize: cs, Fill: FillSync, LocalBytes: 8 << 20},
		hooked(func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
			for _, c := range cmds {
				if c.Name() == "get" && armed.CompareAndSwap(true, false) {
					return fmt.Errorf("i/o: %w", context.DeadlineExceeded)
				}
			}
			return next(ctx, cmds)
		}))
	want := testmedia.WriteRandom(t, fx.dir, "a.mp4", cs, 43)
	readRange(t, fx.cache, "a.mp4", 0, cs) // fills Redis; the tier notes it
	waitIdle(t, fx.cache)
	armed.Store(true)
	// More than half the chunk: the tier takes it whole with this window.
	if got, _ := readRange(t, fx.cache, "a.mp4", 0, 600<<10); !bytes.Equal(got, want[:600<<10]) {
		t.Fatal("wrong bytes while Redis was busy")
	}
	if armed.Load() {
		t.Fatal("setup: no whole GET was failed")
	}
	got, _ := readRange(t, fx.cache, "a.mp4", 0, cs)
	if !bytes.Equal(got, want) {
		t.Error("the chunk read after the busy retry is not the file's")
	}
}
