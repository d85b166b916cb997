package packager_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestAudioGroup: with audio as a rendition group, the master lists the
// audio once (EXT-X-MEDIA) and video-only variants that refer to it, and
// ffmpeg decodes the title to the source's video and audio frames.
func TestAudioGroup(t *testing.T) {
	dir := testMedia(t)
	s := newServer(t, dir, serverOptions{group: true})
	_, m := get(t, s.srv.URL+"/hls/title/master.m3u8")
	for _, want := range []string{
		`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio 2",DEFAULT=YES,AUTOSELECT=YES,URI="./a.mp4/media-2.m3u8"`,
		`AUDIO="audio"` + "\n./a.mp4/media-1.m3u8\n",
		`AUDIO="audio"` + "\n./b.mp4/media-1.m3u8\n",
		`CODECS="avc1.`,
	} {
		if !strings.Contains(string(m), want) {
			t.Errorf("master lacks %q:\n%s", want, m)
		}
	}
	if strings.Count(string(m), "#EXT-X-MEDIA:") != 1 {
		t.Errorf("want one audio rendition:\n%s", m)
	}
	_, v := get(t, s.srv.URL+"/hls/title/a.mp4/media-1.m3u8")
	if !strings.Contains(string(v), `#EXT-X-MAP:URI="init-1.mp4"`) || !strings.Contains(string(v), "seg-1-1.m4s") {
		t.Errorf("video playlist:\n%s", v)
	}
	a := filepath.Join(dir, "title", "a.mp4")
	url := s.srv.URL + "/hls/title/master.m3u8"
	sameHashes(t, "group: video", frameHashes(t, url, "v:0"), frameHashes(t, a, "v:0"))
	sameHashes(t, "group: audio", frameHashes(t, url, "a:0"), frameHashes(t, a, "a:0", "-ignore_editlist", "1"))
}
