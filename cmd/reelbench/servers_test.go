package main

import (
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/internal/cachetest"
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
	log := slog.New(slog.DiscardHandler)
	s := &reelcacheServer{}
	metrics := stream.NewMetrics(func() chunker.Stats { return s.cache.Stats() }, nil)
	s.store = cachetest.Store(t, rs, store.Options{Timeout: 5 * time.Second, Observe: metrics.ObserveRedis})
	s.cache = cachetest.New(t, dir, nil, chunker.Options{Store: s.store, Fill: fill}, store.Options{})
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
