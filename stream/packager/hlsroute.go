package packager

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/stream"
	"github.com/reelcache/reelcache/stream/cmaf"
	"github.com/reelcache/reelcache/stream/hls"
	"github.com/reelcache/reelcache/stream/mp4index"
)

// master writes /hls/TITLE/master.m3u8 (see manifest): one variant per
// rendition, with its I-frame playlist when it has video.
func (h *Handler) master(w io.Writer, rs []*rendition, q string) error {
	var (
		vs     []hls.Variant
		audios []hls.Audio
	)
	for _, rd := range rs {
		st := statsOf(rd)
		base := rd.base()
		v := hls.Variant{
			URI: base + "media.m3u8" + q, Bandwidth: st.peak, AvgBandwidth: st.avg, Codecs: st.codecs,
			Width: st.width, Height: st.height, FrameRate: st.fps,
		}
		if vi, ai := trackOf(rd, mp4index.Video), trackOf(rd, mp4index.Audio); h.audioGroup && rd.plan != nil && vi >= 0 && ai >= 0 {
			// Audio as a rendition group: the variant plays its video
			// track, and the first rendition's audio tracks play with
			// every variant.
			v.URI = base + "media-" + strconv.Itoa(vi+1) + ".m3u8" + q
			v.Audio = "audio"
			if audios == nil {
				for ti, t := range rd.m.Tracks {
					if t.Kind == mp4index.Audio {
						audios = append(audios, hls.Audio{Group: "audio", Name: audioName(t, ti), Lang: langOf(t),
							URI: base + "media-" + strconv.Itoa(ti+1) + ".m3u8" + q, Default: len(audios) == 0})
					}
				}
			}
		}
		if rd.plan != nil && rd.m.Track(mp4index.Video) != nil {
			v.IFrameURI = base + "iframes.m3u8" + q
			v.IFrameBandwidth = max(1, iframeBits(rd))
		}
		vs = append(vs, v)
	}
	return hls.Master(w, vs, audios...)
}

// iframeBits is the bit rate of the I-frame playlist: its byte ranges
// over the segments' durations.
func iframeBits(rd *rendition) int64 {
	var n int64
	var d float64
	v := rd.plan.Ref
	for _, seg := range rd.plan.Segments {
		n += int64(rd.m.Samples[v].Size[seg.First[v]])
		d += seg.Dur
	}
	if d <= 0 {
		return 0
	}
	return int64(float64(n) * 8 / d)
}

// mediaPlaylist answers media.m3u8 and iframes.m3u8 of a file.
func (h *Handler) mediaPlaylist(c echo.Context, r request) error {
	ctx := c.Request().Context()
	f, rd, err := h.open(ctx, r.title)
	if err != nil {
		return h.fail(c, err)
	}
	defer f.Close()
	q := h.childQuery(c, r)
	if rd.m.Fragmented {
		if r.leaf == "iframes.m3u8" {
			return h.fail(c, errNoIFrames)
		}
		return h.byteRangePlaylist(c, rd)
	}
	if r.track >= 0 {
		return h.trackPlaylist(c, r, rd, q)
	}
	pl := &hls.Media{Target: rd.plan.TargetDuration(), Map: hls.Segment{URI: "init.mp4" + q}}
	iframes := r.leaf == "iframes.m3u8"
	if iframes {
		if rd.m.Track(mp4index.Video) == nil {
			return h.fail(c, errNoIFrames)
		}
		pl.IFrames = true
	}
	all := allTracks(rd.m)
	for n, seg := range rd.plan.Segments {
		s := hls.Segment{URI: "seg-" + strconv.Itoa(n+1) + ".m4s" + q, Duration: seg.Dur}
		if iframes {
			// The I-frame's byte range: the moof and the payload up to the
			// end of the segment's first video sample (its sync sample).
			l, err := h.layout(rd, n, all)
			if err != nil {
				return h.fail(c, err)
			}
			s.Off, s.Len = 0, l.KeyEnd
		}
		pl.Segments = append(pl.Segments, s)
	}
	var buf bytes.Buffer
	if err := pl.Write(&buf); err != nil {
		return err
	}
	return send(c, typeM3U8, buf.Bytes())
}

// byteRangePlaylist answers the media playlist of a fragmented source:
// byte ranges of its own /media/ URL, nothing remuxed (issue 22 item 4).
func (h *Handler) byteRangePlaylist(c echo.Context, rd *rendition) error {
	uri := stream.MediaURL(rd.name)
	if h.signer != nil {
		exp, _ := strconv.ParseInt(c.QueryParam("exp"), 10, 64)
		uri = h.signer.SignURL(rd.name, unix(exp))
	}
	m := rd.m
	pl := &hls.Media{Map: hls.Segment{URI: uri, Off: 0, Len: m.InitSize}}
	var longest float64
	for _, fr := range m.Fragments {
		d := float64(fr.Duration) / float64(m.FragTimescale)
		longest = max(longest, d)
		pl.Segments = append(pl.Segments, hls.Segment{URI: uri, Duration: d, Off: fr.Offset, Len: fr.Size})
	}
	pl.Target = (&cmaf.Plan{Max: longest}).TargetDuration()
	var buf bytes.Buffer
	if err := pl.Write(&buf); err != nil {
		return err
	}
	return send(c, typeM3U8, buf.Bytes())
}

// allTracks returns the indexes of every track of m.
func allTracks(m *mp4index.Media) []int {
	t := make([]int, len(m.Tracks))
	for i := range t {
		t[i] = i
	}
	return t
}

// escape escapes one path element for a relative URI.
func escape(el string) string {
	return (&url.URL{Path: el}).EscapedPath()
}

// send writes a small body with its type, honouring HEAD.
func send(c echo.Context, typ string, body []byte) error {
	hdr := c.Response().Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, typ, body)
}

// trackPlaylist answers media-T.m3u8: the segments of one track (the
// video or an audio rendition when audio is a group), timed on that track.
func (h *Handler) trackPlaylist(c echo.Context, r request, rd *rendition, q string) error {
	if r.track >= len(rd.m.Tracks) {
		return echo.ErrNotFound
	}
	t := strconv.Itoa(r.track + 1)
	pl := &hls.Media{Map: hls.Segment{URI: "init-" + t + ".mp4" + q}}
	var longest float64
	for _, n := range trackSegments(rd, r.track) {
		d := trackDur(rd, r.track, n)
		longest = max(longest, d)
		pl.Segments = append(pl.Segments, hls.Segment{URI: "seg-" + t + "-" + strconv.Itoa(n+1) + ".m4s" + q, Duration: d})
	}
	pl.Target = (&cmaf.Plan{Max: longest}).TargetDuration()
	var buf bytes.Buffer
	if err := pl.Write(&buf); err != nil {
		return err
	}
	return send(c, typeM3U8, buf.Bytes())
}

// trackOf returns the index of the first track of kind k, or -1.
func trackOf(rd *rendition, k mp4index.Kind) int {
	for i, t := range rd.m.Tracks {
		if t.Kind == k {
			return i
		}
	}
	return -1
}

// trackSegments returns the segments (0-based) that hold samples of track
// ti: all but, at the end, those past its last sample.
func trackSegments(rd *rendition, ti int) []int {
	var out []int
	for n, seg := range rd.plan.Segments {
		if seg.First[ti] < seg.Last[ti] {
			out = append(out, n)
		}
	}
	return out
}

// trackDur is the duration in seconds of track ti's samples in segment n.
func trackDur(rd *rendition, ti, n int) float64 {
	s, seg := rd.m.Samples[ti], rd.plan.Segments[n]
	end := s.End
	if seg.Last[ti] < len(s.DTS) {
		end = s.DTS[seg.Last[ti]]
	}
	return float64(end-s.DTS[seg.First[ti]]) / float64(rd.m.Tracks[ti].Timescale)
}

// langOf is a track's language for LANGUAGE, "" when unknown.
func langOf(t mp4index.Track) string {
	if t.Lang == "und" {
		return ""
	}
	return t.Lang
}

// audioName names an audio rendition: its language, else its number.
func audioName(t mp4index.Track, ti int) string {
	if l := langOf(t); l != "" {
		return l
	}
	return "audio " + strconv.Itoa(ti+1)
}
