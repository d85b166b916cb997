package cmaf

import (
	"testing"
	"time"

	"github.com/reelcache/reelcache/stream/mp4index"
)

// media returns a synthetic index: video at 24 fps (timescale 12288) with
// a keyframe every gop frames, for secs seconds, and AAC at 48 kHz.
func media(secs, gop int) *mp4index.Media {
	nv, na := secs*24, secs*48000/1024
	v := &mp4index.Samples{}
	for i := range nv {
		v.Off = append(v.Off, int64(i))
		v.Size = append(v.Size, 1)
		v.DTS = append(v.DTS, int64(i*512))
		v.CTO = append(v.CTO, 0)
		if i%gop == 0 {
			v.Sync = append(v.Sync, uint32(i))
		}
	}
	v.End = int64(nv * 512)
	a := &mp4index.Samples{}
	for i := range na {
		a.Off = append(a.Off, int64(nv+i))
		a.Size = append(a.Size, 1)
		a.DTS = append(a.DTS, int64(i*1024))
		a.CTO = append(a.CTO, 0)
		a.Sync = append(a.Sync, uint32(i))
	}
	a.End = int64(na * 1024)
	return &mp4index.Media{
		Index: &mp4index.Index{Tracks: []mp4index.Track{
			{Kind: mp4index.Video, Timescale: 12288}, {Kind: mp4index.Audio, Timescale: 48000},
		}},
		Samples: []*mp4index.Samples{v, a},
	}
}

// TestPlan: segments start on keyframes near the target, every sample of
// every track is in exactly one segment, and the target duration is
// honest.
func TestPlan(t *testing.T) {
	cases := []struct {
		secs, gop  int
		target     time.Duration
		segs, tdur int
	}{
		{20, 48, 6 * time.Second, 4, 6},   // keyframe every 2 s: 6 6 6 2
		{20, 240, 6 * time.Second, 2, 10}, // every 10 s: 10 10
		{20, 60, 6 * time.Second, 3, 8},   // every 2.5 s: 7.5 7.5 5
		{7, 24, 2 * time.Second, 4, 2},
	}
	for _, c := range cases {
		m := media(c.secs, c.gop)
		p, err := NewPlan(m, c.target)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Segments) != c.segs || p.TargetDuration() != c.tdur {
			t.Errorf("%d s, gop %d: %d segments, target %d; want %d, %d", c.secs, c.gop, len(p.Segments), p.TargetDuration(), c.segs, c.tdur)
		}
		for i := range m.Tracks {
			next := 0
			for k, s := range p.Segments {
				if s.First[i] != next {
					t.Errorf("%d s, gop %d: track %d segment %d starts at sample %d, want %d", c.secs, c.gop, i, k, s.First[i], next)
				}
				if i == p.Ref && !m.Samples[i].IsSync(s.First[i]) {
					t.Errorf("%d s, gop %d: segment %d starts on a non-sync sample", c.secs, c.gop, k)
				}
				next = s.Last[i]
			}
			if next != len(m.Samples[i].DTS) {
				t.Errorf("%d s, gop %d: track %d: segments end at %d of %d samples", c.secs, c.gop, i, next, len(m.Samples[i].DTS))
			}
		}
		var total float64
		for _, s := range p.Segments {
			total += s.Dur
			if s.Dur > float64(p.TargetDuration()) {
				t.Errorf("segment of %.3f s over the target %d", s.Dur, p.TargetDuration())
			}
		}
		if d := total - float64(c.secs); d > 1e-6 || d < -1e-6 {
			t.Errorf("segments add up to %.3f s, want %d", total, c.secs)
		}
	}
}

// TestPlanNoKeyframeFirst: a video whose first sample is not a sync sample
// cannot be segmented.
func TestPlanNoKeyframeFirst(t *testing.T) {
	m := media(4, 48)
	m.Samples[0].Sync = []uint32{5}
	if _, err := NewPlan(m, 0); err == nil {
		t.Error("planned a video that starts without a keyframe")
	}
}
