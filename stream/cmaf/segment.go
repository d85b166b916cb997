package cmaf

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reelcache/reelcache/stream/mp4index"
)

// Bounds of one segment, so that a hostile index (one sample claiming
// gigabytes, a million samples between two keyframes) cannot make a
// response, or the moof describing it, unbounded.
const (
	MaxSegmentBytes   = 256 << 20
	MaxSegmentSamples = 100_000
)

// Span is a byte range of the source file.
type Span struct {
	Off, Len int64
}

// Layout is one media segment: Header (a moof, then the mdat's header) and
// the mdat's payload, which is Spans of the source file, in order. The
// samples are written in the source's file order (a track's run of
// samples becomes one trun), so the payload is as few ranges as the source
// interleaving allows: one, for a file muxed by ffmpeg.
type Layout struct {
	Header []byte
	Spans  []Span
	Size   int64 // len(Header) plus the spans' lengths
	// KeyEnd is the offset in the segment just past the bytes of its first
	// video sample (a sync sample): the HLS I-frame byte range is
	// [0, KeyEnd). 0 without video.
	KeyEnd int64
}

// NewLayout lays out segment n of p for the tracks of m at the given
// indexes (numbered 1, 2, ... as in Init).
func NewLayout(m *mp4index.Media, p *Plan, n int, tracks []int) (*Layout, error) {
	seg, err := p.Segment(n)
	if err != nil {
		return nil, err
	}
	ids := make([]uint32, 0, len(tracks))
	next := make([]int, len(tracks)) // the next sample of each track to add
	for j, i := range tracks {
		if i < 0 || i >= len(m.Tracks) {
			return nil, fmt.Errorf("cmaf: no track %d", i)
		}
		next[j] = seg.First[i]
		if seg.First[i] < seg.Last[i] {
			ids = append(ids, uint32(j+1))
		}
	}
	if len(ids) == 0 {
		return nil, ErrNoSegment
	}
	count := 0
	for _, i := range tracks {
		count += seg.Last[i] - seg.First[i]
	}
	if count > MaxSegmentSamples {
		return nil, fmt.Errorf("%w: segment %d has %d samples, over %d (keyframes too far apart)", mp4index.ErrUnsupported, n, count, MaxSegmentSamples)
	}
	frag, err := mp4.CreateMultiTrackFragment(uint32(n+1), ids)
	if err != nil {
		return nil, fmt.Errorf("cmaf: %w", err)
	}
	l := &Layout{}
	var data int64 // payload bytes so far
	keyTrack := -1
	for j, i := range tracks {
		if m.Tracks[i].Kind == mp4index.Video && keyTrack < 0 {
			keyTrack = j
		}
	}
	for {
		// The sample that comes first in the file, of all tracks.
		j := -1
		for k, i := range tracks {
			if next[k] < seg.Last[i] && (j < 0 || m.Samples[i].Off[next[k]] < m.Samples[tracks[j]].Off[next[j]]) {
				j = k
			}
		}
		if j < 0 {
			break
		}
		i := tracks[j]
		s := m.Samples[i]
		x := next[j]
		next[j]++
		dur := s.End - s.DTS[x]
		if x+1 < len(s.DTS) {
			dur = s.DTS[x+1] - s.DTS[x]
		}
		flags := mp4.SampleFlags{SampleDependsOn: 2}
		if !s.IsSync(x) {
			flags = mp4.SampleFlags{SampleDependsOn: 1, SampleIsNonSync: true}
		}
		smp := mp4.Sample{Flags: flags.Encode(), Dur: uint32(dur), Size: s.Size[x], CompositionTimeOffset: s.CTO[x]}
		if err := frag.AddSampleToTrack(smp, uint32(j+1), uint64(s.DTS[seg.First[i]])); err != nil {
			return nil, fmt.Errorf("cmaf: %w", err)
		}
		off, size := s.Off[x], int64(s.Size[x])
		if k := len(l.Spans) - 1; k >= 0 && l.Spans[k].Off+l.Spans[k].Len == off {
			l.Spans[k].Len += size
		} else {
			l.Spans = append(l.Spans, Span{off, size})
		}
		data += size
		if j == keyTrack && x == seg.First[i] {
			l.KeyEnd = data // made absolute below, once the header is known
		}
		if data > MaxSegmentBytes {
			return nil, fmt.Errorf("%w: segment %d is over %d bytes", mp4index.ErrUnsupported, n, MaxSegmentBytes)
		}
	}
	var buf bytes.Buffer
	if err := frag.Encode(&buf); err != nil {
		return nil, fmt.Errorf("cmaf: encode segment %d: %w", n, err)
	}
	l.Header = buf.Bytes()
	l.Size = int64(len(l.Header)) + data
	if l.KeyEnd > 0 {
		l.KeyEnd += int64(len(l.Header))
	}
	return l, nil
}

// Hull returns the smallest range of the source holding every span.
func (l *Layout) Hull() (off, n int64) {
	if len(l.Spans) == 0 {
		return 0, 0
	}
	lo, hi := l.Spans[0].Off, l.Spans[0].Off+l.Spans[0].Len
	for _, s := range l.Spans[1:] {
		lo, hi = min(lo, s.Off), max(hi, s.Off+s.Len)
	}
	return lo, hi - lo
}

// ByteRanger is what a Layout reads the source through: a *chunker.File.
type ByteRanger interface {
	io.ReaderAt
	WriteRange(w io.Writer, off, n int64) (int64, error)
}

// maxSpans is the most spans WriteTo reads one by one; a payload in more
// pieces (one track of an interleaved file: a range per sample) is read as
// its hull with one ReadAt, when the hull is at most hullSlack times the
// payload and maxHull bytes.
const (
	maxSpans  = 16
	hullSlack = 4
	maxHull   = 32 << 20
)

// WriteTo writes the whole segment to w. The payload goes with one
// WriteRange per span (so the chunk cache reads each span as one range,
// with sendfile where it can), or, when it is in many small pieces, from
// one read of their hull.
func (l *Layout) WriteTo(ctx context.Context, w io.Writer, src ByteRanger) (int64, error) {
	n, err := w.Write(l.Header)
	total := int64(n)
	if err != nil {
		return total, err
	}
	payload := l.Size - int64(len(l.Header))
	if off, size := l.Hull(); len(l.Spans) > maxSpans && size <= hullSlack*payload && size <= maxHull {
		buf := make([]byte, size)
		if got, err := src.ReadAt(buf, off); got < len(buf) {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return total, err
		}
		for _, s := range l.Spans {
			m, err := w.Write(buf[s.Off-off : s.Off-off+s.Len])
			total += int64(m)
			if err != nil {
				return total, err
			}
		}
		return total, nil
	}
	for _, s := range l.Spans {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		m, err := src.WriteRange(w, s.Off, s.Len)
		total += m
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// ReaderAt returns the segment's bytes as an io.ReaderAt over src, for
// answering Range requests.
func (l *Layout) ReaderAt(src io.ReaderAt) io.ReaderAt {
	return &segmentReader{l: l, src: src}
}

type segmentReader struct {
	l   *Layout
	src io.ReaderAt
}

func (r *segmentReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for len(p) > 0 {
		if off >= r.l.Size {
			return n, io.EOF
		}
		if off < int64(len(r.l.Header)) {
			c := copy(p, r.l.Header[off:])
			n, off, p = n+c, off+int64(c), p[c:]
			continue
		}
		pos := int64(len(r.l.Header))
		for _, s := range r.l.Spans {
			if off < pos+s.Len {
				want := min(int64(len(p)), pos+s.Len-off)
				c, err := r.src.ReadAt(p[:want], s.Off+off-pos)
				n, off, p = n+c, off+int64(c), p[c:]
				if err != nil && !(err == io.EOF && int64(c) == want) {
					return n, err
				}
				break
			}
			pos += s.Len
		}
	}
	return n, nil
}
