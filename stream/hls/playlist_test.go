package hls

import (
	"strings"
	"testing"
)

func TestMediaPlaylist(t *testing.T) {
	var b strings.Builder
	m := &Media{Target: 7, Map: Segment{URI: "/media/a.mp4", Len: 900}, IFrames: true,
		Segments: []Segment{{URI: "s1", Duration: 6.5, Off: 900, Len: 100}, {URI: "s2", Duration: 2}}}
	if err := m.Write(&b); err != nil {
		t.Fatal(err)
	}
	want := "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:7\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n" +
		"#EXT-X-I-FRAMES-ONLY\n#EXT-X-MAP:URI=\"/media/a.mp4\",BYTERANGE=\"900@0\"\n" +
		"#EXTINF:6.500000,\n#EXT-X-BYTERANGE:100@900\ns1\n#EXTINF:2.000000,\ns2\n#EXT-X-ENDLIST\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestMaster(t *testing.T) {
	var b strings.Builder
	err := Master(&b, []Variant{{URI: "a/media.m3u8", Bandwidth: 900, AvgBandwidth: 800, Codecs: "avc1.64001F,mp4a.40.2",
		Width: 640, Height: 360, FrameRate: 24, IFrameURI: "a/iframes.m3u8", IFrameBandwidth: 50}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"#EXT-X-STREAM-INF:BANDWIDTH=900,AVERAGE-BANDWIDTH=800,CODECS=\"avc1.64001F,mp4a.40.2\",RESOLUTION=640x360,FRAME-RATE=24.000\na/media.m3u8\n",
		"#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=50,CODECS=\"avc1.64001F\",RESOLUTION=640x360,URI=\"a/iframes.m3u8\"\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("master lacks %q:\n%s", want, b.String())
		}
	}
}
