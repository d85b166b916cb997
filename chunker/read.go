package chunker

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// The read path. Every reader of cached bytes (the HTTP handler through
// WriteRange, packagers and preview jobs through ReadAt, a prewarm through
// OpenWarm) goes through one loop, WriteRange: it asks piece (piece.go)
// where the bytes at an offset come from, and writes them:
//
//   - local tier: the chunk's file, with sendfile when w can take it;
//   - Redis: a window of checked bytes (window.go);
//   - origin, being cached: a flight's buffer as it fills (flight.go);
//   - origin, not cached: the local file with sendfile, or a remote
//     origin's ranged read (direct.go).

// ErrWrite wraps the error of a writer that WriteRange wrote to, so that
// callers can tell a client that went away from a failed read.
var ErrWrite = errors.New("chunker: write failed")

// WriteRange writes the n bytes at off to w and returns the bytes written.
// Bytes the local tier or a local origin holds go by w's ReadFrom (for an
// HTTP response, the kernel's sendfile); others are written straight from
// the chunk data, one write per piece, without an intermediate copy. Bytes
// of a chunk being read from the origin are written as they arrive. If the
// object changes under a read that needs it, WriteRange fails with an
// error wrapping ErrChanged rather than send mixed bytes. Errors of w wrap
// ErrWrite; fewer than n bytes before the end of the file is io.EOF.
func (f *File) WriteRange(w io.Writer, off, n int64) (int64, error) {
	if off < 0 || n < 0 {
		return 0, fmt.Errorf("write range %d+%d of %s: negative", off, n, f.name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	end := min(off+n, f.geo.Size)
	ww, _ := w.(writableWaiter)
	var written int64
	for off < end {
		pc, err := f.piece(off, end, ww)
		if err != nil {
			return written, err
		}
		hi := min(end, pc.hi)
		if ww != nil && pc.data != nil {
			if !ww.Writable() {
				// The client's socket is full: it reads slowly. Hold no
				// chunk data while it drains; what is left is fetched
				// again (smaller) when it has room.
				if err := f.waitWritable(ww); err != nil {
					return written, err
				}
				continue
			}
			if f.slow {
				// Slices the socket takes at once, so that a write rarely
				// blocks with chunk data held.
				hi = min(hi, off+slowSlice)
			}
		}
		m, err := f.writePiece(w, pc, off, hi)
		written += m
		off += m
		f.count(pc.src, m)
		if err != nil {
			return written, err
		}
	}
	if written < n {
		return written, io.EOF
	}
	return written, nil
}

// slowSlice is the most WriteRange writes at once from memory to a slow
// client (a socket is writable once a third of its buffer is free, which
// is more than this once it has grown).
const slowSlice = 64 << 10

// ReadAt reads len(p) bytes at off, through WriteRange.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %s at %d: negative offset", f.name, off)
	}
	if off >= f.geo.Size {
		return 0, io.EOF
	}
	sw := sliceWriter{p: p}
	n, err := f.WriteRange(&sw, off, int64(len(p)))
	return int(n), err
}

// writePiece writes the bytes [off, hi) of pc to w. f.mu must be held.
func (f *File) writePiece(w io.Writer, pc piece, off, hi int64) (int64, error) {
	switch {
	case pc.file != nil:
		return f.sendFile(w, pc, off, hi)
	case pc.data != nil:
		m, err := w.Write(pc.data[off-pc.lo : hi-pc.lo])
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrWrite, err)
		}
		f.afterWrite(off + int64(m))
		return int64(m), err
	}
	return f.writeDirect(w, off, hi)
}

// sendFile writes the bytes [off, hi) of pc's file (whose byte 0 is the
// file's byte pc.base) to w through w's ReadFrom, which for an HTTP
// response over TCP is sendfile(2). A file of the origin is checked for a
// change after the send, as ReadRange checks after every read: bytes sent
// while it was rewritten in place end the response with ErrChanged.
func (f *File) sendFile(w io.Writer, pc piece, off, hi int64) (int64, error) {
	defer pc.release()
	if _, err := pc.file.Seek(off-pc.base, io.SeekStart); err != nil {
		return 0, fmt.Errorf("read %s at %d: %w", f.name, off, err)
	}
	lr := &io.LimitedReader{R: fileReader{pc.file}, N: hi - off}
	m, err := io.Copy(w, lr)
	if pc.src == srcOrigin {
		f.c.stats.diskBytes.Add(m)
		if cerr := f.obj.Changed(f.ctx); cerr != nil {
			return m, fmt.Errorf("read %s at %d: %w", f.name, off, cerr)
		}
	}
	if err == nil && m < hi-off {
		err = fmt.Errorf("read %s at %d: the file ended early: %w", f.name, off+m, ErrChanged)
	}
	if err != nil && !errors.Is(err, ErrChanged) {
		err = fmt.Errorf("%w: %w", ErrWrite, err)
	}
	return m, err
}

// fileReader shows only the Read and the syscall.Conn of an *os.File:
// net's sendfile(2) needs the second (behind an io.LimitedReader), and
// hiding the file's WriteTo makes io.Copy use w's ReadFrom, which is what
// reaches the socket through an http.ResponseWriter.
type fileReader struct{ f *os.File }

func (r fileReader) Read(p []byte) (int, error)            { return r.f.Read(p) }
func (r fileReader) SyscallConn() (syscall.RawConn, error) { return r.f.SyscallConn() }

// sliceWriter is the writer ReadAt hands WriteRange: it fills p.
type sliceWriter struct {
	p []byte
	n int
}

func (s *sliceWriter) Write(b []byte) (int, error) {
	m := copy(s.p[s.n:], b)
	s.n += m
	if m < len(b) {
		return m, io.ErrShortWrite
	}
	return m, nil
}

// ReadFrom fills the rest of p from r (a file the bytes come from).
func (s *sliceWriter) ReadFrom(r io.Reader) (int64, error) {
	lr, ok := r.(*io.LimitedReader)
	want := len(s.p) - s.n
	if ok {
		want = int(min(int64(want), lr.N))
	}
	m, err := io.ReadFull(r, s.p[s.n:s.n+want])
	s.n += m
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil // the caller counts what arrived
	}
	return int64(m), err
}

// errWrite wraps an error of the writer WriteRange writes to.
func errWrite(err error) error { return fmt.Errorf("%w: %w", ErrWrite, err) }
