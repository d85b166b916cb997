package packager

import (
	"bytes"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/stream"
	"github.com/reelcache/reelcache/stream/cmaf"
)

// tracksOf returns the tracks a segment URL asks for: every track (HLS) or
// track r.track (DASH), or false when the file has no such track.
func tracksOf(r request, rd *rendition) ([]int, bool) {
	if r.track < 0 {
		return allTracks(rd.m), true
	}
	if r.track >= len(rd.m.Tracks) {
		return nil, false
	}
	return []int{r.track}, true
}

// openSegment opens r's title for one of its segments (init or media) and
// finds the tracks r asks for. On an error nothing stays open, and the
// error is the handler's answer: the origin's failure mapped by fail, or
// 404 for a title without a plan or a track it lacks.
func (h *Handler) openSegment(c echo.Context, r request) (*chunker.File, *rendition, []int, error) {
	f, rd, err := h.open(c.Request().Context(), r.title)
	if err != nil {
		return nil, nil, nil, h.fail(c, err)
	}
	if rd.plan == nil {
		f.Close()
		return nil, nil, nil, echo.ErrNotFound
	}
	tracks, ok := tracksOf(r, rd)
	if !ok {
		f.Close()
		return nil, nil, nil, echo.ErrNotFound
	}
	return f, rd, tracks, nil
}

// init answers an init segment.
func (h *Handler) init(c echo.Context, r request) error {
	f, rd, tracks, err := h.openSegment(c, r)
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := cmaf.Init(rd.m, tracks)
	if err != nil {
		return h.fail(c, err)
	}
	etag := `"` + f.Version() + "." + r.leaf + `"`
	hdr := c.Response().Header()
	hdr.Set("Content-Type", typeMP4)
	hdr.Set("ETag", etag)
	hdr.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(c.Response(), c.Request(), "", f.ModTime(), bytes.NewReader(b))
	return nil
}

// segment answers a media segment: its header from the index, its payload
// straight from the file's cached chunks. A whole-segment GET is written
// with one WriteRange per span of the source; Range, If-Range and HEAD go
// through http.ServeContent over the same bytes.
func (h *Handler) segment(c echo.Context, r request) error {
	req := c.Request()
	ctx := req.Context()
	f, rd, tracks, err := h.openSegment(c, r)
	if err != nil {
		return err
	}
	defer f.Close()
	l, err := h.layout(rd, r.seg-1, tracks)
	if err != nil {
		return h.fail(c, err)
	}
	res := c.Response()
	hdr := res.Header()
	hdr.Set("Content-Type", typeMP4)
	// The segment's bytes are a function of the file version, the
	// segment duration aimed at and the URL: a strong validator.
	hdr.Set("ETag", `"`+f.Version()+"."+strconv.FormatInt(h.target.Milliseconds(), 10)+"."+r.leaf+`"`)
	hdr.Set("X-Content-Type-Options", "nosniff")
	// X-Cache and Cache-Status, decided as the header goes out, from the
	// chunks of the payload's hull (the moof is made here, not cached).
	res.Before(func() {
		var src chunker.Sources
		if res.Status == http.StatusOK || res.Status == http.StatusPartialContent {
			off, n := l.Hull()
			src = f.PrepareSources(off, n, req.Method != http.MethodHead)
		}
		stream.SetCacheHeaders(hdr, src, res.Status)
	})
	defer func() {
		total, fromRedis, fromLocal := f.Served()
		h.count(r.title, fromRedis, fromLocal, total-fromRedis-fromLocal)
	}()
	simple := req.Method == http.MethodGet && req.Header.Get("Range") == "" &&
		req.Header.Get("If-None-Match") == "" && req.Header.Get("If-Modified-Since") == ""
	if !simple {
		http.ServeContent(res, req, "", f.ModTime(), io.NewSectionReader(l.ReaderAt(f), 0, l.Size))
		return nil
	}
	hdr.Set("Accept-Ranges", "bytes")
	hdr.Set("Content-Length", strconv.FormatInt(l.Size, 10))
	hdr.Set("Last-Modified", f.ModTime().UTC().Format(http.TimeFormat))
	res.WriteHeader(http.StatusOK)
	if n, err := l.WriteTo(ctx, sendWriter{res}, f); err != nil && n < l.Size {
		if ctx.Err() == nil {
			h.log.Warn("packager: segment cut short", "path", r.title, "segment", r.leaf, "err", err)
		}
		// A short body must not pass for a whole one.
		panic(http.ErrAbortHandler)
	}
	return nil
}

// sendWriter is an echo.Response that also implements io.ReaderFrom, so
// that a payload the chunk cache has in a file (the local tier, a local
// origin) reaches the socket by sendfile: echo.Response hides net/http's
// ReadFrom from io.Copy (stream's responseWriter does the same for
// /media/).
type sendWriter struct{ res *echo.Response }

func (w sendWriter) Write(p []byte) (int, error) { return w.res.Write(p) }

func (w sendWriter) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := w.res.Writer.(io.ReaderFrom)
	if !ok {
		return io.Copy(struct{ io.Writer }{w.res}, r)
	}
	n, err := rf.ReadFrom(r)
	w.res.Size += n
	return n, err
}
