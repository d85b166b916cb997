package chunker

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reelcache/reelcache/internal/testmedia"
)

// TestHedgeSendsFirstBytesFromTheFile: with Redis queued and slower than
// the hedge, the first block of a response's first window is sent from the
// media root's file (from the origin, nothing cached, X-Cache BYPASS) and
// the rest comes from Redis as before; with Redis slow but not
// queued (few fetches in flight), or no hedge, the response waits for
// Redis. Every byte is the file's either way.
func TestHedgeSendsFirstBytesFromTheFile(t *testing.T) {
	const cs = 256 << 10
	var delay atomic.Int64 // every round trip's: a Redis busy answering others
	fx := newFixtureWrapped(t, true, Options{ChunkSize: cs, Fill: FillSync},
		hooked(func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
			time.Sleep(time.Duration(delay.Load()))
			return next(ctx, cmds)
		}))
	want := testmedia.WriteRandom(t, fx.dir, "a.mp4", 2*cs, 47)
	readAll(t, fx.cache, "a.mp4") // both chunks in Redis
	delay.Store(int64(100 * time.Millisecond))
	for _, tt := range []struct {
		name   string
		hedge  time.Duration
		busy   int64 // window fetches in flight that make Redis queued
		status Status
		hedged int64
		disk   int64 // bytes read from the origin
	}{
		{"hedged", 5 * time.Millisecond, 0, Bypass, 1, minWindow},
		{"slow but not queued", 5 * time.Millisecond, busyFetches(), Hit, 0, 0},
		{"no hedge", 0, 0, Hit, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The first window holds the whole range (two chunks).
			c, err := New(Options{Origin: NewDir(fx.root, DirOptions{}), Store: fx.cache.Store(), ChunkSize: cs,
				Hedge: tt.hedge, Settle: time.Nanosecond})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.busyFetches = tt.busy
			// As the stream handler serves a response: the status, then
			// one WriteRange of the whole range.
			f, err := c.Open(context.Background(), "a.mp4")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st := f.PrepareSources(0, 2*cs, true).Status()
			var got bytes.Buffer
			if _, err := f.WriteRange(&got, 0, 2*cs); err != nil || !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("read: %d bytes, %v", got.Len(), err)
			}
			s := c.Stats()
			if st != tt.status || s.Hedged != tt.hedged || s.DiskBytes != tt.disk || s.Hits == 0 {
				t.Errorf("status %v, stats %+v; want %v, %d hedged, %d bytes from the origin and the rest from Redis",
					st, s, tt.status, tt.hedged, tt.disk)
			}
		})
	}
}
