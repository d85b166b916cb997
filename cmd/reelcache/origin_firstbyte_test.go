package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/nginxtest"
	"github.com/reelcache/reelcache/internal/redistest"
)

// TestOriginFailsAfterItsMetadata: an origin whose metadata answers (a HEAD
// that succeeds, or metadata still trusted within media.origin_ttl) but
// whose ranged GET then fails or hangs gives the viewer 502 or 504 within
// the origin timeout, with an error body and no promise of the file's
// bytes, for a plain GET, a range and a multipart range; never a 200 or
// 206 header followed by a cut connection. Nothing is cached.
func TestOriginFailsAfterItsMetadata(t *testing.T) {
	dir := t.TempDir()
	data := randomData(300_000, 21)
	os.WriteFile(filepath.Join(dir, "a.mp4"), data, 0o644)
	// HEAD answers as nginx always does; every GET fails.
	getFails := nginxtest.Start(t, nginxtest.Options{Root: dir, Location: `if ($request_method = GET) { return 500; }`})
	s3srv, s3flags, big := s3Library(t)

	requests := []struct {
		name   string
		header []string
	}{
		{"whole", nil},
		{"range", []string{"Range: bytes=1000-1999"}},
		{"multipart", []string{"Range: bytes=0-9,200000-200009"}},
	}
	for _, tt := range []struct {
		name  string
		flags []string
		path  string
		// fail makes the origin's GETs fail once the metadata is known.
		fail func(t *testing.T, url string)
		want int
		log  string
	}{
		{"GET answers 500", []string{"--media-origin", getFails.URL(), "--cache-fill", "sync"}, "/media/a.mp4", func(*testing.T, string) {}, 502, "the origin is unavailable"},
		// Fast start off: with it, a HEAD of an MP4 reads the file's head
		// to find its moov (and caches that chunk).
		{"GET hangs", append([]string{"--cache-fill", "sync", "--media-faststart=false"}, s3flags...), "/media/big.mp4", func(t *testing.T, url string) {
			// A HEAD leaves the metadata trusted for media.origin_ttl
			// (10s) and reads no chunk; then the origin stops answering.
			req, _ := http.NewRequest("HEAD", url, nil)
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 || res.ContentLength != int64(len(big)) {
				t.Fatalf("HEAD before the hang: %d, %d bytes", res.StatusCode, res.ContentLength)
			}
			s3srv.Pause()
			t.Cleanup(s3srv.Resume)
		}, 504, "the origin timed out"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs := redistest.Start(t)
			srv := startServe(t, append([]string{"--redis-url", rs.URL(), "--chunk-size", "64KiB", "--media-origin-timeout", "1s"}, tt.flags...)...)
			tt.fail(t, srv.url+tt.path)
			cachedBefore := len(rs.Keys(t.Context(), "reelcache:c:*"))
			for _, r := range requests {
				start := time.Now()
				code, hdr, body := httpGet(t, srv.url+tt.path, r.header...)
				took := time.Since(start)
				if code != tt.want {
					t.Errorf("%s: status %d, want %d", r.name, code, tt.want)
				}
				// Two attempts of at most 1s each, then the answer.
				if took > 2500*time.Millisecond {
					t.Errorf("%s: answered after %s, past the 1s origin timeout and its one retry", r.name, took)
				}
				if !bytes.HasPrefix(body, []byte(`{"message":"`)) || len(body) > 100 || hdr.Get("Content-Type") != "application/json" {
					t.Errorf("%s: %d bytes of %s, want a JSON error", r.name, len(body), hdr.Get("Content-Type"))
				}
				for _, k := range []string{"Content-Range", "ETag"} {
					if v := hdr.Get(k); v != "" {
						t.Errorf("%s: error response carries %s: %s", r.name, k, v)
					}
				}
				if cc := hdr.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("%s: Cache-Control %q, want no-store", r.name, cc)
				}
			}
			if n := len(rs.Keys(t.Context(), "reelcache:c:*")); n != cachedBefore {
				t.Errorf("%d chunks cached while the origin failed (%d before)", n, cachedBefore)
			}
			settle(func() bool { return strings.Contains(srv.stderr.String(), tt.log) })
			if logs := srv.stderr.String(); !strings.Contains(logs, tt.log) {
				t.Errorf("log does not say %q:\n%s", tt.log, logs)
			}
		})
	}
}
