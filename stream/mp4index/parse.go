package mp4index

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"
)

// Options bound what Parse reads and keeps. Zero means the default.
type Options struct {
	// MaxMoovBytes is the largest moov read (DefaultMaxMoovBytes, 64 MiB:
	// a ten-hour film's tables).
	MaxMoovBytes int64
	// MaxSamples is the most samples one track may have
	// (DefaultMaxSamples, 4M: 38 hours at 30 fps).
	MaxSamples uint32
	// MaxFragments is the most moof boxes of a fragmented source
	// (DefaultMaxFragments).
	MaxFragments int
}

// Defaults of Options.
const (
	DefaultMaxMoovBytes = 64 << 20
	DefaultMaxSamples   = 4 << 20
	DefaultMaxFragments = 100_000
)

func (o Options) withDefaults() Options {
	if o.MaxMoovBytes <= 0 {
		o.MaxMoovBytes = DefaultMaxMoovBytes
	}
	if o.MaxSamples == 0 {
		o.MaxSamples = DefaultMaxSamples
	}
	if o.MaxFragments <= 0 {
		o.MaxFragments = DefaultMaxFragments
	}
	return o
}

// topLevel are the box types an MP4 or MOV file may start with; a file
// whose first box is none of them is not an MP4 (WebM starts 1A 45 DF A3).
var topLevel = map[string]bool{
	"ftyp": true, "styp": true, "moov": true, "mdat": true, "free": true, "skip": true,
	"wide": true, "pdin": true, "uuid": true, "sidx": true, "moof": true, "meta": true,
}

// box is one top-level box: where it starts, its size and its header length.
type box struct {
	typ       string
	off, size int64
}

// Parse reads the top-level box headers of the size bytes of r, then the
// moov, and returns the file's Index. It reads the moov once, whole, and
// otherwise only box headers, so a moov-at-end file costs its moov plus
// the headers before it (on a chunk cache: the first chunk, the moov's
// chunks and at most one more). Errors wrap ErrNotMP4, ErrUnsupported or
// ErrBad, or are r's own. Parse never panics on hostile input: a panic in
// the box decoder is returned as ErrBad.
func Parse(ctx context.Context, r io.ReaderAt, size int64, opts Options) (x *Index, err error) {
	opts = opts.withDefaults()
	boxes, err := walk(ctx, r, 0, size, true, opts)
	if err != nil {
		return nil, err
	}
	var moov *box
	for i := range boxes {
		if boxes[i].typ == "moov" {
			moov = &boxes[i]
			break
		}
	}
	if moov == nil {
		return nil, fmt.Errorf("%w: no moov box", ErrBad)
	}
	if moov.size > opts.MaxMoovBytes {
		return nil, fmt.Errorf("%w: moov of %d bytes, over the limit of %d", ErrBad, moov.size, opts.MaxMoovBytes)
	}
	buf := make([]byte, moov.size)
	if _, err := r.ReadAt(buf, moov.off); err != nil {
		return nil, fmt.Errorf("read moov: %w", err)
	}
	mv, err := decodeMoov(buf, uint64(moov.off))
	if err != nil {
		return nil, err
	}
	x, err = fromMoov(mv, size, opts)
	if err != nil {
		return nil, err
	}
	if x.Fragmented {
		rest, err := walk(ctx, r, moov.off+moov.size, size, false, opts)
		if err != nil {
			return nil, err
		}
		if err := fragments(ctx, r, x, rest, opts); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// decodeMoov decodes the moov box in buf with mp4ff, turning a panic into
// ErrBad.
func decodeMoov(buf []byte, pos uint64) (mv *mp4.MoovBox, err error) {
	defer func() {
		if p := recover(); p != nil {
			mv, err = nil, fmt.Errorf("%w: moov: decoder failed: %v", ErrBad, p)
		}
	}()
	b, err := mp4.DecodeBoxSR(pos, bits.NewFixedSliceReader(buf))
	if err != nil {
		return nil, fmt.Errorf("%w: moov: %v", ErrBad, err)
	}
	mv, ok := b.(*mp4.MoovBox)
	if !ok || mv.Mvhd == nil {
		return nil, fmt.Errorf("%w: moov without mvhd", ErrBad)
	}
	return mv, nil
}

// walk lists the top-level boxes of the file from their headers, from off
// on. With toMoov it stops after the moov.
func walk(ctx context.Context, r io.ReaderAt, off, size int64, toMoov bool, opts Options) ([]box, error) {
	var (
		boxes []box
		hdr   [16]byte
	)
	first := off == 0
	for off < size {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(boxes) > opts.MaxFragments*2+64 {
			return nil, fmt.Errorf("%w: more than %d top-level boxes", ErrUnsupported, len(boxes))
		}
		n := min(int64(len(hdr)), size-off)
		if n < 8 {
			return nil, fmt.Errorf("%w: truncated box header at %d", ErrBad, off)
		}
		if _, err := r.ReadAt(hdr[:n], off); err != nil && err != io.EOF {
			return nil, fmt.Errorf("read box header at %d: %w", off, err)
		}
		typ := string(hdr[4:8])
		if first && len(boxes) == 0 && !topLevel[typ] {
			return nil, ErrNotMP4
		}
		bs := int64(binary.BigEndian.Uint32(hdr[:4]))
		switch {
		case bs == 0: // to the end of the file
			bs = size - off
		case bs == 1:
			if n < 16 {
				return nil, fmt.Errorf("%w: truncated box header at %d", ErrBad, off)
			}
			h, err := mp4.DecodeHeader(bytes.NewReader(hdr[:]))
			if err != nil || h.Size > uint64(size) {
				return nil, fmt.Errorf("%w: box %q at %d: bad size", ErrBad, typ, off)
			}
			bs = int64(h.Size)
		case bs < 8:
			return nil, fmt.Errorf("%w: box %q at %d: size %d", ErrBad, typ, off, bs)
		}
		if bs > size-off {
			return nil, fmt.Errorf("%w: box %q at %d runs past the end of the file", ErrBad, typ, off)
		}
		boxes = append(boxes, box{typ, off, bs})
		if typ == "moov" && toMoov {
			break
		}
		off += bs
	}
	return boxes, nil
}
