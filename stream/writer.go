package stream

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net/http"
	"os"

	"github.com/labstack/echo/v4"
)

// sendfileSegment is how much of a file one sendfile call sends before the
// file's version is checked again, at one fstat and one stat per segment.
// The check cuts off a response whose file was replaced, truncated or
// rewritten. It cannot keep an in-place rewrite out of bytes already handed
// to the socket: sendfile passes references to page-cache pages, which
// change with the file until sent. Replace files by rename (write a new
// file, then mv), and nothing mixed is ever sent.
const sendfileSegment = 1 << 20

// responseWriter is an echo.Response that also implements io.ReaderFrom.
// echo.Response does not, which hides net/http's own ReadFrom from io.Copy:
// with it, http.ServeContent over an *os.File reaches the kernel's sendfile
// instead of copying through a 32 KiB buffer.
//
// When check is set, a file is sent in segments of sendfileSegment with
// check called between them; its error ends the copy, so a file rewritten
// in place is cut off rather than sent as a mix of two versions.
//
// When discard is set and reports true, the body ServeContent writes is
// dropped: the response became an error before its body (serveChunks),
// whose own body the handler writes.
type responseWriter struct {
	*echo.Response
	check   func() error
	ctx     context.Context // the request's, for the connection (ConnContext); may be nil
	discard func() bool     // may be nil
}

// errDiscarded ends ServeContent's copy into a discarding responseWriter.
var errDiscarded = errors.New("stream: body discarded: the response is an error")

func (w responseWriter) Write(p []byte) (int, error) {
	if !w.Committed {
		// As echo.Response.Write does, but first, so that the discard
		// decided while the header is written applies to p.
		w.WriteHeader(cmp.Or(w.Status, http.StatusOK))
	}
	if w.discard != nil && w.discard() {
		return 0, errDiscarded
	}
	return w.Response.Write(p)
}

func (w responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.Committed {
		w.WriteHeader(http.StatusOK)
	}
	if w.discard != nil && w.discard() {
		return 0, errDiscarded
	}
	rf, ok := w.Writer.(io.ReaderFrom)
	if !ok {
		return io.Copy(struct{ io.Writer }{w.Response}, r)
	}
	lr, ok := r.(*io.LimitedReader)
	if ok {
		if sr, isSection := lr.R.(*io.SectionReader); isSection {
			if ra, base, _ := sr.Outer(); ra != nil {
				if rw, ok := ra.(rangeWriter); ok {
					return writeSection(newWritableWriter(w.context(), w.Response), rw, sr, base, lr)
				}
			}
		}
	}
	if !ok || w.check == nil {
		return sendFrom(w.context(), w.Response, rf, r)
	}
	if _, isFile := lr.R.(*os.File); !isFile {
		return sendFrom(w.context(), w.Response, rf, r)
	}
	// One level of *io.LimitedReader over the *os.File is what sendfile
	// recognizes, so each segment gets its own rather than a nested one.
	var total int64
	for lr.N > 0 {
		seg := &io.LimitedReader{R: lr.R, N: min(lr.N, sendfileSegment)}
		want := seg.N
		n, err := sendFrom(w.context(), w.Response, rf, seg)
		total += n
		lr.N -= n
		if err != nil {
			return total, err
		}
		if n < want {
			return total, io.ErrUnexpectedEOF // the file shrank
		}
		if err := w.check(); err != nil {
			return total, err
		}
	}
	return total, nil
}

// context returns the request's context, or the background one.
func (w responseWriter) context() context.Context { return cmp.Or(w.ctx, context.Background()) }

// sendFrom is rf's ReadFrom of r (net/http's: sendfile for a file), counted
// in res.Size, with the header net/http flushes first sent with MSG_MORE
// (tcpmore_linux.go).
func sendFrom(ctx context.Context, res *echo.Response, rf io.ReaderFrom, r io.Reader) (int64, error) {
	done := sendsFile(ctx, r)
	n, err := rf.ReadFrom(r)
	done()
	res.Size += n
	return n, err
}

// rangeWriter writes a byte range of itself to w without an intermediate
// buffer: chunker.File.WriteRange.
type rangeWriter interface {
	WriteRange(w io.Writer, off, n int64) (int64, error)
}

// writeSection sends what ServeContent's io.CopyN would read from lr (a
// LimitedReader over a SectionReader over rw) with rw.WriteRange, and
// advances both readers by what was written.
func writeSection(w io.Writer, rw rangeWriter, sr *io.SectionReader, base int64, lr *io.LimitedReader) (int64, error) {
	pos, err := sr.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	n, err := rw.WriteRange(w, base+pos, min(lr.N, sr.Size()-pos))
	sr.Seek(n, io.SeekCurrent)
	lr.N -= n
	return n, err
}
