package stream

import (
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
)

// TestCacheControl: media successes carry http.cache_control, 304 included
// (it must repeat the 200's); errors, the API and the page are no-store.
func TestCacheControl(t *testing.T) {
	const cc = "max-age=60, must-revalidate"
	signer, _ := NewSigner([]string{"cache-control-key-0123456789"})
	s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync,
		opts: func(o *Options) { o.CacheControl, o.Signer = cc, signer }})
	s.write(t, "v.mp4", 1000, 1)
	u := s.srv.URL + signer.SignURL("v.mp4", time.Now().Add(time.Hour))
	etag := get(t, "HEAD", u).header.Get("ETag")
	grant := signer.SignGrant("", time.Now().Add(time.Hour))
	for _, tt := range []struct {
		name, url string
		header    []string
		status    int
		want      string
	}{
		{"200", u, nil, 200, cc},
		{"206", u, []string{"Range: bytes=0-9"}, 206, cc},
		{"HEAD", u, nil, 200, cc},
		{"304", u, []string{"If-None-Match: " + etag}, 304, cc},
		{"416", u, []string{"Range: bytes=5000-"}, 416, "no-store"},
		{"403", s.url("v.mp4"), nil, 403, "no-store"},
		{"404", s.srv.URL + signer.SignURL("nope.mp4", time.Now().Add(time.Hour)), nil, 404, "no-store"},
		{"listing", s.srv.URL + "/api/media?grant=" + grant, nil, 200, "no-store"},
		{"chunk map", s.srv.URL + "/api/chunks/v.mp4?grant=" + grant, nil, 200, "no-store"},
		{"page", s.srv.URL + "/", nil, 200, "no-store"},
	} {
		method := "GET"
		if tt.name == "HEAD" {
			method = "HEAD"
		}
		r := get(t, method, tt.url, tt.header...)
		if r.status != tt.status || r.header.Get("Cache-Control") != tt.want {
			t.Errorf("%s: status %d, Cache-Control %q; want %d, %q", tt.name, r.status, r.header.Get("Cache-Control"), tt.status, tt.want)
		}
	}
}
