package packager_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/stream"
)

// sameHashes fails unless got equals want, saying where they part.
func sameHashes(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: the source decoded to no frames", what)
	}
	if slices.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Errorf("%s: %d frames, want %d; first difference at frame %d", what, len(got), len(want), i)
}

// TestFrameHashes: ffmpeg decodes the HLS master playlists (of one file,
// of a directory of two renditions, of a moov-at-end file) and the DASH
// MPD served by the packager over Redis, and gets the source's decoded
// video and audio frames, hash for hash.
//
// The audio reference is the source decoded with -ignore_editlist: the
// packager carries the source's edit list in the init segment (so a player
// that applies it, as browsers do, drops the AAC priming frame), but
// ffmpeg applies an edit list only to unfragmented files, so from any fMP4,
// its own HLS muxer's output included, it decodes the priming frame too.
func TestFrameHashes(t *testing.T) {
	dir := testMedia(t)
	s := newServer(t, dir, serverOptions{})
	a := filepath.Join(dir, "title", "a.mp4")
	b := filepath.Join(dir, "title", "b.mp4")
	ref := map[string][2][]string{
		a: {frameHashes(t, a, "v:0"), frameHashes(t, a, "a:0", "-ignore_editlist", "1")},
		b: {frameHashes(t, b, "v:0"), frameHashes(t, b, "a:0", "-ignore_editlist", "1")},
	}
	if v := frameHashes(t, a, "v:0", "-ignore_editlist", "1"); !slices.Equal(v, ref[a][0]) {
		t.Fatal("the source's video frames depend on its edit list: the reference is wrong")
	}
	cases := []struct{ url, src string }{
		{"/hls/title/a.mp4/master.m3u8", a},
		{"/hls/title/master.m3u8", a}, // the first variant
		{"/hls/title/b.mp4/media.m3u8", b},
		{"/hls/end.mp4/master.m3u8", a},
		{"/dash/title/a.mp4/manifest.mpd", a},
		{"/dash/end.mp4/manifest.mpd", a},
		{"/hls/frag.mp4/master.m3u8", a}, // byte ranges of /media/frag.mp4
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.url, "/", "_"), func(t *testing.T) {
			sameHashes(t, c.url+" video", frameHashes(t, s.srv.URL+c.url, "v:0"), ref[c.src][0])
			sameHashes(t, c.url+" audio", frameHashes(t, s.srv.URL+c.url, "a:0"), ref[c.src][1])
		})
	}
	if keys := s.redis.Keys(context.Background(), "*mp4index*"); len(keys) == 0 {
		t.Error("no index stored in Redis")
	}
	// H.265 (hvc1), video only.
	hevc := filepath.Join(dir, "hevc.mp4")
	for _, u := range []string{"/hls/hevc.mp4/master.m3u8", "/dash/hevc.mp4/manifest.mpd"} {
		sameHashes(t, u+" video", frameHashes(t, s.srv.URL+u, "v:0"), frameHashes(t, hevc, "v:0"))
	}
	if _, m := get(t, s.srv.URL+"/hls/hevc.mp4/master.m3u8"); !strings.Contains(string(m), `CODECS="hvc1.1.6.L`) {
		t.Errorf("HEVC master playlist:\n%s", m)
	}
	// A fragmented source is not remuxed: its playlist points into the file.
	_, pl := get(t, s.srv.URL+"/hls/frag.mp4/media.m3u8")
	if !strings.Contains(string(pl), `#EXT-X-MAP:URI="/media/frag.mp4",BYTERANGE=`) || !strings.Contains(string(pl), "#EXT-X-BYTERANGE:") {
		t.Errorf("fragmented source's playlist is not byte ranges of /media/frag.mp4:\n%s", pl)
	}
}

// TestMasterPlaylist: a directory's master lists both renditions with
// their figures from the index, and I-frame playlists.
func TestMasterPlaylist(t *testing.T) {
	dir := testMedia(t)
	s := newServer(t, dir, serverOptions{})
	code, body := get(t, s.srv.URL+"/hls/title/master.m3u8")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	m := string(body)
	for _, want := range []string{
		`RESOLUTION=320x180`, `RESOLUTION=160x90`, `CODECS="avc1.`, `,mp4a.40.2"`, `FRAME-RATE=24.000`,
		"./a.mp4/media.m3u8", "./b.mp4/media.m3u8", `#EXT-X-I-FRAME-STREAM-INF:`, `URI="./a.mp4/iframes.m3u8"`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("master playlist lacks %q:\n%s", want, m)
		}
	}
	bw := regexp.MustCompile(`BANDWIDTH=(\d+),AVERAGE-BANDWIDTH=(\d+)`).FindAllStringSubmatch(m, -1)
	if len(bw) != 2 || bw[0][1] <= bw[1][1] && len(bw[0][1]) <= len(bw[1][1]) {
		t.Errorf("want a.mp4's BANDWIDTH above b.mp4's: %v", bw)
	}
	_, media := get(t, s.srv.URL+"/hls/title/a.mp4/media.m3u8")
	for _, want := range []string{"#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-ENDLIST", "#EXT-X-INDEPENDENT-SEGMENTS", `#EXT-X-MAP:URI="init.mp4"`, "#EXT-X-TARGETDURATION:6\n", "#EXTINF:6.000000,\nseg-1.m4s"} {
		if !strings.Contains(string(media), want) {
			t.Errorf("media playlist lacks %q:\n%s", want, media)
		}
	}
}

// segmentsOf returns the segment URIs of a media playlist.
func segmentsOf(pl string) []string {
	var out []string
	for line := range strings.SplitSeq(pl, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// TestProbeSegments: ffprobe reads every HLS segment and every DASH
// segment of each track, each with its init segment, and finds the
// segment's packets, starting with a keyframe for video.
func TestProbeSegments(t *testing.T) {
	dir := testMedia(t)
	s := newServer(t, dir, serverOptions{})
	tmp := t.TempDir()
	probe := func(name string, init, seg []byte, wantStreams int) {
		t.Helper()
		p := filepath.Join(tmp, "probe.mp4")
		os.WriteFile(p, append(append([]byte{}, init...), seg...), 0o644)
		out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "packet=stream_index,flags", "-of", "csv=p=0", p).CombinedOutput()
		if err != nil || strings.Contains(string(out), "rror") {
			t.Fatalf("ffprobe %s: %v\n%s", name, err, out)
		}
		lines := strings.Fields(string(out))
		if len(lines) == 0 {
			t.Fatalf("ffprobe %s: no packets", name)
		}
		streams := map[string]bool{}
		for _, l := range lines {
			streams[strings.Split(l, ",")[0]] = true
		}
		if len(streams) != wantStreams {
			t.Errorf("ffprobe %s: %d streams, want %d", name, len(streams), wantStreams)
		}
		if !strings.HasPrefix(lines[0], "0,K") && !strings.Contains(lines[0], "K") {
			t.Errorf("ffprobe %s: first packet %q is not a keyframe", name, lines[0])
		}
	}
	base := s.srv.URL + "/hls/title/a.mp4/"
	_, pl := get(t, base+"media.m3u8")
	_, init := get(t, base+"init.mp4")
	segs := segmentsOf(string(pl))
	if len(segs) != 4 {
		t.Fatalf("%d segments for 20 s at 6 s, want 4", len(segs))
	}
	for _, seg := range segs {
		code, b := get(t, base+seg)
		if code != http.StatusOK {
			t.Fatalf("%s: status %d", seg, code)
		}
		probe("hls "+seg, init, b, 2)
	}
	dbase := s.srv.URL + "/dash/title/a.mp4/"
	for _, track := range []string{"1", "2"} {
		_, init := get(t, dbase+"init-"+track+".mp4")
		for n := 1; n <= 4; n++ {
			seg := "seg-" + track + "-" + string(rune('0'+n)) + ".m4s"
			code, b := get(t, dbase+seg)
			if code != http.StatusOK {
				t.Fatalf("%s: status %d", seg, code)
			}
			probe("dash "+seg, init, b, 1)
		}
		if code, _ := get(t, dbase+"seg-"+track+"-5.m4s"); code != http.StatusNotFound {
			t.Errorf("segment past the end: status %d, want 404", code)
		}
	}
}

// TestBadInput: files the packager cannot carry get a 4xx with a JSON
// message on /hls and /dash, while /media/ still serves them.
func TestBadInput(t *testing.T) {
	dir := testMedia(t)
	bad := t.TempDir()
	webm, _ := os.ReadFile(filepath.Join(dir, "clip.webm"))
	good, _ := os.ReadFile(filepath.Join(dir, "title", "a.mp4"))
	os.WriteFile(filepath.Join(bad, "clip.webm"), webm, 0o644)
	os.WriteFile(filepath.Join(bad, "webm.mp4"), webm, 0o644)         // WebM named .mp4
	os.WriteFile(filepath.Join(bad, "short.mp4"), good[:3000], 0o644) // moov cut short
	hostile := append([]byte{}, good...)
	i := bytes.Index(hostile, []byte("stsz"))
	copy(hostile[i+12:], []byte{0xff, 0xff, 0xff, 0xf0}) // sample count far past the table
	os.WriteFile(filepath.Join(bad, "hostile.mp4"), hostile, 0o644)
	// The video's stss emptied (count 0), a free box over the rest of it.
	nosync := append([]byte{}, good...)
	i = bytes.Index(nosync, []byte("stss")) - 4
	old := int(binary.BigEndian.Uint32(nosync[i:]))
	copy(nosync[i:], []byte{0, 0, 0, 16, 's', 't', 's', 's', 0, 0, 0, 0, 0, 0, 0, 0})
	binary.BigEndian.PutUint32(nosync[i+16:], uint32(old-16))
	copy(nosync[i+20:], "free")
	os.WriteFile(filepath.Join(bad, "nosync.mp4"), nosync, 0o644)
	s := newServer(t, bad, serverOptions{})
	cases := []struct {
		path string
		code int
		msg  string // in the message
	}{
		{"/hls/nosync.mp4/master.m3u8", http.StatusUnprocessableEntity, "no sync samples"},
		{"/dash/nosync.mp4/manifest.mpd", http.StatusUnprocessableEntity, "no sync samples"},
		{"/hls/webm.mp4/master.m3u8", http.StatusUnsupportedMediaType, "not an MP4"},
		{"/dash/webm.mp4/manifest.mpd", http.StatusUnsupportedMediaType, "not an MP4"},
		{"/hls/short.mp4/master.m3u8", http.StatusUnprocessableEntity, "cannot package"},
		{"/hls/hostile.mp4/media.m3u8", http.StatusUnprocessableEntity, "cannot package"},
		{"/hls/hostile.mp4/seg-1.m4s", http.StatusUnprocessableEntity, "cannot package"},
		{"/hls/missing.mp4/master.m3u8", http.StatusNotFound, "Not Found"},
		{"/hls/clip.webm/master.m3u8", http.StatusUnsupportedMediaType, "not an MP4"},
		{"/dash/clip.webm/manifest.mpd", http.StatusUnsupportedMediaType, "not an MP4"},
		{"/hls/clip.webm/media.m3u8", http.StatusNotFound, "Not Found"},
		{"/hls/../x.mp4/master.m3u8", http.StatusNotFound, "Not Found"},
	}
	for _, c := range cases {
		res, err := http.Get(s.srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		var msg struct{ Message string }
		err = json.NewDecoder(res.Body).Decode(&msg)
		res.Body.Close()
		if res.StatusCode != c.code || err != nil || msg.Message == "" {
			t.Errorf("%s: status %d, message %q (%v); want %d with a JSON message", c.path, res.StatusCode, msg.Message, err, c.code)
		}
		if !strings.Contains(msg.Message, c.msg) {
			t.Errorf("%s: message %q, want it to say %q", c.path, msg.Message, c.msg)
		}
		if strings.Contains(msg.Message, bad) {
			t.Errorf("%s: the message names a path: %q", c.path, msg.Message)
		}
	}
	for _, name := range []string{"clip.webm", "short.mp4"} {
		if code, _ := get(t, s.srv.URL+stream.MediaURL(name)); code != http.StatusOK {
			t.Errorf("/media/%s: status %d, want 200", name, code)
		}
	}
}

// TestSigned: with signing on, a signed master URL is all a viewer needs:
// every URL inside the playlists works (ffmpeg decodes the whole title),
// an unsigned or tampered segment URL is refused, and the playlists' URLs
// expire with the master's.
func TestSigned(t *testing.T) {
	dir := testMedia(t)
	signer, _ := stream.NewSigner([]string{"k1"})
	s := newServer(t, dir, serverOptions{signer: signer})
	exp := time.Now().Add(time.Hour)
	master := s.srv.URL + signer.SignPath("/hls/title/master.m3u8", exp)
	if n := len(frameHashes(t, master, "v:0")); n != 480 {
		t.Errorf("signed HLS: %d video frames, want 480", n)
	}
	mpd := s.srv.URL + signer.SignPath("/dash/title/a.mp4/manifest.mpd", exp)
	if n := len(frameHashes(t, mpd, "a:0")); n < 900 {
		t.Errorf("signed DASH: %d audio frames", n)
	}
	_, body := get(t, master)
	q := regexp.MustCompile(`\?(exp=\d+&pfx=[^&\s"]+&sig=[\w-]+)`).FindStringSubmatch(string(body))
	if q == nil {
		t.Fatalf("no prefix signature in the master:\n%s", body)
	}
	seg := s.srv.URL + "/hls/title/a.mp4/seg-1.m4s"
	other := strings.Replace(q[1], "pfx=%2Fhls%2Ftitle%2F", "pfx=%2Fhls%2F", 1)
	for _, c := range []struct {
		url  string
		code int
	}{
		{seg + "?" + q[1], http.StatusOK},
		{seg, http.StatusForbidden},
		{seg + "?" + other, http.StatusForbidden},                                        // widened prefix
		{s.srv.URL + "/media/title/a.mp4?" + q[1], http.StatusForbidden},                 // outside the prefix
		{s.srv.URL + "/hls/title/a.mp4/../../x/seg-1.m4s?" + q[1], http.StatusForbidden}, // escape
	} {
		if code, _ := get(t, c.url); code != c.code {
			t.Errorf("%s: status %d, want %d", c.url, code, c.code)
		}
	}
	past := s.srv.URL + signer.SignPath("/hls/title/master.m3u8", time.Now().Add(-time.Second))
	if code, _ := get(t, past); code != http.StatusForbidden {
		t.Errorf("expired master: status %d", code)
	}
	expired := regexp.MustCompile(`exp=\d+`).ReplaceAllString(q[1], "exp=1")
	if code, _ := get(t, seg+"?"+expired); code != http.StatusForbidden {
		t.Errorf("segment with another expiry: status %d", code)
	}
}

// TestRedisKilled: segments read once (so cached), then served with Redis
// killed, byte for byte the same.
func TestRedisKilled(t *testing.T) {
	dir := testMedia(t)
	s := newServer(t, dir, serverOptions{})
	base := s.srv.URL + "/hls/end.mp4/"
	_, pl := get(t, base+"media.m3u8")
	urls := append([]string{"init.mp4"}, segmentsOf(string(pl))...)
	before := map[string][]byte{}
	for _, u := range urls {
		code, b := get(t, base+u)
		if code != http.StatusOK {
			t.Fatalf("%s: status %d", u, code)
		}
		before[u] = b
	}
	if keys := s.redis.Keys(context.Background(), "*:c:*"); len(keys) == 0 {
		t.Fatal("nothing cached after a read")
	}
	// Read again: every segment's payload is now a cache hit.
	for _, u := range urls[1:] {
		res, err := http.Get(base + u)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if x := res.Header.Get("X-Cache"); x != "HIT" || !strings.HasPrefix(res.Header.Get("Cache-Status"), "reelcache; hit") {
			t.Errorf("%s read again: X-Cache %q, Cache-Status %q; want a hit", u, x, res.Header.Get("Cache-Status"))
		}
	}
	s.redis.Kill()
	// A title never indexed: parsed from the origin, not stored.
	if code, body := get(t, s.srv.URL+"/hls/title/b.mp4/media.m3u8"); code != http.StatusOK {
		t.Errorf("an unindexed title with Redis killed: status %d: %s", code, body)
	}
	for _, u := range urls {
		code, b := get(t, base+u)
		if code != http.StatusOK || !bytes.Equal(b, before[u]) {
			t.Errorf("%s with Redis killed: status %d, %d bytes, equal %v", u, code, len(b), bytes.Equal(b, before[u]))
		}
	}
}
