package chunker

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/reelcache/reelcache/internal/testmedia"
)

// TestStatusJudgesChunksByWhatRedisHolds: X-Cache must say where the bytes
// really come from (issue 21 item 8). Chunks past the first window are
// judged, in the same round trip, by the length their value must have: a
// value of the wrong length there makes the response PARTIAL, not HIT; so
// does it for a HEAD, which fetches nothing.
func TestStatusJudgesChunksByWhatRedisHolds(t *testing.T) {
	const cs = 64 << 10
	fx := newFixture(t, true, Options{ChunkSize: cs, Fill: FillSync})
	testmedia.WriteRandom(t, fx.dir, "a.mp4", 8*cs, 23)
	readAll(t, fx.cache, "a.mp4") // all cached
	f, err := fx.cache.Open(context.Background(), "a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	key := f.Key(6)
	f.Close()
	for _, body := range []bool{true, false} {
		f, _ := fx.cache.Open(context.Background(), "a.mp4")
		if got := f.PrepareSources(0, 8*cs, body).Status(); got != Hit {
			t.Fatalf("all cached, body %v: %v, want Hit", body, got)
		}
		f.Close()
	}
	rdb := fx.redis.Client()
	defer rdb.Close()
	rdb.SetRange(context.Background(), key, 10, "x") // same length: caught when read
	rdb.Append(context.Background(), key, "!")       // now the wrong length: caught at once
	for _, body := range []bool{true, false} {
		f, _ := fx.cache.Open(context.Background(), "a.mp4")
		src := f.PrepareSources(0, 8*cs, body)
		f.Close()
		if src.Status() != Partial || src.Disk != 1 {
			t.Errorf("chunk 6 of the wrong length, body %v: %+v (%v), want Partial with one chunk from the origin", body, src, src.Status())
		}
	}
}

// recordingOrigin is a Dir that records the ranges read from it.
type recordingOrigin struct {
	*Dir
	mu     sync.Mutex
	ranges [][2]int64 // off, n
}

func (r *recordingOrigin) ReadRange(ctx context.Context, name, version string, off, n int64) (io.ReadCloser, error) {
	r.mu.Lock()
	r.ranges = append(r.ranges, [2]int64{off, n})
	r.mu.Unlock()
	return r.Dir.ReadRange(ctx, name, version, off, n)
}

// TestSeekFillReadsItsBytesFirst: a cold seek far into a chunk that will
// be cached reads the chunk from the seek's offset first and its start
// after, each byte once (issue 21 item 5): its first byte does not wait
// for the chunk's prefix.
func TestSeekFillReadsItsBytesFirst(t *testing.T) {
	const cs = 1 << 20
	rec := &recordingOrigin{}
	fx := newFixtureWith(t, true, Options{ChunkSize: cs, Fill: FillAsync}, storeOptions(), nil)
	rec.Dir = NewDir(fx.root, DirOptions{})
	fx.cache.origin = rec
	want := testmedia.WriteRandom(t, fx.dir, "a.mp4", 2*cs, 24)
	seek := int64(cs + 900<<10)
	got, _ := readRange(t, fx.cache, "a.mp4", seek, 1000)
	if string(got) != string(want[seek:seek+1000]) {
		t.Fatal("wrong bytes")
	}
	waitIdle(t, fx.cache) // the fill has ended
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.ranges) != 2 || rec.ranges[0] != [2]int64{seek, 2*cs - seek} || rec.ranges[1] != [2]int64{cs, seek - cs} {
		t.Fatalf("origin reads %v, want [%d %d] then [%d %d]", rec.ranges, seek, 2*cs-seek, cs, seek-cs)
	}
	if keys := fx.redis.Keys(context.Background(), "reelcache:c:*"); len(keys) != 1 {
		t.Fatalf("chunk keys after the seek's fill: %v, want 1", keys)
	}
}

// touchesChunk reports whether any of cmds names a chunk key.
func touchesChunk(cmds []redis.Cmder) bool {
	for _, cmd := range cmds {
		for _, a := range cmd.Args() {
			if s, ok := a.(string); ok && strings.Contains(s, ":c:") {
				return true
			}
		}
	}
	return false
}

// TestColdFileAsksRedisOnce: a file read once (the long tail, the server's
// default admission) whose head a format looked at first (faststart reads
// the top-level box headers through the File) costs one round trip to
// Redis: the head's window answers for its chunk when the response's
// status is prepared, and a window whose chunk Redis does not hold reads
// nothing ahead in that chunk (its bytes come from the origin). Three
// round trips before (issue 20).
func TestColdFileAsksRedisOnce(t *testing.T) {
	const cs = 1 << 20
	var trips atomic.Int64 // round trips (commands and pipelines) that touch chunk keys
	fx := newFixtureWrapped(t, true, Options{ChunkSize: cs, MinUses: DefaultMinUses},
		hooked(func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
			if touchesChunk(cmds) {
				trips.Add(1)
			}
			return next(ctx, cmds)
		}))
	want := testmedia.WriteRandom(t, fx.dir, "a.mp4", 700<<10, 31)
	f, err := fx.cache.Open(context.Background(), "a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, 8)
	if _, err := f.ReadAt(head, 0); err != nil || !bytes.Equal(head, want[:8]) {
		t.Fatalf("head: %x, %v", head, err)
	}
	if st := f.PrepareSources(0, f.Size(), true).Status(); st != Miss {
		t.Fatalf("status %v, want Miss", st)
	}
	var got bytes.Buffer
	if _, err := f.WriteRange(&got, 0, f.Size()); err != nil || !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("read: %d bytes, %v", got.Len(), err)
	}
	f.Close()
	waitIdle(t, fx.cache)
	if n := trips.Load(); n != 1 {
		t.Errorf("round trips to Redis for chunk keys: %d, want 1", n)
	}
}
