package chunker

import (
	"fmt"
	"io"
)

// Direct reads: bytes of a chunk nobody will cache, read from the origin
// only as far as asked. A local origin's own file is sent with sendfile, as
// nginx sends it (its version checked after each send: read.go); a remote
// origin is read in one ranged request per run of consecutive bytes to the
// end of the range being served (a jump opens a new one).

// scratchSize is the buffer a File writes a remote origin's direct bytes
// out of.
const scratchSize = 128 << 10

// direct returns the piece for the bytes at off of a chunk read from the
// origin and not cached. f.mu must be held.
func (f *File) direct(off int64) (piece, error) {
	_, ce := f.geo.Bounds(f.geo.Index(off))
	if osf := f.OSFile(); osf != nil {
		return piece{lo: off, hi: ce, src: srcOrigin, file: osf}, nil
	}
	return piece{lo: off, hi: ce, src: srcOrigin}, nil
}

// writeDirect writes the bytes [off, hi) from the remote origin's direct
// read, through the File's scratch buffer, a buffer at a time. f.mu must
// be held.
func (f *File) writeDirect(w io.Writer, off, hi int64) (int64, error) {
	if f.scratch == nil {
		f.scratch = f.c.scratch.Get().(*[]byte)
		f.c.scratchHeld.Add(1)
	}
	buf := *f.scratch
	var written int64
	for off < hi {
		n, err := f.readDirect(buf[:min(int64(len(buf)), hi-off)], off)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			written += int64(m)
			off += int64(m)
			if werr != nil {
				return written, errWrite(werr)
			}
		}
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// readDirect reads into p the bytes at off from the direct read, opening
// it when it does not read from off. f.mu must be held.
func (f *File) readDirect(p []byte, off int64) (int, error) {
	if err := f.openDirect(off); err != nil {
		return 0, err
	}
	n, err := f.dr.Read(p)
	f.drOff += int64(n)
	f.c.stats.diskBytes.Add(int64(n))
	if err == io.EOF {
		f.closeDirect()
		if n == 0 {
			return 0, fmt.Errorf("read %s at %d: origin range ended early: %w", f.name, off, ErrChanged)
		}
		err = nil
	}
	if err != nil {
		f.closeDirect()
	}
	return n, err
}

// openDirect makes f.dr the direct read from off to the end of the range
// being served, unless it already reads from there. f.mu must be held.
func (f *File) openDirect(off int64) error {
	if f.dr != nil && f.drOff == off {
		return nil
	}
	f.closeDirect()
	end := f.end
	if end <= off {
		end = f.geo.Size // a read past the prepared range
	}
	rc, err := f.c.origin.ReadRange(f.ctx, f.name, f.version, off, end-off)
	if err != nil {
		return err
	}
	f.dr, f.drOff = rc, off
	return nil
}

// closeDirect closes the direct read, if any. f.mu must be held.
func (f *File) closeDirect() {
	if f.dr != nil {
		f.dr.Close()
		f.dr = nil
	}
}

// releaseScratch gives the File's scratch buffer, if it holds one, back to
// the pool. f.mu must be held.
func (f *File) releaseScratch() {
	if f.scratch != nil {
		f.c.scratch.Put(f.scratch)
		f.scratch = nil
		f.c.scratchHeld.Add(-1)
	}
}
