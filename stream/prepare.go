package stream

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
)

// bodySpan, prepare and the helpers below them read what http.ServeContent
// decided (the status, Content-Range, Content-Length) to tell the chunk
// reader which bytes the response will carry.

// bodySpan returns the bytes of f the body of a response with this method,
// status and headers carries: the Content-Range for a single range, the
// hull of the ranges for multipart/byteranges, the whole file for a 200.
// ok is false when the response has no body from f (an error, a 304).
// A HEAD's 200 reports the whole file, what a GET would carry.
func bodySpan(size int64, status int, hdr http.Header, ranges [][2]int64) (off, n int64, ok bool) {
	switch status {
	case http.StatusOK:
		return 0, size, true
	case http.StatusPartialContent:
		if start, end, ok := parseContentRange(hdr.Get("Content-Range")); ok {
			return start, end - start + 1, true
		}
		// multipart/byteranges: the hull of the ranges.
		lo, hi := size, int64(-1)
		for _, r := range ranges {
			lo, hi = min(lo, r[0]), max(hi, r[1])
		}
		if hi >= lo {
			return lo, hi - lo + 1, true
		}
	}
	return 0, 0, false
}

// prepare tells f that the response about to be written reads the n bytes
// at off (bodySpan; body false: it has none), and returns where they come
// from.
func prepare(f *chunker.File, method string, off, n int64, body bool) chunker.Sources {
	if !body {
		return chunker.Sources{} // no body: nothing comes from the cache
	}
	// A HEAD asks where a GET's bytes would come from, without fetching.
	return f.PrepareSources(off, n, method != http.MethodHead)
}

// expectedBody returns the Content-Length of a committed response, or 0
// when it has none (multipart) or is bodiless.
func expectedBody(res *echo.Response) int64 {
	n, err := strconv.ParseInt(res.Header().Get("Content-Length"), 10, 64)
	if err != nil || res.Status == http.StatusNotModified {
		return 0
	}
	return n
}

// parseContentRange parses "bytes START-END/SIZE" as ServeContent writes it.
func parseContentRange(s string) (start, end int64, ok bool) {
	s, ok = strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, false
	}
	s, _, _ = strings.Cut(s, "/")
	a, b, ok := strings.Cut(s, "-")
	if !ok || !digits(a, false) || !digits(b, false) {
		return 0, 0, false
	}
	return parsePos(a), parsePos(b), true
}
