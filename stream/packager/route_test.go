package packager

import "testing"

// TestParse: the packager's URLs, and what is not one.
func TestParse(t *testing.T) {
	cases := []struct {
		path string
		ok   bool
		want request
	}{
		{"/hls/a.mp4/master.m3u8", true, request{"hls", "a.mp4", "master.m3u8", -1, 0}},
		{"/hls/films/t/master.m3u8", true, request{"hls", "films/t", "master.m3u8", -1, 0}},
		{"/hls/films/t/a.mp4/seg-12.m4s", true, request{"hls", "films/t/a.mp4", "seg-12.m4s", -1, 12}},
		{"/hls/a.mp4/init.mp4", true, request{"hls", "a.mp4", "init.mp4", -1, 0}},
		{"/dash/a.mp4/seg-2-7.m4s", true, request{"dash", "a.mp4", "seg-2-7.m4s", 1, 7}},
		{"/dash/a.mp4/init-1.mp4", true, request{"dash", "a.mp4", "init-1.mp4", 0, 0}},
		{"/dash/t/manifest.mpd", true, request{"dash", "t", "manifest.mpd", -1, 0}},
		{"/hls/a.mp4/seg-0.m4s", false, request{}},
		{"/hls/a.mp4/seg-01.m4s", false, request{}},
		{"/hls/a.mp4/seg--1.m4s", false, request{}},
		{"/hls/a.mp4/seg-9999999999.m4s", false, request{}},
		{"/dash/a.mp4/seg-1.m4s", false, request{}},
		{"/hls/a.mp4/media-2.m3u8", true, request{"hls", "a.mp4", "media-2.m3u8", 1, 0}},
		{"/hls/a.mp4/seg-2-7.m4s", true, request{"hls", "a.mp4", "seg-2-7.m4s", 1, 7}},
		{"/hls/a.mp4/init-1.mp4", true, request{"hls", "a.mp4", "init-1.mp4", 0, 0}},
		{"/dash/a.mp4/media-1.m3u8", false, request{}},
		{"/hls/a.mp4/media-0.m3u8", false, request{}},
		{"/dash/a.mp4/init-0.mp4", false, request{}},
		{"/hls/a.mp4/manifest.mpd", false, request{}},
		{"/hls/master.m3u8", false, request{}},
		{"/hls/../a.mp4/master.m3u8", false, request{}},
		{"/hls/x/../a.mp4/master.m3u8", false, request{}},
		{"/hls/.hidden/a.mp4/master.m3u8", false, request{}},
		{"/hls/a\\b.mp4/master.m3u8", false, request{}},
		{"/hls//a.mp4/master.m3u8", false, request{}},
		{"/media/a.mp4", false, request{}},
	}
	for _, c := range cases {
		got, ok := parse(c.path)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("parse(%q) = %+v, %v; want %+v, %v", c.path, got, ok, c.want, c.ok)
		}
	}
}
