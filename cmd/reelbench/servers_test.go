package main

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/stream"
)

// reelcacheServer is reelcache's serving path in process, wired as
// cmd/reelcache wires it (chunker.Cache, stream.Handler, /metrics), on a
// real Redis.
type reelcacheServer struct {
	*httptest.Server
	cache *chunker.Cache
	store *store.Store
}

func startReelcache(t *testing.T, dir string, rs *redistest.Server, fill chunker.FillMode) *reelcacheServer {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { rdb.Close() })
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := &reelcacheServer{}
	metrics := stream.NewMetrics(func() chunker.Stats { return s.cache.Stats() }, nil)
	s.store = store.New(store.Options{Client: rdb, Timeout: 5e9, Logger: log, Observe: metrics.ObserveRedis})
	// The tests read files they have just written: cache them at once.
	s.cache, err = chunker.New(chunker.Options{Origin: chunker.NewDir(root, chunker.DirOptions{}), Store: s.store, Fill: fill, Settle: time.Nanosecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cache.Close() })
	h, err := stream.New(stream.Options{Files: s.cache, Metrics: metrics, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.Use(metrics.Middleware())
	stream.RegisterOps(e, s.cache, metrics)
	h.Register(e)
	s.Server = httptest.NewServer(e)
	t.Cleanup(s.Close)
	return s
}
