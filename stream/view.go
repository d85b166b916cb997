package stream

import (
	"context"
	"io"
	"path"
	"strings"

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

// viewOf returns the view of f to serve, or nil for f's own bytes.
func (h *Handler) viewOf(ctx context.Context, f *chunker.File, name string) View {
	if h.opts.Views == nil || !viewable[strings.ToLower(path.Ext(name))] {
		return nil
	}
	v, err := h.opts.Views(ctx, f)
	if err != nil {
		if ctx.Err() == nil {
			h.logLimited("view", "serving the file as it is: no fast-start view", "path", name, "err", err)
		}
		return nil
	}
	return v
}

// source is what serveChunks reads a response from: f, or a view of it.
// span maps a range of the response to the file's bytes it reads.
type source struct {
	r interface {
		io.ReaderAt
		rangeWriter
	}
	span func(off, n int64) (int64, int64)
}

// sourceOf returns the source of a response serving v, or f when v is nil.
func sourceOf(f *chunker.File, v View) source {
	if v == nil {
		return source{r: f, span: func(off, n int64) (int64, int64) { return off, n }}
	}
	return source{r: v, span: v.Span}
}
