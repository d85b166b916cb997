package stream

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/poll"
)

// TestList checks /api/media.
func TestList(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync})
	s.write(t, "b/one two.mp4", 200_000, 9)
	s.write(t, "a.webm", 10, 9)
	s.write(t, "skip.txt", 10, 9)
	s.write(t, ".hidden/x.mp4", 10, 9)
	get(t, "GET", s.url("b/one two.mp4"), "Range: bytes=0-0")

	r := get(t, "GET", s.srv.URL+"/api/media")
	var items []mediaItem
	if err := json.Unmarshal(r.body, &items); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	if len(items) != 2 || items[0].Path != "a.webm" || items[1].Path != "b/one two.mp4" {
		t.Fatalf("items %+v, want a.webm and b/one two.mp4", items)
	}
	it := items[1]
	if it.Size != 200_000 || it.ChunksTotal != 4 || it.ChunksCached == nil || *it.ChunksCached != 1 ||
		it.ContentType != "video/mp4" || it.URL != "/media/b/one%20two.mp4" {
		t.Errorf("item %+v", it)
	}
	if r := get(t, "GET", s.srv.URL+it.URL); r.status != 200 || len(r.body) != 200_000 {
		t.Errorf("GET %s: status %d", it.URL, r.status)
	}
}

// TestPage: the player page is served with a Content-Security-Policy.
func TestPage(t *testing.T) {
	s := newServer(t, serverOptions{noRedis: true})
	r := get(t, "GET", s.srv.URL+"/")
	if r.status != 200 || !bytes.Contains(r.body, []byte("<video")) {
		t.Fatalf("GET /: %d %.80q", r.status, r.body)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if r := get(t, "GET", s.srv.URL+"/app.js"); r.status != 200 {
		t.Errorf("GET /app.js: %d", r.status)
	}
}

// TestChunksAPI: /api/chunks reports the chunk map and the bytes this
// server sent from each source.
func TestChunksAPI(t *testing.T) {
	for _, tt := range []struct {
		name                 string
		localBytes           int64 // cache.local_bytes
		fromRedis, fromLocal int64 // bytes the second request is served from each
	}{
		{"redis", 0, 10000, 0},
		// The local tier took the chunks when a second request read them
		// (from Redis), and serves the third.
		{"local tier", 1 << 20, 70001, 10000},
	} {
		t.Run(tt.name, func(t *testing.T) { testChunksAPI(t, tt.localBytes, tt.fromRedis, tt.fromLocal) })
	}
}

func testChunksAPI(t *testing.T, localBytes, fromRedis, fromLocal int64) {
	s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync, local: localBytes})
	s.write(t, "d/v.mp4", 300_000, 12)
	get(t, "GET", s.url("d/v.mp4"), "Range: bytes=70000-140000") // chunks 1-2 from disk
	if localBytes > 0 {
		get(t, "GET", s.url("d/v.mp4"), "Range: bytes=70000-140000") // from Redis, into the tier
	}
	if r := get(t, "GET", s.url("d/v.mp4"), "Range: bytes=70000-79999"); r.header.Get("X-Cache") != "HIT" {
		t.Errorf("second request: X-Cache %q, want HIT", r.header.Get("X-Cache"))
	}
	var m chunkMap
	var r response
	// The handler counts bytes after the response is sent.
	poll.Wait(5*time.Second, func() bool {
		r = get(t, "GET", s.srv.URL+"/api/chunks/d/v.mp4")
		m = chunkMap{}
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatalf("decode %s: %v", r.body, err)
		}
		return m.DiskBytes+m.RedisBytes+m.LocalBytes >= 70001+fromRedis+fromLocal
	})
	if m.Map != "01100" || m.ChunksCached == nil || *m.ChunksCached != 2 || m.ChunkSize != 64<<10 || m.ChunksTotal != 5 {
		t.Errorf("chunk map %+v", m)
	}
	if m.DiskBytes != 70001 || m.RedisBytes != fromRedis || m.LocalBytes != fromLocal {
		t.Errorf("served bytes: disk %d redis %d local %d, want 70001, %d and %d", m.DiskBytes, m.RedisBytes, m.LocalBytes, fromRedis, fromLocal)
	}
	for _, p := range []string{"/api/chunks/nope.mp4", "/api/chunks/../x.mp4", "/api/chunks/", "/api/chunks/d/v.txt"} {
		if r := get(t, "GET", s.srv.URL+p); r.status != 404 {
			t.Errorf("%s: status %d, want 404", p, r.status)
		}
	}
	s.redis.Kill()
	r = get(t, "GET", s.srv.URL+"/api/chunks/d/v.mp4")
	if err := json.Unmarshal(r.body, &m); err != nil || r.status != 200 || m.ChunksCached != nil || m.Map != "" {
		t.Errorf("with Redis down: %d %s", r.status, r.body)
	}
}
