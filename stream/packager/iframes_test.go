package packager_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// TestIFramePlaylist: each entry of the I-frame playlist is a byte range
// of a segment that, after the init segment, decodes (ffmpeg) to exactly
// one video frame: the source's keyframe at that segment's start, hash for
// hash.
func TestIFramePlaylist(t *testing.T) {
	dir := testMedia(t)
	s := newServer(t, dir, serverOptions{})
	src := frameHashes(t, filepath.Join(dir, "title", "a.mp4"), "v:0")
	base := s.srv.URL + "/hls/title/a.mp4/"
	code, pl := get(t, base+"iframes.m3u8")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, pl)
	}
	_, init := get(t, base+"init.mp4")
	entries := regexp.MustCompile(`#EXTINF:([\d.]+),\n#EXT-X-BYTERANGE:(\d+)@(\d+)\n(seg-\d+\.m4s)`).FindAllStringSubmatch(string(pl), -1)
	if len(entries) != 4 {
		t.Fatalf("%d I-frame entries, want 4:\n%s", len(entries), pl)
	}
	tmp := t.TempDir()
	for i, e := range entries {
		n, _ := strconv.Atoi(e[2])
		off, _ := strconv.Atoi(e[3])
		req, _ := http.NewRequest("GET", base+e[4], nil)
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		part, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusPartialContent || len(part) != n {
			t.Fatalf("%s range %d@%d: status %d, %d bytes", e[4], n, off, res.StatusCode, len(part))
		}
		p := filepath.Join(tmp, fmt.Sprintf("iframe%d.mp4", i))
		os.WriteFile(p, append(append([]byte{}, init...), part...), 0o644)
		got := frameHashes(t, p, "v:0")
		want := src[i*144] // a keyframe every 2 s at 24 fps, a segment every 6 s
		if len(got) != 1 || got[0] != want {
			t.Errorf("I-frame %d: %d frames %v, want the one frame %s", i, len(got), got, want)
		}
	}
}
