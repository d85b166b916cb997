// Package cachetest builds the chunker.Cache that tests of the packages
// above chunker read through: over a media directory, on a real Redis
// (internal/redistest) or on none, closed when the test ends.
package cachetest

import (
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/internal/redistest"
)

// New returns a Cache with opts, closed when the test ends. Unless set in
// opts, its Origin is the directory dir, its Store one on rs through a
// client of its own (none when rs is nil) with sopts, and its Logger
// discards. Zero values get test defaults: Settle 1ns (tests read files
// they have just written), the store's Timeout 10s and WriteTimeout 5s
// (the race detector and the other packages' tests share the cores).
func New(tb testing.TB, dir string, rs *redistest.Server, opts chunker.Options, sopts store.Options) *chunker.Cache {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Settle == 0 {
		opts.Settle = time.Nanosecond
	}
	if opts.Origin == nil {
		root, err := os.OpenRoot(dir)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { root.Close() })
		opts.Origin = chunker.NewDir(root, chunker.DirOptions{})
	}
	if opts.Store == nil && rs != nil {
		opts.Store = Store(tb, rs, sopts)
	}
	c, err := chunker.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// Store returns a Store on rs through a client of its own, closed when the
// test ends, with the defaults New gives it.
func Store(tb testing.TB, rs *redistest.Server, opts store.Options) *store.Store {
	tb.Helper()
	rdb, err := store.NewRedisClient(rs.URL())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rdb.Close() })
	opts.Client = rdb
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return store.New(opts)
}
