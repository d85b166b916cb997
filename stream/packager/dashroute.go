package packager

import (
	"fmt"
	"io"
	"strings"

	"github.com/reelcache/reelcache/stream/dash"
	"github.com/reelcache/reelcache/stream/mp4index"
)

// mpd writes /dash/TITLE/manifest.mpd (see manifest): an adaptation set
// for video and one per audio language, a representation per track of each
// rendition, all with the segments HLS serves (one per track).
func (h *Handler) mpd(w io.Writer, rs []*rendition, q string) error {
	q = strings.ReplaceAll(q, "$", "$$")
	doc := &dash.MPD{}
	sets := map[string]int{} // kind+lang -> index in doc.Sets
	for ri, rd := range rs {
		if rd.plan == nil {
			return errFragmentedDASH
		}
		st := statsOf(rd)
		doc.Duration = max(doc.Duration, rd.m.Duration)
		doc.MinBuffer = max(doc.MinBuffer, rd.plan.Max)
		base := strings.ReplaceAll(rd.base(), "$", "$$")
		for ti, t := range rd.m.Tracks {
			s := rd.m.Samples[ti]
			// Segments past the track's last sample (audio that ends
			// before the video) are left out: they have no bytes.
			var starts []uint64
			for _, n := range trackSegments(rd, ti) {
				starts = append(starts, uint64(s.DTS[rd.plan.Segments[n].First[ti]]))
			}
			rep := dash.Representation{
				ID:        fmt.Sprintf("r%dt%d", ri, ti),
				Codecs:    t.Codec,
				Bandwidth: max(1, st.trackBits[ti]),
				Timescale: t.Timescale,
				Init:      fmt.Sprintf("%sinit-%d.mp4%s", base, ti+1, q),
				Media:     fmt.Sprintf("%sseg-%d-$Number$.m4s%s", base, ti+1, q),
				Timeline:  dash.Timeline(starts, uint64(s.End)),
			}
			if t.Kind == mp4index.Video {
				rep.Width, rep.Height = t.Width, t.Height
				if st.fps > 0 {
					rep.FrameRate = frameRate(s, t.Timescale)
				}
			} else {
				rep.SampleRate, rep.Channels = t.Timescale, t.Channels
			}
			key := string(t.Kind)
			if t.Kind == mp4index.Audio {
				key += "/" + t.Lang
			}
			i, ok := sets[key]
			if !ok {
				i = len(doc.Sets)
				sets[key] = i
				lang := ""
				if t.Kind == mp4index.Audio && t.Lang != "und" {
					lang = t.Lang
				}
				doc.Sets = append(doc.Sets, dash.AdaptationSet{ContentType: string(t.Kind), Lang: lang})
			}
			doc.Sets[i].Reps = append(doc.Sets[i].Reps, rep)
		}
	}
	return doc.Write(w)
}

// frameRate returns a video track's frame rate as DASH writes it: the
// timescale over the most common sample duration ("24", "30000/1001").
func frameRate(s *mp4index.Samples, timescale uint32) string {
	if len(s.DTS) < 2 {
		return ""
	}
	d := s.DTS[1] - s.DTS[0]
	if d <= 0 {
		return ""
	}
	if int64(timescale)%d == 0 {
		return fmt.Sprint(int64(timescale) / d)
	}
	return fmt.Sprintf("%d/%d", timescale, d)
}
