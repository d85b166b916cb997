package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/cachewarm"
	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// TestBrowserPlaysAndSeeksFromS3 drives headless Chromium through the
// player page with the samples in a real S3 server: cold (every chunk from
// the origin's ranged GETs), after warm (every response a HIT), and with
// Redis killed (bytes from the origin again).
func TestBrowserPlaysAndSeeksFromS3(t *testing.T) {
	srv := s3Samples(t, "v/")
	s := newE2EServer(t, func(c *config.Config) {
		c.Media.Root = ""
		c.Media.Origin = config.Origin{URL: "s3://media/v/", S3Endpoint: srv.Endpoint(), S3PathStyle: true, TTL: 10 * time.Second, Timeout: 5 * time.Second}
	})
	waitHTTP(t, s.url+"/")
	bctx := newBrowser(t)

	check := func(t *testing.T, phase string, want func(served) bool) {
		for _, name := range testmedia.SampleNames() {
			res := playInBrowser(t, bctx, s.url, name, "")
			var ranged int
			for _, r := range s.take() {
				if !strings.HasSuffix(r.path, "/"+name) {
					continue
				}
				if r.status == 206 {
					ranged++
				}
				if r.status >= 400 || !want(r) {
					t.Errorf("%s %s: unexpected response %d X-Cache %q for Range %q", phase, name, r.status, r.xcache, r.rng)
				}
			}
			if ranged == 0 {
				t.Errorf("%s %s: no 206 responses", phase, name)
			}
			t.Logf("%s %s: duration %.1fs, seeks %v ms", phase, name, res.Duration, seekTimes(res))
		}
	}
	t.Run("cold", func(t *testing.T) {
		check(t, "cold", func(served) bool { return true })
	})
	t.Run("warm", func(t *testing.T) {
		rep, err := cachewarm.Warm(t.Context(), testmedia.SampleNames(), cachewarm.Options{Cache: s.cache, Force: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil || rep.Failed != 0 {
			t.Fatalf("warm: %+v %v", rep, err)
		}
		check(t, "warm", func(r served) bool { return r.xcache == "HIT" })
	})
	t.Run("redis down", func(t *testing.T) {
		s.redis.Kill()
		check(t, "redis down", func(r served) bool { return r.xcache != "HIT" })
	})
}
