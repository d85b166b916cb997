package stream

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
)

// prepare and the helpers below it read what http.ServeContent decided (the
// status, Content-Range, Content-Length) to tell the chunk reader which
// bytes the response will carry.

// prepare tells f which bytes the response about to be written will read,
// and returns where they come from.
func prepare(f *chunker.File, method string, status int, hdr http.Header, ranges [][2]int64) chunker.Sources {
	size := f.Size()
	if method == http.MethodHead && status == http.StatusOK {
		return f.PrepareSources(0, size, false) // what a GET would get
	}
	switch status {
	case http.StatusOK:
		return f.PrepareSources(0, size, true)
	case http.StatusPartialContent:
		if start, end, ok := parseContentRange(hdr.Get("Content-Range")); ok {
			return f.PrepareSources(start, end-start+1, true)
		}
		// multipart/byteranges: the hull of the ranges.
		lo, hi := size, int64(-1)
		for _, r := range ranges {
			lo, hi = min(lo, r[0]), max(hi, r[1])
		}
		if hi >= lo {
			return f.PrepareSources(lo, hi-lo+1, true)
		}
	}
	return chunker.Sources{} // no body: nothing comes from the cache
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
