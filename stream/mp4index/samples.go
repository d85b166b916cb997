package mp4index

import (
	"fmt"
	"sort"
)

// Samples are a track's sample tables expanded to one entry per sample,
// in decode order. Off and Size locate a sample's bytes in the file; DTS is
// its decode time and CTO its composition offset, in the track's
// timescale. End is the decode time just past the last sample.
type Samples struct {
	Off  []int64
	Size []uint32
	DTS  []int64
	CTO  []int32
	Sync []uint32 // 0-based indexes of the sync samples, ascending (every sample when the track has no stss)
	End  int64
}

// IsSync reports whether sample i is a sync sample.
func (s *Samples) IsSync(i int) bool {
	j := sort.Search(len(s.Sync), func(j int) bool { return s.Sync[j] >= uint32(i) })
	return j < len(s.Sync) && s.Sync[j] == uint32(i)
}

// Samples expands t's tables. It fails with ErrBad when they disagree
// (fewer chunk slots than samples, a table longer than the samples).
func (t *Track) Samples() (*Samples, error) {
	n := int(t.Count)
	s := &Samples{
		Off:  make([]int64, n),
		Size: make([]uint32, n),
		DTS:  make([]int64, n),
		CTO:  make([]int32, n),
	}
	if t.UniformSize != 0 {
		for i := range s.Size {
			s.Size[i] = t.UniformSize
		}
	} else {
		if len(t.Sizes) != n {
			return nil, fmt.Errorf("%w: %d sizes for %d samples", ErrBad, len(t.Sizes), n)
		}
		copy(s.Size, t.Sizes)
	}
	i, dts := 0, int64(0)
	for _, r := range t.Times {
		for range r.Count {
			if i >= n {
				return nil, fmt.Errorf("%w: stts longer than the samples", ErrBad)
			}
			s.DTS[i] = dts
			dts += int64(r.Delta)
			i++
		}
	}
	if i != n {
		return nil, fmt.Errorf("%w: stts shorter than the samples", ErrBad)
	}
	s.End = dts
	i = 0
	for _, r := range t.Offsets {
		for range r.Count {
			if i >= n {
				return nil, fmt.Errorf("%w: ctts longer than the samples", ErrBad)
			}
			s.CTO[i] = r.Offset
			i++
		}
	}
	// Chunks: run k covers chunks [ChunkRuns[k].Count, ChunkRuns[k+1].Count).
	i = 0
	for k, r := range t.ChunkRuns {
		last := len(t.Chunks)
		if k+1 < len(t.ChunkRuns) {
			last = min(int(t.ChunkRuns[k+1].Count), last)
		}
		for c := int(r.Count); c < last && i < n; c++ {
			off := t.Chunks[c]
			for j := uint32(0); j < r.Delta && i < n; j++ {
				s.Off[i] = off
				off += int64(s.Size[i])
				i++
			}
		}
	}
	if i != n {
		return nil, fmt.Errorf("%w: the chunks hold %d of %d samples", ErrBad, i, n)
	}
	if t.Sync != nil {
		s.Sync = t.Sync
	} else {
		s.Sync = make([]uint32, n)
		for j := range s.Sync {
			s.Sync[j] = uint32(j)
		}
	}
	return s, nil
}
