// Package cmaf is the one segmenter behind the HLS and DASH packagers: it
// decides segment boundaries once from an MP4 index (Plan), and writes
// CMAF init segments (Init) and media segments (Layout) with mp4ff, whose
// sample bytes are read from the source file in place, in file order, as
// a few contiguous ranges (Layout.WriteTo).
package cmaf

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"time"

	"github.com/reelcache/reelcache/stream/mp4index"
)

// DefaultSegmentDuration is the duration a segment aims at: segments start
// on the first video sync sample at least this long after the previous
// segment's start.
const DefaultSegmentDuration = 6 * time.Second

// ErrNoSegment is returned for a segment number the plan does not have.
var ErrNoSegment = errors.New("cmaf: no such segment")

// Plan is the segmentation of one file: the same for every track
// selection, so HLS (all tracks muxed) and DASH (one track per
// adaptation set) serve the same segments.
type Plan struct {
	Ref      int       // index of the track the boundaries follow (the video track, else the first)
	Segments []Segment // in order
	Max      float64   // the longest segment, seconds
}

// Segment is one segment: for each track i, its samples
// [First[i], Last[i]) in decode order, and the segment's start and
// duration in seconds on the reference track.
type Segment struct {
	First, Last []int
	Start, Dur  float64
}

// NewPlan segments m near target (DefaultSegmentDuration when 0). A
// reference video track whose first sample is not a sync sample is
// ErrUnsupported: its first segment could not be decoded alone.
func NewPlan(m *mp4index.Media, target time.Duration) (*Plan, error) {
	if m.Fragmented || len(m.Samples) == 0 {
		return nil, fmt.Errorf("%w: no sample tables to segment", mp4index.ErrUnsupported)
	}
	if target <= 0 {
		target = DefaultSegmentDuration
	}
	p := &Plan{}
	for i, t := range m.Tracks {
		if t.Kind == mp4index.Video {
			p.Ref = i
			break
		}
	}
	ref, rs := m.Tracks[p.Ref], m.Samples[p.Ref]
	if len(rs.Sync) == 0 || rs.Sync[0] != 0 {
		return nil, fmt.Errorf("%w: the first sample is not a sync sample", mp4index.ErrUnsupported)
	}
	ts := float64(ref.Timescale)
	step := int64(target.Seconds() * ts)
	// Boundaries on the reference track: sample indexes where segments start.
	starts := []int{0}
	for _, s := range rs.Sync[1:] {
		if rs.DTS[s]-rs.DTS[starts[len(starts)-1]] >= step {
			starts = append(starts, int(s))
		}
	}
	for k, s := range starts {
		seg := Segment{First: make([]int, len(m.Tracks)), Last: make([]int, len(m.Tracks))}
		end := rs.End
		if k+1 < len(starts) {
			end = rs.DTS[starts[k+1]]
		}
		seg.Start = float64(rs.DTS[s]) / ts
		seg.Dur = float64(end-rs.DTS[s]) / ts
		for i := range m.Tracks {
			seg.First[i] = boundary(m, i, p.Ref, rs.DTS[s])
			if k+1 < len(starts) {
				seg.Last[i] = boundary(m, i, p.Ref, rs.DTS[starts[k+1]])
			} else {
				seg.Last[i] = len(m.Samples[i].DTS)
			}
		}
		if k == 0 {
			for i := range seg.First {
				seg.First[i] = 0
			}
		}
		p.Max = math.Max(p.Max, seg.Dur)
		p.Segments = append(p.Segments, seg)
	}
	return p, nil
}

// boundary returns the first sample of track i whose decode time is at or
// after t, a time in the reference track's timescale.
func boundary(m *mp4index.Media, i, ref int, t int64) int {
	s := m.Samples[i]
	if i == ref {
		return sort.Search(len(s.DTS), func(j int) bool { return s.DTS[j] >= t })
	}
	a, b := uint64(m.Tracks[i].Timescale), uint64(m.Tracks[ref].Timescale)
	// dts/a >= t/b  <=>  dts*b >= t*a, compared in 128 bits.
	h2, l2 := bits.Mul64(uint64(t), a)
	return sort.Search(len(s.DTS), func(j int) bool {
		h1, l1 := bits.Mul64(uint64(s.DTS[j]), b)
		return h1 > h2 || (h1 == h2 && l1 >= l2)
	})
}

// Segment returns segment n (0-based) or ErrNoSegment.
func (p *Plan) Segment(n int) (*Segment, error) {
	if n < 0 || n >= len(p.Segments) {
		return nil, ErrNoSegment
	}
	return &p.Segments[n], nil
}

// TargetDuration is the HLS EXT-X-TARGETDURATION: the longest segment
// rounded up to whole seconds (RFC 8216 section 4.3.3.1 wants each
// EXTINF, rounded to the nearest integer, at most this).
func (p *Plan) TargetDuration() int {
	return max(1, int(math.Ceil(p.Max-1e-9)))
}
