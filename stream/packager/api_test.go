package packager_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/stream"
)

// TestAPIListsHLS: /api/media gives each MP4 its HLS master URL, signed
// for the page's grant when signing is on, which plays (ffmpeg) as it is;
// a WebM gets none.
func TestAPIListsHLS(t *testing.T) {
	dir := testMedia(t)
	signer, _ := stream.NewSigner([]string{"k1"})
	s := newServer(t, dir, serverOptions{signer: signer})
	grant := signer.SignGrant("", time.Now().Add(time.Hour))
	code, body := get(t, s.srv.URL+"/api/media?"+url.Values{"grant": {grant}}.Encode())
	if code != 200 {
		t.Fatalf("/api/media: %d %s", code, body)
	}
	var items []struct{ Path, URL, HLS string }
	if err := json.Unmarshal(body, &items); err != nil {
		t.Fatal(err)
	}
	hls := map[string]string{}
	for _, it := range items {
		hls[it.Path] = it.HLS
	}
	if hls["clip.webm"] != "" || hls["title/a.mp4"] == "" {
		t.Fatalf("hls URLs: %v", hls)
	}
	if n := len(frameHashes(t, s.srv.URL+hls["title/a.mp4"], "v:0")); n != 480 {
		t.Errorf("the listed HLS URL decodes to %d video frames, want 480", n)
	}
}

// TestCORSPreflight: with CORS on, a page on an allowed origin gets its
// preflight for a ranged segment request answered, and the segment with
// Access-Control-Allow-Origin.
func TestCORSPreflight(t *testing.T) {
	dir := testMedia(t)
	s := newServer(t, dir, serverOptions{cors: []string{"https://tv.example.com"}})
	req, _ := http.NewRequest(http.MethodOptions, s.srv.URL+"/hls/title/a.mp4/seg-1.m4s", nil)
	req.Header.Set("Origin", "https://tv.example.com")
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "range")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != "https://tv.example.com" ||
		!strings.Contains(strings.ToLower(res.Header.Get("Access-Control-Allow-Headers")), "range") {
		t.Errorf("preflight: %d %v", res.StatusCode, res.Header)
	}
	req, _ = http.NewRequest(http.MethodGet, s.srv.URL+"/hls/title/a.mp4/seg-1.m4s", nil)
	req.Header.Set("Origin", "https://tv.example.com")
	req.Header.Set("Range", "bytes=0-99")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusPartialContent || res.Header.Get("Access-Control-Allow-Origin") != "https://tv.example.com" {
		t.Errorf("segment: %d %v", res.StatusCode, res.Header)
	}
}
