package packager_test

import (
	"encoding/json"
	"net/url"
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
