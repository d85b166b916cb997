package chunker

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/redistest"
)

// TestSlowRedisIsRetriedWithinARequest: a read whose Redis call times out
// goes to the origin, and so does the rest of its request for a while, but
// not for good: a film that started while Redis was hung (or busy with a
// stampede) gets its later bytes from Redis again once it answers.
func TestSlowRedisIsRetriedWithinARequest(t *testing.T) {
	rs := redistest.Start(t)
	dir := t.TempDir()
	want := writeRandom(t, dir, "f.mp4", 1<<20, 31) // 16 chunks of 64 KiB
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	log := slog.New(slog.DiscardHandler)
	store := NewStore(StoreOptions{Client: mustClient(t, rs.URL()), Logger: log, Timeout: 200 * time.Millisecond, WriteTimeout: 5 * time.Second})
	c, err := New(Options{Root: root, Store: store, ChunkSize: 64 << 10, Fill: FillSync, Settle: time.Nanosecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	readAll(t, c, "f.mp4") // every chunk in Redis

	f, err := c.Open(context.Background(), "f.mp4")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Prepare(0, f.Size(), false) // the range: the whole file; no fetch yet
	read := func(off, n int64) {
		t.Helper()
		p := make([]byte, n)
		if _, err := f.ReadAt(p, off); err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		if !bytes.Equal(p, want[off:off+n]) {
			t.Fatalf("read at %d: not the file's bytes", off)
		}
	}
	rs.Pause()
	read(0, 64<<10) // times out, then the origin
	rs.Resume()
	read(64<<10, 64<<10) // within skipRedisFor: the origin, no new timeout
	if _, fromRedis, _ := f.Served(); fromRedis != 0 {
		t.Fatalf("%d bytes from a Redis that had just timed out", fromRedis)
	}
	time.Sleep(skipRedisFor + 100*time.Millisecond)
	read(512<<10, 256<<10)
	if _, fromRedis, _ := f.Served(); fromRedis == 0 {
		t.Errorf("no byte from Redis %v after it answered again: the request left it for good", skipRedisFor)
	}
}
