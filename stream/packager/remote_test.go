package packager_test

import (
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker/origin"
	"github.com/reelcache/reelcache/internal/nginxtest"
)

// TestRemoteOrigin: over an HTTP origin (a real nginx), indexing a
// moov-at-end file fetches from the origin at most the moov's chunks and
// two more, all as ranged GETs, and ffmpeg decodes the packaged HLS to the
// source's frames.
func TestRemoteOrigin(t *testing.T) {
	dir := testMedia(t)
	ng := nginxtest.Start(t, nginxtest.Options{Root: dir})
	o, err := origin.NewHTTP(origin.HTTPOptions{URL: ng.URL(), Options: origin.Options{TTL: time.Hour, Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, dir, serverOptions{origin: o})
	if code, body := get(t, s.srv.URL+"/hls/end.mp4/media.m3u8"); code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	var gets, sent int64
	sentRE := regexp.MustCompile(`sent=(\d+)`)
	for _, l := range ng.AccessLog() {
		if len(l) > 4 && l[:4] == "GET " {
			gets++
			if m := sentRE.FindStringSubmatch(l); m != nil {
				n, _ := strconv.ParseInt(m[1], 10, 64)
				sent += n
			}
		}
	}
	const chunk = 64 << 10
	if gets == 0 || sent > 3*chunk+4096 { // end.mp4's moov lies in one chunk
		t.Errorf("indexing over HTTP: %d GETs, %d bytes sent by the origin; want at most 3 chunks (moov + 2)\n%q", gets, sent, ng.AccessLog())
	}
	t.Logf("indexing over HTTP: %d GETs, %d bytes from the origin", gets, sent)
	src := filepath.Join(dir, "title", "a.mp4")
	sameHashes(t, "HLS over an HTTP origin, video", frameHashes(t, s.srv.URL+"/hls/end.mp4/master.m3u8", "v:0"), frameHashes(t, src, "v:0"))
}
