package stream

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/poll"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// TestRangeFixes asserts, one by one, where reelcache deliberately answers
// differently from http.ServeContent (see fixRange).
func TestRangeFixes(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 64 << 10})
	const size = 200_000
	data := s.write(t, "v.mp4", size, 1)
	ref := referenceServer(t, s.dir)
	big := "99999999999999999999999" // beyond int64

	tests := []struct {
		name, method, rng string
		status            int
		contentRange      string // "" means none
		body              []byte // nil means not checked (bodiless)
		refDiffers        bool   // ServeContent gets this one wrong
	}{
		{"suffix of zero", "GET", "bytes=-0", 416, "bytes */200000", nil, true},
		{"suffix of zero among others", "GET", "bytes=-0,10-19", 206, "bytes 10-19/200000", data[10:20], true},
		{"unknown unit is ignored", "GET", "items=0-5", 200, "", data, true},
		{"unit is case-insensitive", "GET", "Bytes=0-5", 206, "bytes 0-5/200000", data[:6], true},
		{"plus sign is malformed", "GET", "bytes=+5-9", 416, "", nil, true},
		{"minus sign is malformed", "GET", "bytes=0--9", 416, "", nil, false},
		{"huge last-pos means to the end", "GET", "bytes=199990-" + big, 206, "bytes 199990-199999/200000", data[199990:], true},
		{"huge first-pos is past the end", "GET", "bytes=" + big + "-", 416, "bytes */200000", nil, true},
		{"huge suffix is the whole file", "GET", "bytes=-" + big, 206, "bytes 0-199999/200000", data, true},
		{"HEAD ignores Range", "HEAD", "bytes=0-5", 200, "", nil, true},
		{"malformed without equals", "GET", "bytes 0-5", 416, "", nil, false},
		{"17 ranges: the whole file", "GET", "bytes=" + strings.Repeat("0-0,", 16) + "0-0", 200, "", data, true},
		{"three overlapping ranges: the whole file", "GET", "bytes=0-99,50-149,100-199", 200, "", data, true},
		{"two overlapping ranges: multipart", "GET", "bytes=0-99,50-149", 206, "", nil, false},
		{"10000 specs stop early", "GET", "bytes=" + strings.Repeat("1-2,", 9999) + "1-2", 200, "", data, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := get(t, tt.method, s.url("v.mp4"), "Range: "+tt.rng)
			if got.status != tt.status {
				t.Fatalf("Range %q: status %d, want %d", tt.rng, got.status, tt.status)
			}
			if cr := got.header.Get("Content-Range"); cr != tt.contentRange {
				t.Errorf("Range %q: Content-Range %q, want %q", tt.rng, cr, tt.contentRange)
			}
			if tt.body != nil && !bytes.Equal(got.body, tt.body) {
				t.Errorf("Range %q: body of %d bytes, want the file's %d", tt.rng, len(got.body), len(tt.body))
			}
			if tt.method == "HEAD" && got.header.Get("Content-Length") != fmt.Sprint(size) {
				t.Errorf("HEAD: Content-Length %q, want %d", got.header.Get("Content-Length"), size)
			}
			// The reference really does differ where we say it does, so
			// each fix stays necessary (and is dropped when Go fixes it).
			want := get(t, tt.method, ref.URL+"/media/v.mp4", "Range: "+tt.rng)
			same := want.status == got.status && want.header.Get("Content-Range") == got.header.Get("Content-Range")
			if same == tt.refDiffers {
				t.Errorf("Range %q: ServeContent answers %d %q; refDiffers=%v is out of date",
					tt.rng, want.status, want.header.Get("Content-Range"), tt.refDiffers)
			}
		})
	}
}

// TestHeaders checks the headers every media response carries and the
// conditional requests.
func TestHeaders(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 64 << 10})
	s.write(t, "a/b.webm", 1000, 2)
	r := get(t, "GET", s.url("a/b.webm"), "Accept-Encoding: gzip")
	for k, want := range map[string]string{
		"Content-Type":           "video/webm",
		"Accept-Ranges":          "bytes",
		"Content-Length":         "1000",
		"X-Content-Type-Options": "nosniff",
		"Content-Encoding":       "",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	etag := r.header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, "W/") {
		t.Errorf("ETag %q: want a strong validator", etag)
	}
	if r.header.Get("Last-Modified") == "" {
		t.Error("no Last-Modified")
	}
	if x := r.header.Get("X-Cache"); x != "MISS" {
		t.Errorf("first GET: X-Cache %q, want MISS", x)
	}
	if r := get(t, "GET", s.url("a/b.webm"), "If-None-Match: "+etag); r.status != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: status %d, want 304", r.status)
	}
	lm := r.header.Get("Last-Modified")
	if r := get(t, "GET", s.url("a/b.webm"), "If-Modified-Since: "+lm); r.status != http.StatusNotModified {
		t.Errorf("If-Modified-Since: status %d, want 304", r.status)
	}
	if r := get(t, "GET", s.url("a/b.webm"), "Range: bytes=0-9", `If-Range: "stale"`); r.status != http.StatusOK {
		t.Errorf("If-Range with a stale ETag: status %d, want 200", r.status)
	}
	if r := get(t, "GET", s.url("a/b.webm"), "Range: bytes=0-9", "If-Range: "+etag); r.status != http.StatusPartialContent {
		t.Errorf("If-Range with the ETag: status %d, want 206", r.status)
	}
}

// TestHitAfterFill: after one request the chunks are in Redis, and the same
// request again is a HIT that reads nothing from disk.
func TestHitAfterFill(t *testing.T) {
	for _, fill := range []chunker.FillMode{chunker.FillSync, chunker.FillAsync} {
		t.Run(fmt.Sprint(fill), func(t *testing.T) {
			s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: fill})
			data := s.write(t, "v.mp4", 300_000, 3)
			rng := "Range: bytes=100000-250000"
			r := get(t, "GET", s.url("v.mp4"), rng)
			if r.status != 206 || !bytes.Equal(r.body, data[100000:250001]) || r.header.Get("X-Cache") != "MISS" {
				t.Fatalf("first: %d %q, %d bytes", r.status, r.header.Get("X-Cache"), len(r.body))
			}
			// Chunks 1..3 hold bytes 100000-250000.
			poll.Until(t, 10*time.Second, func() bool { return len(s.redis.Keys(t.Context(), "reelcache:c:*")) == 3 },
				"chunks 1..3 did not land in Redis")
			before := s.cache.Stats()
			r = get(t, "GET", s.url("v.mp4"), rng)
			// The handler counts a write after it returns, which can be
			// after the client has the last byte.
			poll.Wait(5*time.Second, func() bool { return s.cache.Stats().RedisBytes-before.RedisBytes >= 150001 })
			after := s.cache.Stats()
			if r.status != 206 || !bytes.Equal(r.body, data[100000:250001]) {
				t.Fatalf("second: status %d, %d bytes, want the file's", r.status, len(r.body))
			}
			if x := r.header.Get("X-Cache"); x != "HIT" {
				t.Errorf("second: X-Cache %q, want HIT", x)
			}
			if d := after.DiskBytes - before.DiskBytes; d != 0 {
				t.Errorf("second: %d bytes read from disk, want 0", d)
			}
			if d := after.RedisBytes - before.RedisBytes; d != 150001 {
				t.Errorf("second: %d bytes served from Redis, want 150001", d)
			}
			// A range that covers cached and uncached chunks.
			r = get(t, "GET", s.url("v.mp4"), "Range: bytes=0-150000")
			if x := r.header.Get("X-Cache"); x != "PARTIAL" || !bytes.Equal(r.body, data[:150001]) {
				t.Errorf("straddling: X-Cache %q, want PARTIAL and the file's bytes", x)
			}
		})
	}
}

// TestReplacedFile: a file replaced under the same name with other bytes of
// the same size is served with the new bytes, whether replaced by rename or
// rewritten in place with its old modification time put back.
func TestReplacedFile(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync})
	const size = 200_000
	old := s.write(t, "v.mp4", size, 4)
	p := filepath.Join(s.dir, "v.mp4")
	fi, _ := os.Stat(p)
	if r := get(t, "GET", s.url("v.mp4")); !bytes.Equal(r.body, old) {
		t.Fatal("first GET is not the file")
	}
	if r := get(t, "GET", s.url("v.mp4")); r.header.Get("X-Cache") != "HIT" {
		t.Fatalf("second GET: X-Cache %q, want HIT", r.header.Get("X-Cache"))
	}

	// Rename over it.
	next := testmedia.Bytes(size, 5)
	os.WriteFile(p+".tmp", next, 0o644)
	if err := os.Rename(p+".tmp", p); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	if r := get(t, "GET", s.url("v.mp4")); !bytes.Equal(r.body, next) || r.header.Get("X-Cache") != "MISS" {
		t.Fatalf("after rename: X-Cache %q, bytes equal to new file: %v", r.header.Get("X-Cache"), bytes.Equal(r.body, next))
	}

	// Rewrite in place, same size, same mtime.
	third := testmedia.Bytes(size, 6)
	if err := os.WriteFile(p, third, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	if r := get(t, "GET", s.url("v.mp4"), "Range: bytes=1000-99999"); !bytes.Equal(r.body, third[1000:100000]) {
		t.Fatal("after in-place rewrite: not the new bytes")
	}

	// Deleted: 404.
	os.Remove(p)
	if r := get(t, "GET", s.url("v.mp4")); r.status != http.StatusNotFound {
		t.Fatalf("after delete: status %d, want 404", r.status)
	}
}

// TestRedisStopped: with the redis-server killed mid-test, every request
// still gets the right bytes, marked BYPASS or MISS; once the breaker has
// opened, the sendfile path (BYPASS) serves.
func TestRedisStopped(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync, timeout: 200 * time.Millisecond})
	const size = 600_000
	data := s.write(t, "v.mp4", size, 7)
	if r := get(t, "GET", s.url("v.mp4"), "Range: bytes=0-199999"); r.header.Get("X-Cache") != "MISS" {
		t.Fatalf("warm-up: X-Cache %q", r.header.Get("X-Cache"))
	}
	s.redis.Kill()
	seen := map[string]int{}
	for i := range 30 {
		a := int64(i * 15000)
		rng := fmt.Sprintf("bytes=%d-%d", a, a+100_000)
		r := get(t, "GET", s.url("v.mp4"), "Range: "+rng)
		if r.status != 206 || !bytes.Equal(r.body, data[a:a+100_001]) {
			t.Fatalf("%s with Redis down: status %d, %d bytes, want the file's", rng, r.status, len(r.body))
		}
		x := r.header.Get("X-Cache")
		if x != "BYPASS" && x != "MISS" {
			t.Fatalf("%s with Redis down: X-Cache %q, want BYPASS or MISS", rng, x)
		}
		seen[x]++
	}
	if seen["BYPASS"] == 0 {
		t.Errorf("X-Cache counts %v: the breaker never opened", seen)
	}
	// Whole file and multipart too.
	if r := get(t, "GET", s.url("v.mp4")); !bytes.Equal(r.body, data) {
		t.Error("whole file with Redis down: wrong bytes")
	}
}

// TestPaths: names the server could never serve are 404 and say nothing of
// the file system. (Issue 6 extends this table.)
func TestPaths(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 64 << 10, noRedis: true})
	s.write(t, "ok.mp4", 10, 8)
	s.write(t, ".hidden.mp4", 10, 8)
	s.write(t, ".dir/x.mp4", 10, 8)
	s.write(t, "notes.txt", 10, 8)
	s.write(t, "dir.mp4/x.mp4", 10, 8)
	outside := filepath.Join(filepath.Dir(s.dir), filepath.Base(s.dir)+"-secret.mp4")
	os.WriteFile(outside, []byte("secret"), 0o644)
	t.Cleanup(func() { os.Remove(outside) })
	os.Symlink(outside, filepath.Join(s.dir, "escape.mp4"))
	os.Symlink("ok.mp4", filepath.Join(s.dir, "inside.mp4"))

	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/media/ok.mp4", 200},
		{"/media/OK.mp4", 404},
		{"/media/inside.mp4", 200},
		{"/media/escape.mp4", 404},
		{"/media/.hidden.mp4", 404},
		{"/media/.dir/x.mp4", 404},
		{"/media/notes.txt", 404},
		{"/media/dir.mp4", 404},
		{"/media/dir.mp4/x.mp4", 200},
		{"/media/../" + filepath.Base(s.dir) + "-secret.mp4", 404},
		{"/media/%2e%2e/" + filepath.Base(s.dir) + "-secret.mp4", 404},
		{"/media/..%2f" + filepath.Base(s.dir) + "-secret.mp4", 404},
		{"/media/%252e%252e/x.mp4", 404},
		{"/media/..%5c" + filepath.Base(s.dir) + "-secret.mp4", 404},
		{"/media/ok.mp4%00.mp4", 404},
		{"/media//ok.mp4", 404},
		{"/media/./ok.mp4", 404},
		{"/media/", 404},
		{"/media", 404},
	} {
		req, _ := http.NewRequest("GET", s.srv.URL, nil)
		req.URL.Opaque = tt.path // sent as written, not cleaned by the client
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		body.ReadFrom(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.path, res.StatusCode, tt.status)
		}
		if bytes.Contains(body.Bytes(), []byte("secret")) || bytes.Contains(body.Bytes(), []byte(s.dir)) {
			t.Errorf("%s: body %q leaks", tt.path, body.String())
		}
	}
}
