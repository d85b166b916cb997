package cachewarm

import (
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/internal/cachetest"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testmedia"
	"github.com/reelcache/reelcache/stream"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// fixture is a media directory, a real Redis and a Cache on both.
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
	fx.cache = fx.newCache(t, chunker.Options{ChunkSize: cs, Fill: chunker.FillOff})
	return fx
}

// newCache returns a Cache of its own (with stats of its own) on fx's
// media directory and Redis, with opts (cachetest.New).
func (fx *fixture) newCache(t testing.TB, opts chunker.Options) *chunker.Cache {
	t.Helper()
	return cachetest.New(t, fx.dir, fx.redis, opts, store.Options{Timeout: 2 * time.Second})
}

// serve returns the URL of reelcache's handler over c, stopped when the
// test ends.
func serve(t testing.TB, c *chunker.Cache) string {
	t.Helper()
	h, err := stream.New(stream.Options{Files: c, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	h.Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL
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
