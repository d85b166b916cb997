package cachetest

import (
	"bytes"
	"testing"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testmedia"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// TestNew: a Cache over a directory reads its file, with Redis or without,
// and with Redis it caches what it reads at once (Settle 1ns).
func TestNew(t *testing.T) {
	for _, withRedis := range []bool{false, true} {
		var rs *redistest.Server
		if withRedis {
			rs = redistest.Start(t)
		}
		dir := t.TempDir()
		want := testmedia.WriteRandom(t, dir, "a.mp4", 100_000, 1)
		c := New(t, dir, rs, chunker.Options{ChunkSize: 64 << 10, Fill: chunker.FillSync}, store.Options{})
		if (c.Store() != nil) != withRedis {
			t.Fatalf("with Redis %v: store %v", withRedis, c.Store())
		}
		f, err := c.Open(t.Context(), "a.mp4")
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		n, err := f.WriteRange(&got, 0, f.Size())
		f.Close()
		if err != nil || !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("with Redis %v: wrote %d bytes, %v; want the file's", withRedis, n, err)
		}
		if withRedis {
			if keys := rs.Keys(t.Context(), "*:c:*"); len(keys) != 2 {
				t.Errorf("chunks in Redis after a read: %q, want 2", keys)
			}
		}
	}
}
