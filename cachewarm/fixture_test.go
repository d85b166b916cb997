package cachewarm

import (
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testmedia"
)

func TestMain(m *testing.M) { redistest.Main(m) }

type fixture struct {
	dir   string
	redis *redistest.Server
	cache *chunker.Cache
}

const chunkSize = 64 << 10

func newFixture(t testing.TB, redisArgs ...string) *fixture {
	return newFixtureSize(t, chunkSize, redisArgs...)
}

func newFixtureSize(t testing.TB, cs int64, redisArgs ...string) *fixture {
	t.Helper()
	fx := &fixture{dir: t.TempDir(), redis: redistest.Start(t, redisArgs...)}
	root, err := os.OpenRoot(fx.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	rdb, err := store.NewRedisClient(fx.redis.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	log := slog.New(slog.DiscardHandler)
	store := store.New(store.Options{Client: rdb, Timeout: 2 * time.Second, WriteTimeout: 5 * time.Second, Logger: log})
	fx.cache, err = chunker.New(chunker.Options{Origin: chunker.NewDir(root, chunker.DirOptions{}), Store: store, ChunkSize: cs, Fill: chunker.FillOff, Logger: log, Settle: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fx.cache.Close() })
	return fx
}

func (fx *fixture) write(t testing.TB, name string, data []byte) {
	t.Helper()
	testmedia.Write(t, fx.dir, name, data)
}

// copySample copies the named sample video into the media directory.
func (fx *fixture) copySample(t *testing.T, name string) []byte {
	t.Helper()
	b := testmedia.Sample(t, name)
	fx.write(t, name, b)
	return b
}

func (fx *fixture) warm(t *testing.T, opts Options, args ...string) *Report {
	t.Helper()
	root, _ := os.OpenRoot(fx.dir)
	defer root.Close()
	names, err := Resolve(root.FS(), fx.dir, args, func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	opts.Cache = fx.cache
	opts.Logger = slog.New(slog.DiscardHandler)
	rep, err := Warm(t.Context(), names, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// cachedChunks returns the chunk indices of name's current version in Redis.
func (fx *fixture) cachedChunks(t *testing.T, name string) []int64 {
	t.Helper()
	_, found, err := fx.cache.ChunkMap(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	var idx []int64
	for i, ok := range found {
		if ok {
			idx = append(idx, int64(i))
		}
	}
	return idx
}
