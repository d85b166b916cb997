package mp4index

import (
	"bytes"
	"fmt"
	"math"

	"github.com/Eyevinn/mp4ff/mp4"
)

// fromMoov builds the Index of a decoded moov. size is the file's size.
func fromMoov(mv *mp4.MoovBox, size int64, opts Options) (*Index, error) {
	x := &Index{Size: size, MovieTimescale: mv.Mvhd.Timescale, Fragmented: mv.Mvex != nil}
	var why error // why the last track skipped was skipped
	for _, trak := range mv.Traks {
		t, err := track(trak, x.Fragmented, opts)
		if err != nil {
			return nil, fmt.Errorf("track %d: %w", trackID(trak), err)
		}
		if t == nil {
			why = fmt.Errorf("%w: track %d is neither audio nor video", ErrUnsupported, trackID(trak))
			continue
		}
		x.Tracks = append(x.Tracks, *t)
	}
	if len(x.Tracks) == 0 {
		if why == nil {
			why = fmt.Errorf("%w: no tracks", ErrUnsupported)
		}
		return nil, why
	}
	if !x.Fragmented {
		for i := range x.Tracks {
			t := &x.Tracks[i]
			s, err := t.Samples()
			if err != nil {
				return nil, fmt.Errorf("track %d: %w", t.ID, err)
			}
			if n := len(s.Off); n > 0 && s.Off[n-1] < 0 {
				return nil, fmt.Errorf("%w: track %d: negative offset", ErrBad, t.ID)
			}
			for j := range s.Off {
				if s.Off[j] < 0 || s.Off[j]+int64(s.Size[j]) > size {
					return nil, fmt.Errorf("%w: track %d: sample %d lies outside the file", ErrBad, t.ID, j)
				}
			}
			if d := float64(s.End) / float64(t.Timescale); d > x.Duration {
				x.Duration = d
			}
		}
	} else if mv.Mvhd.Timescale > 0 {
		x.Duration = float64(mv.Mvhd.Duration) / float64(mv.Mvhd.Timescale)
		if mv.Mvex.Mehd != nil {
			x.Duration = float64(mv.Mvex.Mehd.FragmentDuration) / float64(mv.Mvhd.Timescale)
		}
	}
	return x, nil
}

func trackID(trak *mp4.TrakBox) uint32 {
	if trak.Tkhd == nil {
		return 0
	}
	return trak.Tkhd.TrackID
}

// track returns the Track of trak, nil for a track that is neither audio
// nor video (timecodes, subtitles: left out).
func track(trak *mp4.TrakBox, fragmented bool, opts Options) (*Track, error) {
	if trak.Tkhd == nil || trak.Mdia == nil || trak.Mdia.Hdlr == nil || trak.Mdia.Mdhd == nil ||
		trak.Mdia.Minf == nil || trak.Mdia.Minf.Stbl == nil || trak.Mdia.Minf.Stbl.Stsd == nil {
		return nil, fmt.Errorf("%w: incomplete trak", ErrBad)
	}
	t := &Track{ID: trak.Tkhd.TrackID, Timescale: trak.Mdia.Mdhd.Timescale, Lang: trak.Mdia.Mdhd.GetLanguage()}
	switch trak.Mdia.Hdlr.HandlerType {
	case "vide":
		t.Kind = Video
	case "soun":
		t.Kind = Audio
	default:
		return nil, nil
	}
	if t.Timescale == 0 {
		return nil, fmt.Errorf("%w: timescale 0", ErrBad)
	}
	if !validLang(t.Lang) {
		t.Lang = "und"
	}
	stbl := trak.Mdia.Minf.Stbl
	if len(stbl.Stsd.Children) != 1 {
		return nil, fmt.Errorf("%w: %d sample descriptions (one is carried)", ErrUnsupported, len(stbl.Stsd.Children))
	}
	if err := describe(t, stbl.Stsd.Children[0]); err != nil {
		return nil, err
	}
	if t.Kind == Video {
		t.Width, t.Height = uint32(trak.Tkhd.Width)>>16, uint32(trak.Tkhd.Height)>>16
	}
	if trak.Edts != nil {
		for _, elst := range trak.Edts.Elst {
			for _, e := range elst.Entries {
				t.Edits = append(t.Edits, Edit{Duration: e.SegmentDuration, MediaTime: e.MediaTime, Rate: e.MediaRateInteger})
			}
		}
	}
	if fragmented {
		return t, nil
	}
	if err := tables(t, stbl, opts); err != nil {
		return nil, err
	}
	return t, nil
}

// validLang reports whether l is three lower-case letters.
func validLang(l string) bool {
	if len(l) != 3 {
		return false
	}
	for i := range 3 {
		if l[i] < 'a' || l[i] > 'z' {
			return false
		}
	}
	return true
}

// describe fills t's codec fields from its sample entry.
func describe(t *Track, entry mp4.Box) error {
	var buf bytes.Buffer
	if err := entry.Encode(&buf); err != nil {
		return fmt.Errorf("%w: sample entry %q: %v", ErrBad, entry.Type(), err)
	}
	t.Entry = buf.Bytes()
	switch e := entry.(type) {
	case *mp4.VisualSampleEntryBox:
		if t.Kind != Video {
			return fmt.Errorf("%w: video sample entry in a %s track", ErrBad, t.Kind)
		}
		t.Width, t.Height = uint32(e.Width), uint32(e.Height)
		codec, err := videoCodec(e)
		if err != nil {
			return err
		}
		t.Codec = codec
	case *mp4.AudioSampleEntryBox:
		if t.Kind != Audio {
			return fmt.Errorf("%w: audio sample entry in a %s track", ErrBad, t.Kind)
		}
		t.Channels, t.Rate = e.ChannelCount, uint32(e.SampleRate)
		codec, err := audioCodec(e)
		if err != nil {
			return err
		}
		t.Codec = codec
	default:
		return fmt.Errorf("%w: codec %q is not carried", ErrUnsupported, entry.Type())
	}
	return nil
}

// tables copies the sample tables of stbl into t, checking that they
// agree with each other.
func tables(t *Track, stbl *mp4.StblBox, opts Options) error {
	if stbl.Stsz == nil || stbl.Stts == nil || stbl.Stsc == nil || (stbl.Stco == nil && stbl.Co64 == nil) {
		return fmt.Errorf("%w: missing sample tables", ErrBad)
	}
	t.Count = stbl.Stsz.SampleNumber
	if t.Count > opts.MaxSamples {
		return fmt.Errorf("%w: %d samples, over the limit of %d", ErrUnsupported, t.Count, opts.MaxSamples)
	}
	if t.Count == 0 {
		return fmt.Errorf("%w: no samples", ErrUnsupported)
	}
	t.UniformSize = stbl.Stsz.SampleUniformSize
	if t.UniformSize == 0 {
		if len(stbl.Stsz.SampleSize) != int(t.Count) {
			return fmt.Errorf("%w: stsz has %d sizes for %d samples", ErrBad, len(stbl.Stsz.SampleSize), t.Count)
		}
		t.Sizes = stbl.Stsz.SampleSize
	}
	var n uint64
	for i, c := range stbl.Stts.SampleCount {
		t.Times = append(t.Times, Run{c, stbl.Stts.SampleTimeDelta[i]})
		n += uint64(c)
	}
	if n != uint64(t.Count) {
		return fmt.Errorf("%w: stts counts %d samples, stsz %d", ErrBad, n, t.Count)
	}
	if c := stbl.Ctts; c != nil {
		if len(c.EndSampleNr) != len(c.SampleOffset)+1 {
			return fmt.Errorf("%w: ctts", ErrBad)
		}
		for i, off := range c.SampleOffset {
			if c.EndSampleNr[i+1] < c.EndSampleNr[i] || c.EndSampleNr[i+1] > t.Count {
				return fmt.Errorf("%w: ctts counts more samples than stsz", ErrBad)
			}
			t.Offsets = append(t.Offsets, CRun{c.EndSampleNr[i+1] - c.EndSampleNr[i], off})
		}
	}
	if s := stbl.Stss; s != nil {
		if len(s.SampleNumber) == 0 {
			return fmt.Errorf("%w: no sync samples", ErrUnsupported)
		}
		t.Sync = make([]uint32, len(s.SampleNumber))
		for i, nr := range s.SampleNumber {
			if nr == 0 || nr > t.Count || (i > 0 && nr <= s.SampleNumber[i-1]) {
				return fmt.Errorf("%w: stss entry %d", ErrBad, nr)
			}
			t.Sync[i] = nr - 1
		}
	}
	if stbl.Stco != nil {
		t.Chunks = make([]int64, len(stbl.Stco.ChunkOffset))
		for i, o := range stbl.Stco.ChunkOffset {
			t.Chunks[i] = int64(o)
		}
	} else {
		t.Chunks = make([]int64, len(stbl.Co64.ChunkOffset))
		for i, o := range stbl.Co64.ChunkOffset {
			if o > math.MaxInt64 {
				return fmt.Errorf("%w: co64 offset", ErrBad)
			}
			t.Chunks[i] = int64(o)
		}
	}
	for i, e := range stbl.Stsc.Entries {
		if e.FirstChunk == 0 || (i > 0 && e.FirstChunk <= stbl.Stsc.Entries[i-1].FirstChunk) {
			return fmt.Errorf("%w: stsc", ErrBad)
		}
		t.ChunkRuns = append(t.ChunkRuns, Run{e.FirstChunk - 1, e.SamplesPerChunk})
	}
	if len(t.ChunkRuns) == 0 || t.ChunkRuns[0].Count != 0 {
		return fmt.Errorf("%w: stsc does not start at the first chunk", ErrBad)
	}
	return nil
}
