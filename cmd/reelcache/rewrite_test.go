package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/internal/redistest"
)

// TestInPlaceRewriteCachesNoOldBytes is issue 13's first item, as it was
// found: a 32 MiB file is rewritten in place, each time with one write(2)
// of the whole new content (what `dd conv=notrunc bs=32M` does), while 16
// readers fetch random 64 KiB chunks through the server. write(2) updates
// mtime and ctime before it copies the data, so chunks read meanwhile hold
// old bytes under the new version, and every version check agrees. Once
// the rewrites are over and the settle window has passed, every chunk of
// the file's version in Redis and every chunk the server sends (from the
// local tier, Redis or disk) must be the file's bytes.
func TestInPlaceRewriteCachesNoOldBytes(t *testing.T) {
	const (
		size     = 32 << 20
		chunk    = 64 << 10
		settle   = time.Second
		rewrites = 5
		readers  = 16
	)
	rs := redistest.Start(t)
	media := t.TempDir()
	path := filepath.Join(media, "v.mp4")
	rng := rand.New(rand.NewPCG(1, 2))
	// Every version differs in every chunk, and every chunk of a version
	// differs from the others (its index is in its first bytes).
	version := 0
	content := func() []byte {
		version++
		block := make([]byte, chunk)
		for i := range block {
			block[i] = byte(rng.Uint32())
		}
		b := make([]byte, size)
		for i := 0; i < size; i += chunk {
			copy(b[i:], block)
			binary.LittleEndian.PutUint64(b[i:], uint64(version)<<32|uint64(i/chunk))
		}
		return b
	}
	cur := content()
	if err := os.WriteFile(path, cur, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Media:     config.Media{Root: media, Extensions: []string{"mp4"}},
		ChunkSize: chunk,
		Redis:     config.Redis{URL: rs.URL(), KeyPrefix: "reelcache", Timeout: 5 * time.Second, Mode: "single"},
		Cache:     config.Cache{Settle: settle, Fill: "async", Readahead: 2, MaxInflightBytes: 256 << 20, LocalBytes: 64 << 20},
	}
	a := testApp(t, cfg, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(a.echo)
	defer srv.Close()

	get := func(i int) (int, []byte, error) {
		req, _ := http.NewRequest("GET", srv.URL+"/media/v.mp4", nil)
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", i*chunk, (i+1)*chunk-1))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res.StatusCode, b, err
	}
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rr := rand.New(rand.NewPCG(uint64(r), 7))
			for ctx.Err() == nil {
				get(rr.IntN(size / chunk)) // cut responses are expected while the file changes
			}
		}()
	}
	rdb := rs.Client()
	defer rdb.Close()
	// check counts the chunks of the file's current version in Redis, and
	// those that hold other bytes than cur.
	check := func() (cached, stale int) {
		f, err := a.cache.Open(t.Context(), "v.mp4")
		if err != nil {
			t.Fatal(err)
		}
		keys := make([]string, size/chunk)
		for i := range keys {
			keys[i] = f.Key(int64(i))
		}
		f.Close()
		vals, err := rdb.MGet(t.Context(), keys...).Result()
		if err != nil {
			t.Fatal(err)
		}
		codec := a.cache.Store().Codec()
		for i, v := range vals {
			if s, ok := v.(string); ok {
				cached++
				// A value whose check fails would be a miss, not served;
				// one that passes must hold this version's bytes.
				data, err := codec.Open(keys[i], []byte(s), chunk)
				if err != nil || !bytes.Equal(data, cur[i*chunk:(i+1)*chunk]) {
					stale++
				}
			}
		}
		return cached, stale
	}
	time.Sleep(300 * time.Millisecond) // the cache fills with the first version
	var cachedAll, staleAll int
	for range rewrites {
		cur = content()
		rewrite(t, path, cur)
		// Readers go on past the settle window, so that this version is
		// cached too, before the next rewrite.
		time.Sleep(settle + 200*time.Millisecond)
		cached, stale := check()
		cachedAll += cached
		staleAll += stale
	}
	stop()
	wg.Wait()
	if staleAll > 0 {
		t.Errorf("%d of %d chunks cached in Redis under a rewritten file's version held other bytes", staleAll, cachedAll)
	}
	if cachedAll == 0 {
		t.Errorf("no chunk was cached after the settle windows: the test proves nothing")
	}
	wrong := 0
	for i := range size / chunk {
		status, b, err := get(i)
		if err != nil || status != http.StatusPartialContent || !bytes.Equal(b, cur[i*chunk:(i+1)*chunk]) {
			wrong++
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d chunks served after the rewrites were not the file's bytes", wrong, size/chunk)
	}
	t.Logf("%d chunks cached over %d rewrites, %d stale", cachedAll, rewrites, staleAll)
}

// rewrite writes b over the file at path with one write(2), in place. With
// O_DIRECT where the file system allows it: the write then runs at the
// disk's pace rather than memcpy's, so readers have time to meet it (the
// times are still updated before the data is copied).
func rewrite(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_DIRECT, 0)
	if err != nil {
		f, err = os.OpenFile(path, os.O_WRONLY, 0)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := syscall.Pwrite(int(f.Fd()), b, 0)
	if err == syscall.EINVAL { // O_DIRECT refused this buffer: a plain write
		n, err = f.WriteAt(b, 0)
	}
	if err != nil || n != len(b) {
		t.Fatalf("rewrite: %d bytes, %v", n, err)
	}
}
