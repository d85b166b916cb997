package mp4index

import (
	"context"
	"fmt"
	"io"

	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"
)

// maxMoofBytes bounds one moof read from a fragmented source.
const maxMoofBytes = 16 << 20

// fragments fills x.Fragments and x.InitSize from the top-level boxes
// after the moov of a fragmented source, reading each moof for its
// duration (in seconds, from the first track of x that it describes).
func fragments(ctx context.Context, r io.ReaderAt, x *Index, boxes []box, opts Options) error {
	ref := x.Tracks[0]
	if v := x.Track(Video); v != nil {
		ref = *v
	}
	for i, b := range boxes {
		if b.typ != "moof" {
			continue
		}
		if x.InitSize == 0 {
			x.InitSize = b.off
		}
		if len(x.Fragments) >= opts.MaxFragments {
			return fmt.Errorf("%w: more than %d fragments", ErrUnsupported, opts.MaxFragments)
		}
		end := x.Size
		for _, n := range boxes[i+1:] {
			if n.typ == "moof" || n.typ == "mfra" || n.typ == "sidx" {
				end = n.off
				break
			}
		}
		d, err := moofDuration(ctx, r, b, ref)
		if err != nil {
			return err
		}
		x.Fragments = append(x.Fragments, Fragment{Offset: b.off, Size: end - b.off, Duration: d})
	}
	if len(x.Fragments) == 0 {
		return fmt.Errorf("%w: fragmented file without fragments", ErrUnsupported)
	}
	x.FragTimescale = ref.Timescale
	var total uint64
	for _, f := range x.Fragments {
		total += f.Duration
	}
	x.Duration = float64(total) / float64(ref.Timescale)
	return nil
}

// moofDuration decodes the moof b and returns the summed sample durations
// of track ref in it.
func moofDuration(ctx context.Context, r io.ReaderAt, b box, ref Track) (d uint64, err error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if b.size > maxMoofBytes {
		return 0, fmt.Errorf("%w: moof of %d bytes", ErrUnsupported, b.size)
	}
	buf := make([]byte, b.size)
	if _, err := r.ReadAt(buf, b.off); err != nil {
		return 0, fmt.Errorf("read moof at %d: %w", b.off, err)
	}
	defer func() {
		if p := recover(); p != nil {
			d, err = 0, fmt.Errorf("%w: moof at %d: decoder failed: %v", ErrBad, b.off, p)
		}
	}()
	box, err := mp4.DecodeBoxSR(uint64(b.off), bits.NewFixedSliceReader(buf))
	if err != nil {
		return 0, fmt.Errorf("%w: moof at %d: %v", ErrBad, b.off, err)
	}
	moof, ok := box.(*mp4.MoofBox)
	if !ok {
		return 0, fmt.Errorf("%w: moof at %d", ErrBad, b.off)
	}
	for _, traf := range moof.Trafs {
		if traf.Tfhd == nil || traf.Tfhd.TrackID != ref.ID {
			continue
		}
		trex := &mp4.TrexBox{TrackID: ref.ID}
		for _, trun := range traf.Truns {
			d += trun.AddSampleDefaultValues(traf.Tfhd, trex)
		}
	}
	return d, nil
}
