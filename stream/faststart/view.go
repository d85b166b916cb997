package faststart

import (
	"fmt"
	"io"

	"github.com/reelcache/reelcache/chunker"
)

// File is what a View reads the file's own bytes through: a
// *chunker.File, so that the mdat comes from the file's cached chunks.
type File interface {
	io.ReaderAt
	// WriteRange writes the n bytes at off to w (chunker.File.WriteRange).
	WriteRange(w io.Writer, off, n int64) (int64, error)
	Size() int64
}

// View is a file presented by a Plan: as long as the file, with the
// patched moov before the mdat. It reads the file's bytes from f and the
// moov from memory. It is safe for concurrent use when f is (a
// chunker.File serializes its reads).
type View struct {
	f    File
	p    *Plan
	etag string
}

// NewView returns the view of f by p, with etag as its strong validator
// (unquoted). p must have been built from f's version.
func NewView(f File, p *Plan, etag string) *View {
	return &View{f: f, p: p, etag: etag}
}

// ETag returns the view's strong validator, without quotes: one per file
// version and rewrite, never the file's own.
func (v *View) ETag() string { return v.etag }

// Size returns the view's length, the file's.
func (v *View) Size() int64 { return v.f.Size() }

// segment is a run of the view: n bytes at at, read from the file at from,
// or from the patched moov when from is -1.
type segment struct{ at, n, from int64 }

func (v *View) segments() [4]segment {
	p, m := v.p, int64(len(v.p.Moov))
	return [4]segment{
		{0, p.At, 0},
		{p.At, m, -1},
		{p.At + m, p.MoovAt - p.At, p.At},
		{p.MoovAt + m, v.f.Size() - p.MoovAt - m, p.MoovAt + m},
	}
}

// each calls fn on the parts of the segments in [off, off+n) (clipped to
// the view), in order: lo and hi are view offsets.
func (v *View) each(off, n int64, fn func(s segment, lo, hi int64) error) error {
	end := min(off+n, v.f.Size())
	for _, s := range v.segments() {
		lo, hi := max(off, s.at), min(end, s.at+s.n)
		if lo >= hi {
			continue
		}
		if err := fn(s, lo, hi); err != nil {
			return err
		}
	}
	return nil
}

// WriteRange writes the n bytes of the view at off to w, the file's part
// through its WriteRange. Errors of w wrap chunker.ErrWrite; fewer than n
// bytes before the end is io.EOF.
func (v *View) WriteRange(w io.Writer, off, n int64) (int64, error) {
	if off < 0 || n < 0 {
		return 0, fmt.Errorf("faststart: write range %d+%d: negative", off, n)
	}
	var written int64
	err := v.each(off, n, func(s segment, lo, hi int64) error {
		if s.from < 0 {
			m, err := w.Write(v.p.Moov[lo-s.at : hi-s.at])
			written += int64(m)
			if err != nil {
				return fmt.Errorf("%w: %w", chunker.ErrWrite, err)
			}
			return nil
		}
		m, err := v.f.WriteRange(w, s.from+lo-s.at, hi-lo)
		written += m
		return err
	})
	if err == nil && written < n {
		err = io.EOF
	}
	return written, err
}

// ReadAt reads len(p) bytes of the view at off.
func (v *View) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("faststart: read at %d: negative offset", off)
	}
	var read int
	err := v.each(off, int64(len(p)), func(s segment, lo, hi int64) error {
		dst := p[lo-off : hi-off]
		if s.from < 0 {
			read += copy(dst, v.p.Moov[lo-s.at:hi-s.at])
			return nil
		}
		m, err := v.f.ReadAt(dst, s.from+lo-s.at)
		read += m
		if err == io.EOF && m == len(dst) {
			err = nil
		}
		return err
	})
	if err == nil && read < len(p) {
		err = io.EOF
	}
	return read, err
}

// Span returns the file's bytes the n bytes of the view at off read: the
// hull, at fileOff and fileN long (0 when they are all the moov's), so
// that a caller can ready the file's chunks for them.
func (v *View) Span(off, n int64) (fileOff, fileN int64) {
	lo, hi := int64(-1), int64(-1)
	v.each(off, n, func(s segment, a, b int64) error {
		if s.from < 0 {
			return nil
		}
		fa, fb := s.from+a-s.at, s.from+b-s.at
		if lo < 0 || fa < lo {
			lo = fa
		}
		hi = max(hi, fb)
		return nil
	})
	if lo < 0 {
		return 0, 0
	}
	return lo, hi - lo
}
