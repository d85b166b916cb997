package stream

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// How a response ended, as the access log (end=) and
// reelcache_http_responses_cut_total say it.
const (
	endOK         = "ok"          // sent whole
	endClientGone = "client-gone" // the client left before the end
	endCut        = "cut"         // cut by the server: the origin failed or the file changed mid-body
	endPanic      = "panic"       // a handler panicked (Recover answers 500 when it is in the chain)
)

// cutKey is the echo.Context key under which a handler that cuts its
// response for a failure of its own leaves the cause (see abort).
const cutKey = "reelcache.cut"

// abort cuts the response by aborting the handler (the connection is
// closed, so that a short body is never taken for a whole one). cause is
// the server-side failure that made it, or nil when the client left. The
// access log and the metrics middleware recover the abort, record the
// request, and abort again (issue 21 item 6: the abort used to unwind past
// them, leaving the request unlogged and uncounted).
func abort(c echo.Context, cause error) {
	if cause != nil {
		c.Set(cutKey, cause)
	}
	panic(http.ErrAbortHandler)
}

// serve runs next, writing the error response of an error it returns
// (so that its status is the one recorded), and returns what it panicked
// with, if anything, for the caller to record and panic again with.
func serve(next echo.HandlerFunc, c echo.Context) (p any) {
	defer func() { p = recover() }()
	if err := next(c); err != nil {
		c.Error(err)
	}
	return nil
}

// ending says how the response ended, given what its handler panicked
// with, and the cause of a cut. A handler that returned with fewer body
// bytes sent than its Content-Length promised lost its client.
func ending(c echo.Context, p any) (end string, cause error) {
	switch {
	case p == nil:
		res := c.Response()
		if c.Request().Method != http.MethodHead && res.Size < expectedBody(res) {
			return endClientGone, nil
		}
		return endOK, nil
	case p != http.ErrAbortHandler:
		return endPanic, nil
	}
	if err, ok := c.Get(cutKey).(error); ok {
		return endCut, err
	}
	return endClientGone, nil
}
