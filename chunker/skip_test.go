package chunker

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// TestSlowRedisIsRetriedWithinARequest: a read whose Redis call times out
// goes to the origin, and so does the rest of its request for a while, but
// not for good: a film that started while Redis was hung (or busy with a
// stampede) gets its later bytes from Redis again once it answers.
func TestSlowRedisIsRetriedWithinARequest(t *testing.T) {
	rs, f, read := skipFixture(t)
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

// TestSlowRedisBacksOff: while Redis stays too slow, a request asks it
// again less and less often (each retry costs its viewer a timeout), and
// once it answers the skips start over.
func TestSlowRedisBacksOff(t *testing.T) {
	rs, f, read := skipFixture(t)
	// Each read is in a window of its own (windows start at 128 KiB), so
	// each asks Redis unless the File is skipping it.
	rs.Pause()
	read(0, 64<<10) // timeout: skip 1s
	time.Sleep(skipRedisFor + 100*time.Millisecond)
	read(256<<10, 64<<10) // timeout again: skip 2s
	rs.Resume()
	time.Sleep(skipRedisFor + 100*time.Millisecond)
	read(512<<10, 64<<10) // 1.1s into the 2s skip: the origin
	if _, fromRedis, _ := f.Served(); fromRedis != 0 {
		t.Fatalf("%d bytes from Redis 1.1s after its second timeout: the skip did not grow", fromRedis)
	}
	time.Sleep(skipRedisFor)
	read(768<<10, 64<<10) // past the 2s: Redis, which answers
	if _, fromRedis, _ := f.Served(); fromRedis == 0 {
		t.Fatal("no byte from Redis past the second skip")
	}
	f.mu.Lock()
	skip := f.skip.last
	f.mu.Unlock()
	if skip != 0 {
		t.Errorf("after Redis answered the next skip would follow %v, want a fresh start", skip)
	}
}

// skipFixture caches a 1 MiB file (16 chunks of 64 KiB) in a real Redis
// with a 200 ms read timeout and opens it for one request covering the
// whole file; read checks the bytes it reads.
func skipFixture(t *testing.T) (*redistest.Server, *File, func(off, n int64)) {
	t.Helper()
	rs := redistest.Start(t)
	dir := t.TempDir()
	want := testmedia.WriteRandom(t, dir, "f.mp4", 1<<20, 31)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	log := slog.New(slog.DiscardHandler)
	store := store.New(store.Options{Client: mustClient(t, rs.URL()), Logger: log, Timeout: 200 * time.Millisecond, WriteTimeout: 5 * time.Second})
	c, err := New(Options{Origin: NewDir(root, DirOptions{}), Store: store, ChunkSize: 64 << 10, Fill: FillSync, Settle: time.Nanosecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	readAll(t, c, "f.mp4") // every chunk in Redis
	f, err := c.Open(context.Background(), "f.mp4")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	f.PrepareSources(0, f.Size(), false) // the range: the whole file; no fetch yet
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
	return rs, f, read
}
