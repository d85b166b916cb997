package cmaf

import (
	"bytes"
	"fmt"

	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reelcache/reelcache/stream/mp4index"
)

// Init returns the CMAF init segment (ftyp + moov with mvex) of the tracks
// of m at the given indexes, numbered 1, 2, ... in that order as the media
// segments of Layout number them. Each track keeps its sample entry and
// its edit list (which carries the composition offset of B-frames and the
// priming of AAC, so the decoded frames are the source's).
func Init(m *mp4index.Media, tracks []int) ([]byte, error) {
	init := mp4.CreateEmptyInit()
	if m.MovieTimescale != 0 {
		init.Moov.Mvhd.Timescale = m.MovieTimescale
	}
	for _, i := range tracks {
		if i < 0 || i >= len(m.Tracks) {
			return nil, fmt.Errorf("cmaf: no track %d", i)
		}
		t := &m.Tracks[i]
		init.AddEmptyTrack(t.Timescale, string(t.Kind), t.Lang)
		trak := init.Moov.Traks[len(init.Moov.Traks)-1]
		if t.Kind == mp4index.Video {
			trak.Tkhd.Width = mp4.Fixed32(t.Width << 16)
			trak.Tkhd.Height = mp4.Fixed32(t.Height << 16)
		}
		entry, err := mp4.DecodeBoxSR(0, bits.NewFixedSliceReader(t.Entry))
		if err != nil {
			return nil, fmt.Errorf("cmaf: track %d sample entry: %w", t.ID, err)
		}
		trak.Mdia.Minf.Stbl.Stsd.AddChild(entry)
		if len(t.Edits) > 0 {
			elst := &mp4.ElstBox{Version: 1}
			for _, e := range t.Edits {
				elst.Entries = append(elst.Entries, mp4.ElstEntry{SegmentDuration: e.Duration, MediaTime: e.MediaTime, MediaRateInteger: e.Rate})
			}
			edts := &mp4.EdtsBox{}
			edts.AddChild(elst)
			trak.Edts = edts
			// After tkhd, where ISO/IEC 14496-12 puts it.
			trak.Children = append(trak.Children[:1], append([]mp4.Box{edts}, trak.Children[1:]...)...)
		}
	}
	var buf bytes.Buffer
	if err := init.Encode(&buf); err != nil {
		return nil, fmt.Errorf("cmaf: encode init: %w", err)
	}
	return buf.Bytes(), nil
}
