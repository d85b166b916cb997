package chunker

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/internal/poll"
	"github.com/reelcache/reelcache/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

type fixture struct {
	dir   string
	root  *os.Root
	redis *redistest.Server
	cache *Cache
}

// newFixture makes a media dir and a Cache on a real Redis (or none when
// withRedis is false).
func newFixture(tb testing.TB, withRedis bool, opts Options) *fixture {
	tb.Helper()
	return newFixtureWrapped(tb, withRedis, opts, nil)
}

// newFixtureWrapped is newFixture with the Redis client passed through wrap
// (when not nil), for tests that hook into the store's round trips.
func newFixtureWrapped(tb testing.TB, withRedis bool, opts Options, wrap func(redis.UniversalClient) redis.UniversalClient) *fixture {
	tb.Helper()
	return newFixtureWith(tb, withRedis, opts, store.Options{}, wrap)
}

// newFixtureStore is newFixture (with Redis) with more store options.
func newFixtureStore(tb testing.TB, opts Options, sopts store.Options) *fixture {
	tb.Helper()
	return newFixtureWith(tb, true, opts, sopts, nil)
}

func newFixtureWith(tb testing.TB, withRedis bool, opts Options, sopts store.Options, wrap func(redis.UniversalClient) redis.UniversalClient) *fixture {
	tb.Helper()
	fx := &fixture{dir: tb.TempDir()}
	root, err := os.OpenRoot(fx.dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { root.Close() })
	fx.root = root
	if opts.Origin == nil {
		opts.Origin = NewDir(root, DirOptions{})
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if withRedis {
		fx.redis = redistest.Start(tb)
		client := mustClient(tb, fx.redis.URL())
		if wrap != nil {
			client = wrap(client)
		}
		sopts.Client, sopts.Logger = client, opts.Logger
		// Generous: these tests are about bytes and counts, and the race
		// detector and parallel test packages slow everything down; a
		// timeout would turn into an extra disk read.
		sopts.Timeout, sopts.WriteTimeout = 10*time.Second, 10*time.Second
		opts.Store = store.New(sopts)
	}
	c, err := New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	fx.cache = c
	return fx
}

// setChunk puts value(key) in Redis under the key of chunk i of name's
// current version, and returns the key.
func (fx *fixture) setChunk(tb testing.TB, name string, i int64, value func(key string) []byte) string {
	tb.Helper()
	f, err := fx.cache.Open(context.Background(), name)
	if err != nil {
		tb.Fatal(err)
	}
	key := f.Key(i)
	f.Close()
	rdb := fx.redis.Client()
	defer rdb.Close()
	if err := rdb.Set(context.Background(), key, value(key), 0).Err(); err != nil {
		tb.Fatal(err)
	}
	return key
}

func readAll(tb testing.TB, c *Cache, name string) ([]byte, Status) {
	tb.Helper()
	f, err := c.Open(context.Background(), name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	st := f.PrepareSources(0, f.Size(), true).Status()
	got, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	if err != nil {
		tb.Fatalf("read %s: %v", name, err)
	}
	return got, st
}

func mustClient(tb testing.TB, url string) redis.UniversalClient {
	tb.Helper()
	c, err := store.NewRedisClient(url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// chtimes sets the access and modification times of name in dir.
func chtimes(dir, name string, t time.Time) error {
	return os.Chtimes(filepath.Join(dir, name), t, t)
}

// storeOptions are the store options newFixture's own are made from.
func storeOptions() store.Options { return store.Options{} }

// waitIdle waits until c holds no chunk bytes: every flight has ended and
// its chunk has been written (or dropped).
func waitIdle(tb testing.TB, c *Cache) {
	tb.Helper()
	if !poll.Wait(10*time.Second, func() bool { return c.Stats().Inflight == 0 }) {
		tb.Fatalf("the cache still holds %d bytes after 10s", c.Stats().Inflight)
	}
}

// redisHook is a go-redis hook made of one function: it sees each round
// trip the client makes (a pipeline, or a single command as a pipeline of
// one) and sends it on with next, or answers it itself (fails it).
type redisHook func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	one := func(ctx context.Context, cmds []redis.Cmder) error { return next(ctx, cmds[0]) }
	return func(ctx context.Context, cmd redis.Cmder) error { return h(ctx, []redis.Cmder{cmd}, one) }
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { return h(ctx, cmds, next) }
}

// hooked is a wrap for newFixtureWrapped that adds h to the client.
func hooked(h redisHook) func(redis.UniversalClient) redis.UniversalClient {
	return func(c redis.UniversalClient) redis.UniversalClient { c.AddHook(h); return c }
}
