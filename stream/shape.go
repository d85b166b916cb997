package stream

import (
	"context"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Shape returns middleware that paces each response body with nginx's
// limit_rate and limit_rate_after semantics (issue 16): the first after
// bytes go at full speed (a player's start-up buffer fills fast), and from
// then on the body may not run ahead of after + rate x (time since the
// request began), so a viewer who leaves early has not pulled the whole
// film. Unlike nginx, which grants a second's worth up front, the clock
// gives exactly rate: 12 MiB at 2 MiB/s after 4 MiB takes 4 s.
//
// It holds on every path, because it sits under echo.Response: writes
// from chunks (Redis, the local tier, disk) are cut into slices of the
// original buffer, never copied, and a file sent with sendfile is sent in
// slices that are still sendfile. A response costs no memory beyond a
// pooled 32 KiB buffer for other readers. A response that never gets past
// after bytes runs exactly as without Shape, except for one comparison per
// write; install no Shape at all when rate is 0.
func Shape(rate, after int64) echo.MiddlewareFunc {
	if rate <= 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			res := c.Response()
			w := &shapedWriter{
				ResponseWriter: res.Writer, ctx: c.Request().Context(),
				rate: rate, after: after, start: time.Now(),
				slice: min(256<<10, max(4<<10, rate/16)),
			}
			res.Writer = w
			defer func() { res.Writer = w.ResponseWriter }()
			return next(c)
		}
	}
}

// shapedWriter paces what is written through it. Like any ResponseWriter
// it is for one goroutine at a time.
type shapedWriter struct {
	http.ResponseWriter
	ctx         context.Context // the request's: a viewer who leaves stops the wait
	rate, after int64           // bytes per second; bytes at full speed first
	start       time.Time       // the clock starts with the request, as nginx's does
	slice       int64           // most bytes sent in one go once paced
	sent        int64           // body bytes written so far
	timer       *time.Timer
}

// Unwrap lets http.ResponseController reach the connection.
func (w *shapedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// take waits until some of want bytes may be sent and returns how many:
// all of want when the allowance covers it, else at least a slice.
func (w *shapedWriter) take(want int64) (int64, error) {
	if w.sent+want <= w.after {
		return want, nil
	}
	for {
		allowed := w.after + int64(float64(w.rate)*time.Since(w.start).Seconds()) - w.sent
		goal := min(want, w.slice)
		if allowed >= goal {
			return min(want, allowed), nil
		}
		// What was written so far goes out before the pause.
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		d := time.Duration(float64(goal-allowed) / float64(w.rate) * float64(time.Second))
		if w.timer == nil {
			w.timer = time.NewTimer(d)
		} else {
			w.timer.Reset(d)
		}
		select {
		case <-w.timer.C:
		case <-w.ctx.Done():
			w.timer.Stop()
			return 0, w.ctx.Err()
		}
	}
}

// Write writes p in slices as the pace allows, without copying it.
func (w *shapedWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		k, err := w.take(int64(len(p)))
		if err != nil {
			return written, err
		}
		n, err := w.ResponseWriter.Write(p[:k])
		written += n
		w.sent += int64(n)
		p = p[n:]
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// copyBufs are the buffers ReadFrom copies other readers through.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// ReadFrom keeps sendfile: a file (one *io.LimitedReader over an *os.File,
// what net/http recognizes) is handed to the underlying ReadFrom a slice at
// a time, each slice again a LimitedReader over the file. Other readers are
// copied through Write.
func (w *shapedWriter) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := w.ResponseWriter.(io.ReaderFrom)
	lr, isLimited := r.(*io.LimitedReader)
	if ok && isLimited {
		if _, isFile := lr.R.(*os.File); isFile {
			var total int64
			for lr.N > 0 {
				k, err := w.take(lr.N)
				if err != nil {
					return total, err
				}
				n, err := rf.ReadFrom(&io.LimitedReader{R: lr.R, N: k})
				lr.N -= n
				total += n
				w.sent += n
				if err != nil || n < k {
					return total, err // an error, or the end of the file
				}
			}
			return total, nil
		}
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(struct{ io.Writer }{w}, r, *bp)
}
