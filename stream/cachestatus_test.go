package stream

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/poll"
)

// scrapeServed returns reelcache_served_bytes_total by source, from the
// server's /metrics.
func scrapeServed(t *testing.T, s *server) map[string]int64 {
	t.Helper()
	r := get(t, "GET", s.srv.URL+"/metrics")
	out := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, `reelcache_served_bytes_total{source="`)
		if !ok {
			continue
		}
		src, val, _ := strings.Cut(rest, `"} `)
		f, err := strconv.ParseFloat(val, 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[src] = int64(f)
	}
	if len(out) != 3 {
		t.Fatalf("served-bytes metrics %v in:\n%s", out, r.body)
	}
	return out
}

// cacheStep is one request and what it must say and count.
type cacheStep struct {
	name, method string
	header       []string
	status       int
	xcache, cs   string
	// Body bytes the metrics must count, by source.
	redis, local, disk int64
}

// runSteps sends each step and checks the headers and the exact byte
// counts of reelcache_served_bytes_total.
func runSteps(t *testing.T, s *server, name string, steps []cacheStep) {
	t.Helper()
	for _, st := range steps {
		before := scrapeServed(t, s)
		r := get(t, st.method, s.url(name), st.header...)
		if r.status != st.status || r.header.Get("X-Cache") != st.xcache || r.header.Get("Cache-Status") != st.cs {
			t.Errorf("%s: %d X-Cache %q Cache-Status %q; want %d %q %q", st.name, r.status,
				r.header.Get("X-Cache"), r.header.Get("Cache-Status"), st.status, st.xcache, st.cs)
		}
		want := map[string]int64{"redis": st.redis, "local": st.local, "disk": st.disk}
		var got map[string]int64
		// The handler counts a response once it has been written.
		poll.Wait(5*time.Second, func() bool {
			got = scrapeServed(t, s)
			for src, n := range want {
				if got[src]-before[src] != n {
					return false
				}
			}
			return true
		})
		for src, n := range want {
			if d := got[src] - before[src]; d != n {
				t.Errorf("%s: served_bytes{source=%q} grew by %d, want %d", st.name, src, d, n)
			}
		}
		// A chunk read from the origin enters the local tier (and Redis)
		// just after its readers have the bytes: let the step's flights
		// end before the next step asks.
		poll.Until(t, 10*time.Second, func() bool { return s.cache.Stats().Inflight == 0 }, "the cache still holds chunk bytes")
	}
}

// TestCacheStatus: X-Cache, Cache-Status (RFC 9211) and the served-bytes
// metric agree, to the byte, for every way a response is served: HIT from
// Redis, from the local tier and from both; PARTIAL; MISS; BYPASS; 304;
// 416 (issue 13 item 3, issue 16).
func TestCacheStatus(t *testing.T) {
	const cs = 64 << 10
	t.Run("redis", func(t *testing.T) {
		s := newServer(t, serverOptions{chunkSize: cs, fill: chunker.FillSync, metrics: true})
		s.write(t, "v.mp4", 3*cs, 1)
		runSteps(t, s, "v.mp4", []cacheStep{
			{"cold", "GET", []string{"Range: bytes=0-99999"}, 206, "MISS", "reelcache; fwd=miss", 0, 0, 100000},
			{"warm", "GET", []string{"Range: bytes=0-99999"}, 206, "HIT", "reelcache; hit", 100000, 0, 0},
			{"HEAD of a partly cached file", "HEAD", nil, 200, "PARTIAL", "reelcache; fwd=partial", 0, 0, 0},
			{"straddling", "GET", []string{"Range: bytes=100000-150000"}, 206, "PARTIAL", "reelcache; fwd=partial", 31072, 0, 18929},
			{"past the end", "GET", []string{"Range: bytes=999999-"}, 416, "MISS", "reelcache; fwd=miss", 0, 0, 0},
		})
		etag := get(t, "HEAD", s.url("v.mp4")).header.Get("ETag")
		runSteps(t, s, "v.mp4", []cacheStep{
			{"not modified", "GET", []string{"If-None-Match: " + etag}, 304, "MISS", "reelcache; fwd=miss; fwd-status=304", 0, 0, 0},
		})
	})
	t.Run("local tier", func(t *testing.T) {
		// Fill off: what is read from disk enters the local tier only
		// (when a second request reads it), so each tier's part is known
		// exactly.
		s := newServer(t, serverOptions{chunkSize: cs, fill: chunker.FillOff, local: 8 * cs, metrics: true})
		data := s.write(t, "v.mp4", 3*cs, 2)
		runSteps(t, s, "v.mp4", []cacheStep{
			{"cold", "GET", []string{"Range: bytes=0-9999"}, 206, "MISS", "reelcache; fwd=miss", 0, 0, 10000},
			{"a second request: the tier takes it", "GET", []string{"Range: bytes=0-9999"}, 206, "MISS", "reelcache; fwd=miss", 0, 0, 10000},
			{"from the local tier", "GET", []string{"Range: bytes=0-9999"}, 206, "HIT", "reelcache; hit; detail=local", 0, 10000, 0},
		})
		// Chunk 1 in Redis only (as another instance would have put it).
		f, err := s.cache.Open(t.Context(), "v.mp4")
		if err != nil {
			t.Fatal(err)
		}
		key := f.Key(1)
		f.Close()
		if err := s.store.Set(t.Context(), []string{key}, [][]byte{s.store.Codec().Sealed(key, data[cs:2*cs])}); err != nil {
			t.Fatal(err)
		}
		runSteps(t, s, "v.mp4", []cacheStep{
			{"both tiers", "GET", []string{fmt.Sprintf("Range: bytes=%d-%d", cs-100, cs+99)}, 206, "HIT", "reelcache; hit; detail=mixed", 100, 100, 0},
			// Chunk 1 is asked for a second time: it comes from Redis
			// whole and enters the local tier.
			{"the tiers and disk", "GET", []string{fmt.Sprintf("Range: bytes=%d-%d", cs-100, 2*cs+99)}, 206, "PARTIAL", "reelcache; fwd=partial", cs, 100, 100},
			// Chunk 2 is asked for a second time: read from disk and kept.
			{"chunk 2 again", "GET", []string{fmt.Sprintf("Range: bytes=%d-%d", cs-100, 2*cs+99)}, 206, "PARTIAL", "reelcache; fwd=partial", 0, cs + 100, 100},
			{"all local now", "GET", []string{fmt.Sprintf("Range: bytes=%d-%d", cs-100, 2*cs+99)}, 206, "HIT", "reelcache; hit; detail=local", 0, cs + 200, 0},
		})
	})
	t.Run("cache off", func(t *testing.T) {
		s := newServer(t, serverOptions{noRedis: true, metrics: true})
		s.write(t, "v.mp4", 3*cs, 3)
		etag := get(t, "HEAD", s.url("v.mp4")).header.Get("ETag")
		runSteps(t, s, "v.mp4", []cacheStep{
			{"bypass", "GET", []string{"Range: bytes=10-19"}, 206, "BYPASS", "reelcache; fwd=bypass", 0, 0, 10},
			{"bypass 304", "GET", []string{"If-None-Match: " + etag}, 304, "BYPASS", "reelcache; fwd=bypass", 0, 0, 0},
		})
	})
}
