package stream

import (
	"context"
	"io"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
)

// View is a media file presented rewritten, as long as the file: the fast
// start view of a moov-at-end MP4 (package stream/faststart) reads the
// file's bytes through the chunker.File and keeps only the rewritten part.
// A View is served like the file (Range, If-Range, HEAD by
// http.ServeContent), under its own ETag.
type View interface {
	io.ReaderAt
	rangeWriter
	// Span returns the hull of the file's bytes that the n bytes of the
	// view at off read (fileN 0: none), so that the file's chunks for a
	// response can be readied as for the file's own bytes.
	Span(off, n int64) (fileOff, fileN int64)
	// ETag returns the view's strong validator, without quotes. It must
	// differ from the file's version and change with it.
	ETag() string
}

// ViewFunc returns the view of f that /media/ serves, or nil (and no
// error) to serve f's own bytes. An error is logged and f served as it is.
type ViewFunc func(ctx context.Context, f *chunker.File) (View, error)

// viewable are the extensions of ISO BMFF files (MP4, QuickTime), the
// only ones Options.Views is asked about.
var viewable = map[string]bool{".mp4": true, ".m4v": true, ".m4a": true, ".mov": true}

// viewOf returns the view of f to serve, or nil for f's own bytes. An
// error is one the response must be (the origin failed or timed out while
// the view was being found, as it would for the body: 502 or 504); other
// failures are logged and f served as it is.
func (h *Handler) viewOf(c echo.Context, f *chunker.File, name string) (View, error) {
	if h.opts.Views == nil || !viewable[strings.ToLower(path.Ext(name))] {
		return nil, nil
	}
	ctx := c.Request().Context()
	v, err := h.opts.Views(ctx, f)
	if err == nil || ctx.Err() != nil {
		return v, nil
	}
	if he := h.beginError(c, err); he != nil {
		return nil, he
	}
	h.logLimited("view", "serving the file as it is: no fast-start view", "path", name, "err", err)
	return nil, nil
}

// source is what serveChunks reads a response from: f, or a view of it.
type source struct {
	r interface {
		io.ReaderAt
		rangeWriter
	}
	span func(off, n int64) (int64, int64) // maps a range of the response to the file's bytes it reads
	etag string                            // unquoted
	view bool                              // r is a view
	// fetched: finding the view read the origin (its plan was built from
	// the file's head and moov in this request), which the response's
	// X-Cache must not hide behind the chunks that read just cached.
	fetched bool
}

// sourceFor returns the source of the response for f: its view (see
// Options.Views) or f itself; or the error the response must be (viewOf).
func (h *Handler) sourceFor(c echo.Context, f *chunker.File, name string) (source, error) {
	total, redis, local := f.Served()
	v, err := h.viewOf(c, f, name)
	if err != nil {
		return source{}, err
	}
	t2, r2, l2 := f.Served()
	fetched := t2-r2-l2 > total-redis-local
	if v == nil {
		return source{r: f, span: func(off, n int64) (int64, int64) { return off, n }, etag: f.Version(), fetched: fetched}, nil
	}
	return source{r: v, span: v.Span, etag: v.ETag(), view: true, fetched: fetched}, nil
}

// fileSpan maps the body of a response (bodySpan's off, n and body) to
// the bytes of the file it reads, and whether it reads none (body false)
// because all of it is the view's own (own: the patched moov, in memory).
func (s source) fileSpan(off, n int64, body bool) (fileOff, fileN int64, fileBody, own bool) {
	if !body {
		return off, n, false, false
	}
	fo, fn := s.span(off, n)
	if fn == 0 && n > 0 {
		return fo, 0, false, true
	}
	return fo, fn, true, false
}

// sources returns what the response's X-Cache and Cache-Status say, from
// where its chunks come (prepare): a MISS when finding the view read the
// origin, since this request went to the origin; a local HIT when the body
// is all the view's own bytes, held in this instance's memory.
func (s source) sources(src chunker.Sources, own bool) chunker.Sources {
	switch {
	case s.fetched && !src.Bypass:
		return chunker.Sources{Disk: 1}
	case own:
		return chunker.Sources{Local: 1}
	}
	return src
}
