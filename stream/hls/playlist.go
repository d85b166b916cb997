// Package hls writes HLS playlists (RFC 8216) for fMP4/CMAF segments: a
// master playlist with one variant per rendition and its I-frame
// playlists, and VOD media playlists. It only formats; which segments
// exist and what they are called is the packager's.
package hls

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Version is the EXT-X-VERSION written: 7 for fMP4 segments with
// EXT-X-MAP (RFC 8216 section 7).
const Version = 7

// Variant is one rendition in a master playlist.
type Variant struct {
	URI          string // its media playlist
	Bandwidth    int64  // peak bits per second (BANDWIDTH)
	AvgBandwidth int64  // average bits per second (AVERAGE-BANDWIDTH); 0 leaves it out
	Codecs       string // comma-separated RFC 6381 values
	Width        uint32 // RESOLUTION, when a video rendition
	Height       uint32
	FrameRate    float64 // FRAME-RATE; 0 leaves it out

	// IFrameURI, when set, is its I-frame playlist, with IFrameBandwidth.
	IFrameURI       string
	IFrameBandwidth int64

	// Audio, when set, is the GROUP-ID of the audio renditions that play
	// with it (the variant's own playlist is then video only).
	Audio string
}

// Audio is an audio rendition of a group (EXT-X-MEDIA TYPE=AUDIO).
type Audio struct {
	Group, Name, Lang, URI string
	Default                bool
}

// Master writes a master playlist of vs, with the audio renditions as.
func Master(w io.Writer, vs []Variant, as ...Audio) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-INDEPENDENT-SEGMENTS\n", Version)
	for _, a := range as {
		yes := map[bool]string{true: "YES", false: "NO"}[a.Default]
		fmt.Fprintf(b, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=%q,NAME=%q,DEFAULT=%s,AUTOSELECT=YES", a.Group, a.Name, yes)
		if a.Lang != "" {
			fmt.Fprintf(b, ",LANGUAGE=%q", a.Lang)
		}
		fmt.Fprintf(b, ",URI=%q\n", a.URI)
	}
	for _, v := range vs {
		fmt.Fprintf(b, "#EXT-X-STREAM-INF:BANDWIDTH=%d", v.Bandwidth)
		if v.AvgBandwidth > 0 {
			fmt.Fprintf(b, ",AVERAGE-BANDWIDTH=%d", v.AvgBandwidth)
		}
		fmt.Fprintf(b, ",CODECS=%q", v.Codecs)
		if v.Width > 0 && v.Height > 0 {
			fmt.Fprintf(b, ",RESOLUTION=%dx%d", v.Width, v.Height)
		}
		if v.FrameRate > 0 {
			fmt.Fprintf(b, ",FRAME-RATE=%.3f", v.FrameRate)
		}
		if v.Audio != "" {
			fmt.Fprintf(b, ",AUDIO=%q", v.Audio)
		}
		fmt.Fprintf(b, "\n%s\n", v.URI)
	}
	for _, v := range vs {
		if v.IFrameURI == "" {
			continue
		}
		fmt.Fprintf(b, "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=%d,CODECS=%q", v.IFrameBandwidth, videoCodecs(v.Codecs))
		if v.Width > 0 && v.Height > 0 {
			fmt.Fprintf(b, ",RESOLUTION=%dx%d", v.Width, v.Height)
		}
		fmt.Fprintf(b, ",URI=%q\n", v.IFrameURI)
	}
	return b.Flush()
}

// videoCodecs keeps the video codecs of a CODECS value: an I-frame
// playlist carries no audio.
func videoCodecs(codecs string) string {
	var keep []string
	for c := range strings.SplitSeq(codecs, ",") {
		if !strings.HasPrefix(c, "mp4a") && !strings.HasPrefix(c, "ac-3") && !strings.HasPrefix(c, "ec-3") && c != "opus" {
			keep = append(keep, c)
		}
	}
	return strings.Join(keep, ",")
}

// Segment is one entry of a media playlist: a whole resource, or the
// byte range [Off, Off+Len) of it when Len > 0.
type Segment struct {
	URI      string
	Duration float64 // seconds (EXTINF)
	Off, Len int64
}

// Media is a VOD media playlist.
type Media struct {
	Target   int     // EXT-X-TARGETDURATION, seconds: at least every EXTINF rounded
	Map      Segment // the init segment (EXT-X-MAP); Duration is unused
	Segments []Segment
	IFrames  bool // an I-frame playlist (EXT-X-I-FRAMES-ONLY)
}

// Write writes the playlist.
func (m *Media) Write(w io.Writer) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n", Version, m.Target)
	if m.IFrames {
		b.WriteString("#EXT-X-I-FRAMES-ONLY\n")
	}
	fmt.Fprintf(b, "#EXT-X-MAP:URI=%q", m.Map.URI)
	if m.Map.Len > 0 {
		fmt.Fprintf(b, ",BYTERANGE=\"%d@%d\"", m.Map.Len, m.Map.Off)
	}
	b.WriteString("\n")
	for _, s := range m.Segments {
		fmt.Fprintf(b, "#EXTINF:%.6f,\n", s.Duration)
		if s.Len > 0 {
			fmt.Fprintf(b, "#EXT-X-BYTERANGE:%d@%d\n", s.Len, s.Off)
		}
		fmt.Fprintf(b, "%s\n", s.URI)
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return b.Flush()
}
