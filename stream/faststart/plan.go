package faststart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/abema/go-mp4"
)

// Plan says how one moov-at-end file is presented with its moov first. The
// view, as long as the file, is the file's bytes [0, At), then Moov, then
// the file's bytes [At, MoovAt), then its bytes from MoovAt+len(Moov) to
// the end: the moov moved to where the first mdat began, everything from
// there to the old moov moved up by len(Moov), the rest in place.
//
// A Plan is immutable once built and safe for concurrent use.
type Plan struct {
	At     int64  // where the moov goes: the start of the first mdat
	MoovAt int64  // where the moov is in the file
	Moov   []byte // the moov with its chunk offsets patched, as long as the file's
}

// Errors of Build. Each means the file is served as it is.
var (
	// ErrTooBig: the moov is longer than the Options' MaxMoov.
	ErrTooBig = errors.New("faststart: moov too big")
	// ErrUnsupported: the moov holds what a move would break: absolute
	// offsets other than chunk offsets (saio, iloc), chunk offsets into the
	// moov, 32-bit chunk offsets that would pass 4 GiB.
	ErrUnsupported = errors.New("faststart: moov cannot be moved")
	// ErrMalformed: the top-level boxes or the moov do not parse.
	ErrMalformed = errors.New("faststart: malformed MP4")
)

// maxTopBoxes bounds the top-level box headers Build reads: each may cost
// a chunk read, and real files have a handful.
const maxTopBoxes = 256

// Build reads the top-level box headers of the size bytes of r (an MP4 or
// MOV) and, when its moov follows an mdat, reads the moov (at most
// maxMoov bytes) and returns the Plan that moves it first. It returns a
// nil Plan and no error when there is nothing to do: the moov is already
// first, or r is not a plain (unfragmented) MP4 with one moov and an mdat.
// An error (ErrTooBig, ErrUnsupported, ErrMalformed, or r's) means the file
// cannot be rewritten and is served as it is. Memory is bounded by
// maxMoov plus the moov's decoded chunk offset tables.
func Build(ctx context.Context, r io.ReaderAt, size, maxMoov int64) (*Plan, error) {
	top, err := scan(ctx, r, size)
	if err != nil || !top.movable() {
		return nil, err
	}
	return top.build(r, maxMoov)
}

// build reads the moov top found (at most maxMoov bytes) and returns the
// Plan that moves it before the first mdat. top must be movable.
func (top topBoxes) build(r io.ReaderAt, maxMoov int64) (*Plan, error) {
	if top.moovSize > maxMoov {
		return nil, fmt.Errorf("%w: %d bytes, the most is %d", ErrTooBig, top.moovSize, maxMoov)
	}
	buf := make([]byte, top.moovSize)
	if _, err := r.ReadAt(buf, top.moovAt); err != nil {
		return nil, fmt.Errorf("faststart: read moov: %w", err)
	}
	moov, err := patch(buf, top.mdatAt, top.moovAt)
	if err != nil {
		return nil, err
	}
	return &Plan{At: top.mdatAt, MoovAt: top.moovAt, Moov: moov}, nil
}

// topBoxes is where the first mdat and the moov are (-1: none).
type topBoxes struct {
	mdatAt, moovAt, moovSize int64
}

// movable reports whether the file has a moov after its first mdat: the
// one layout a Plan changes.
func (t topBoxes) movable() bool {
	return t.moovAt >= 0 && t.mdatAt >= 0 && t.moovAt > t.mdatAt
}

// scan walks the top-level box headers (the library's ReadBoxInfo reads
// each). A
// file that is not an MP4 or is one that cannot be rewritten (several
// moovs, fragments, a box past the end) yields no moov and no error; only
// r's errors and ctx's are returned.
func scan(ctx context.Context, r io.ReaderAt, size int64) (topBoxes, error) {
	none := topBoxes{-1, -1, 0}
	t := none
	var off int64
	for range maxTopBoxes {
		if off == size {
			return t, nil
		}
		if err := ctx.Err(); err != nil {
			return none, err
		}
		h, err := mp4.ReadBoxInfo(io.NewSectionReader(r, off, size-off))
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return none, nil // truncated
		}
		if err != nil {
			return none, fmt.Errorf("faststart: read box header at %d: %w", off, err)
		}
		if h.Size < h.HeaderSize || h.Size > uint64(size-off) || h.ExtendToEOF {
			return none, nil // not a box, or past the end: truncated or not an MP4
		}
		switch h.Type.String() {
		case "mdat":
			if t.mdatAt < 0 {
				t.mdatAt = off
			}
		case "moov":
			if t.moovAt >= 0 {
				return none, nil // two moovs
			}
			t.moovAt, t.moovSize = off, int64(h.Size)
		case "moof", "mfra", "sidx":
			return none, nil // fragmented: nothing to move
		}
		if t.moovAt >= 0 && t.mdatAt < 0 {
			return t, nil // moov first already: done reading
		}
		off += int64(h.Size)
	}
	return none, nil // too many boxes
}

// offsetPaths are the boxes patch reads: the chunk offset tables, and
// those that hold other absolute offsets into the file, which refuse the
// move.
var offsetPaths = []mp4.BoxPath{
	{mp4.BoxTypeMoov(), mp4.BoxTypeTrak(), mp4.BoxTypeMdia(), mp4.BoxTypeMinf(), mp4.BoxTypeStbl(), mp4.BoxTypeStco()},
	{mp4.BoxTypeMoov(), mp4.BoxTypeTrak(), mp4.BoxTypeMdia(), mp4.BoxTypeMinf(), mp4.BoxTypeStbl(), mp4.BoxTypeCo64()},
	{mp4.BoxTypeMoov(), mp4.BoxTypeTrak(), mp4.BoxTypeMdia(), mp4.BoxTypeMinf(), mp4.BoxTypeStbl(), mp4.BoxTypeSaio()},
	{mp4.BoxTypeMoov(), mp4.BoxTypeMeta(), mp4.StrToBoxType("iloc")},
	{mp4.BoxTypeMoov(), mp4.BoxTypeTrak(), mp4.BoxTypeMeta(), mp4.StrToBoxType("iloc")},
}

// patch finds, with the library, the chunk offset tables (stco, co64) of
// the moov in buf (at moovAt in the file), adds len(buf) to each offset in
// [at, moovAt), and writes them back in place: only those tables' entries
// change, every other byte of the moov stays as it was. It returns buf,
// or an error and buf partly patched.
func patch(buf []byte, at, moovAt int64) (out []byte, err error) {
	defer func() {
		// The library decodes untrusted bytes; a panic in it must cost
		// this file its rewrite, not the server its process.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: decoder panic: %v", ErrMalformed, r)
		}
	}()
	boxes, err := mp4.ExtractBoxesWithPayload(bytes.NewReader(buf), nil, offsetPaths)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	shift := int64(len(buf))
	move := func(o int64) (int64, error) {
		switch {
		case o >= at && o < moovAt:
			return o + shift, nil
		case o >= moovAt && o < moovAt+shift:
			return 0, fmt.Errorf("%w: a chunk offset %d points into the moov", ErrUnsupported, o)
		}
		return o, nil
	}
	out = buf
	for _, b := range boxes {
		switch box := b.Payload.(type) {
		case *mp4.Stco:
			for i, o := range box.ChunkOffset {
				n, err := move(int64(o))
				if err != nil {
					return nil, err
				}
				if n > math.MaxUint32 {
					return nil, fmt.Errorf("%w: a 32-bit chunk offset would pass 4 GiB", ErrUnsupported)
				}
				box.ChunkOffset[i] = uint32(n)
			}
		case *mp4.Co64:
			for i, o := range box.ChunkOffset {
				if o > math.MaxInt64-uint64(shift) {
					return nil, fmt.Errorf("%w: chunk offset %d", ErrMalformed, o)
				}
				n, err := move(int64(o))
				if err != nil {
					return nil, err
				}
				box.ChunkOffset[i] = uint64(n)
			}
		default:
			// saio (encryption's sample auxiliary information) and iloc
			// point into the file by absolute offset too.
			return nil, fmt.Errorf("%w: it holds %s", ErrUnsupported, b.Info.Type)
		}
		if err := put(out, &b.Info, b.Payload); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// put writes the payload of box over its old bytes in moov, which must
// take exactly as many.
func put(moov []byte, info *mp4.BoxInfo, box mp4.IBox) error {
	var w bytes.Buffer
	if _, err := mp4.Marshal(&w, box, info.Context); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMalformed, info.Type, err)
	}
	start := info.Offset + info.HeaderSize
	if info.Size < info.HeaderSize || uint64(w.Len()) != info.Size-info.HeaderSize || info.Offset+info.Size > uint64(len(moov)) {
		return fmt.Errorf("%w: %s changed size", ErrUnsupported, info.Type)
	}
	copy(moov[start:], w.Bytes())
	return nil
}
