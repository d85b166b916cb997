package chunker

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reelcache/reelcache/internal/testmedia"
)

// TestConcurrentReadersFetchAChunkWholeOnce: requests that want the same
// chunk for the local tier while one of them is fetching it whole wait for
// that fetch and read the chunk from the tier; Redis sends it once, not once
// a request (viewers starting together on an empty tier).
func TestConcurrentReadersFetchAChunkWholeOnce(t *testing.T) {
	const cs, readers = 1 << 20, 6
	var wholeGets atomic.Int64
	var hold atomic.Bool
	release := make(chan struct{})
	fx := newFixtureWrapped(t, true, Options{ChunkSize: cs, Fill: FillSync, LocalBytes: 8 << 20},
		hooked(func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
			for _, c := range cmds {
				if c.Name() == "get" {
					// Held until every reader has asked, so that all of
					// them want the chunk while it is being fetched.
					wholeGets.Add(1)
					if hold.Load() {
						<-release
					}
				}
			}
			return next(ctx, cmds)
		}))
	want := testmedia.WriteRandom(t, fx.dir, "a.mp4", cs, 47)
	readRange(t, fx.cache, "a.mp4", 0, cs) // fills Redis; the tier notes it
	waitIdle(t, fx.cache)
	key := chunkKey(t, fx.cache, "a.mp4", 0)
	if fx.cache.local.Has(key) {
		t.Fatal("setup: the tier took the chunk on its first request")
	}
	wholeGets.Store(0)
	hold.Store(true)

	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			off := int64(r) * 1000 // each its own range: more than half the chunk, so taken whole
			f, err := fx.cache.Open(context.Background(), "a.mp4")
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			f.PrepareSources(off, cs-off, true)
			got := make([]byte, cs-off)
			if _, err := f.ReadAt(got, off); err != nil {
				errs <- err
			} else if !bytes.Equal(got, want[off:]) {
				errs <- fmt.Errorf("reader %d: wrong bytes", r)
			}
		}()
	}
	// Every reader that fetches whole is held at its GET; give those that
	// would (the old code: all of them) the time to get there.
	deadline := time.Now().Add(500 * time.Millisecond)
	for wholeGets.Load() < readers && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := wholeGets.Load(); n != 1 {
		t.Errorf("%d readers wanting the chunk fetched it whole %d times, want once", readers, n)
	}
	if !fx.cache.local.Has(key) {
		t.Error("the tier does not hold the chunk")
	}
	if st := fx.cache.Stats(); st.LocalHits < readers-1 {
		t.Errorf("stats %+v: want at least %d local hits (the waiters)", st, readers-1)
	}
}

// chunkKey returns the key of chunk i of the named file.
func chunkKey(tb testing.TB, c *Cache, name string, i int64) string {
	tb.Helper()
	f, err := c.Open(context.Background(), name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	return f.Key(i)
}
