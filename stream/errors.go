package stream

import (
	"errors"
	"io/fs"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
)

// openError maps an Open failure to an HTTP error, in one place, saying
// nothing about the file system or the origin to the client:
//
//	no such file, not a regular file, escapes the root   404
//	permission denied                                    403
//	out of file descriptors (EMFILE, ENFILE)             503 + Retry-After
//	the origin refused reelcache's credentials           502
//	the origin unreachable or failing                    502
//	the origin timed out                                 504
//
// Only a file that is not there may be 404: a CDN caches a 404, so a
// server short of descriptors must say 503, which it retries (issue 13
// item 9). The server-side failures are logged at most once a second each.
func (h *Handler) openError(c echo.Context, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, chunker.ErrNotRegular):
		return echo.ErrNotFound.WithInternal(err)
	case errors.Is(err, fs.ErrPermission):
		return echo.ErrForbidden.WithInternal(err)
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		h.logLimited("fds", "out of file descriptors: answering 503; raise the open-files limit (LimitNOFILE)", "err", err)
		c.Response().Header().Set("Retry-After", "1")
		return echo.NewHTTPError(http.StatusServiceUnavailable).WithInternal(err)
	case errors.Is(err, chunker.ErrOriginDenied):
		h.logLimited("origin-denied", "the origin refused reelcache's credentials: answering 502", "err", err)
		return echo.NewHTTPError(http.StatusBadGateway).WithInternal(err)
	case errors.Is(err, chunker.ErrOriginUnavailable):
		h.logLimited("origin-unavailable", "the origin is unavailable: answering 502", "err", err)
		return echo.NewHTTPError(http.StatusBadGateway).WithInternal(err)
	case errors.Is(err, chunker.ErrOriginTimeout):
		h.logLimited("origin-timeout", "the origin timed out: answering 504", "err", err)
		return echo.NewHTTPError(http.StatusGatewayTimeout).WithInternal(err)
	}
	// os.Root's "path escapes from parent", ENOTDIR, ELOOP: not there, as
	// far as a client may know.
	return echo.ErrNotFound.WithInternal(err)
}

// limitedLog is one kind of log line, logged at most once a second.
type limitedLog struct {
	mu         sync.Mutex // protects the fields below
	last       time.Time
	suppressed int // lines not logged since the last one
}

// logLimited logs at most once a second per kind, so an outage or a broken
// disk does not write a line per request; the next line says how many were
// left out. Errors among args are logged with URLs removed (see scrub).
func (h *Handler) logLimited(kind, msg string, args ...any) {
	v, _ := h.errOnce.LoadOrStore(kind, new(limitedLog))
	l := v.(*limitedLog)
	now := time.Now()
	l.mu.Lock()
	if now.Sub(l.last) < time.Second {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()
	for i, a := range args {
		if err, ok := a.(error); ok {
			args[i] = scrub(err)
		}
	}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	h.log.Warn(msg, args...)
}

// urlPattern matches what looks like a URL in an error's text.
var urlPattern = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"']+`)

// scrub returns err's text with URLs replaced by "<url>": an origin's
// errors may carry the object URL, with credentials in it or in its query
// (a presigned URL), and only the status belongs in the log.
func scrub(err error) string {
	return urlPattern.ReplaceAllString(err.Error(), "<url>")
}

// beginError maps a failure to read a body's first bytes (File.Begin) to
// the HTTP error the response becomes instead, or returns nil for one that
// can only cut it: the client leaving. The origin's failures map as
// openError maps them. A file or object that changed under the request is
// a 502 (issue 21 item 4): the origin's GET disagreed with what it said of
// the object (a 412, another ETag or total length: two nodes behind a
// balancer that differ, or a replacement), and cutting the connection
// before any status line would leave the viewer with an empty reply on
// every try. What was known of the name is dropped by then, so the next
// request sees the origin's current version.
func (h *Handler) beginError(c echo.Context, err error) *echo.HTTPError {
	switch {
	case errors.Is(err, chunker.ErrChanged):
		h.logLimited("origin-changed", "the object changed under the request (its origin disagrees with itself?): answering 502", "err", err)
		return echo.NewHTTPError(http.StatusBadGateway).WithInternal(err)
	case errors.Is(err, chunker.ErrOriginDenied), errors.Is(err, chunker.ErrOriginUnavailable),
		errors.Is(err, chunker.ErrOriginTimeout), errors.Is(err, fs.ErrNotExist):
		var he *echo.HTTPError
		if errors.As(h.openError(c, err), &he) {
			return he
		}
	}
	return nil
}

// errorHeaders turns the header of a response about to be written into
// that of he: none of the representation's headers ServeContent set (its
// validators, Content-Range, the multipart type) stay, and, like every
// error, it is not to be stored.
func errorHeaders(res *echo.Response, he *echo.HTTPError) {
	hdr := res.Header()
	for _, k := range []string{"Content-Range", "ETag", "Last-Modified", "Accept-Ranges", "Content-Encoding"} {
		hdr.Del(k)
	}
	hdr.Set("Content-Type", echo.MIMEApplicationJSON)
	hdr.Set("Content-Length", strconv.Itoa(len(errorBody(he))))
	hdr.Set("Cache-Control", "no-store")
	res.Status = he.Code
}

// errorBody is the body of he as Echo's default error handler writes it:
// {"message":"Bad Gateway"}, the status text and nothing else.
func errorBody(he *echo.HTTPError) []byte {
	return []byte(`{"message":"` + http.StatusText(he.Code) + `"}` + "\n")
}
