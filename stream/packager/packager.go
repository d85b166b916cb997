// Package packager serves HLS and DASH packaged on the fly from MP4 files
// read through the chunk cache: one index per file version
// (stream/mp4index), one segmenter (stream/cmaf), two manifest writers
// (stream/hls, stream/dash). Its routes:
//
//	/hls/TITLE/master.m3u8     master playlist: TITLE is a file, or a
//	                           directory whose MP4s are renditions
//	/hls/FILE/media.m3u8       media playlist (VOD), audio and video muxed
//	/hls/FILE/iframes.m3u8     I-frame playlist: byte ranges of the segments
//	/hls/FILE/init.mp4         CMAF init segment, every track
//	/hls/FILE/seg-N.m4s        media segment N (from 1), every track
//	/dash/TITLE/manifest.mpd   static MPD, one adaptation set per kind
//	/dash/FILE/init-T.mp4      init segment of track T (0-based)
//	/dash/FILE/seg-T-N.m4s     media segment N of track T
//
// A fragmented source (CMAF) is not remuxed: its media playlist points at
// byte ranges of the file's own /media/ URL.
package packager

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/stream"
	"github.com/reelcache/reelcache/stream/cmaf"
	"github.com/reelcache/reelcache/stream/mp4index"
)

// Files is what the packager needs from a chunker.Cache.
type Files interface {
	// Open opens a slash-separated name relative to the media root.
	Open(ctx context.Context, name string) (*chunker.File, error)
	// List walks the media root (for a directory title's renditions).
	List(ctx context.Context, keep func(name string) bool) ([]chunker.Entry, error)
}

// Options configure a Handler. Zero means the default.
type Options struct {
	Files  Files            // required
	Loader *mp4index.Loader // required: the shared index
	Signer *stream.Signer   // with signing on: signs the URLs inside manifests
	Target time.Duration    // segment duration aimed at (cmaf.DefaultSegmentDuration)
	Logger *slog.Logger     // default slog.Default()
	Exts   map[string]bool  // extensions of packaged files, lower case with the dot (DefaultExtensions)

	// AudioGroup serves HLS audio as a rendition group (EXT-X-MEDIA,
	// video-only variants) instead of muxed into every variant's segments
	// (the default), so that a title's renditions share one audio.
	AudioGroup bool

	// Count, when set, is told the bytes of each segment by source
	// (stream.Handler.Count: /api/chunks and the served-bytes metric).
	Count func(name string, redis, local, disk int64)
}

// DefaultExtensions are the files packaged: MP4 and MOV.
var DefaultExtensions = []string{".mp4", ".m4v", ".mov"}

// Handler serves the packager's routes. It is safe for concurrent use.
type Handler struct {
	files  Files
	loader *mp4index.Loader
	signer *stream.Signer
	target time.Duration
	log    *slog.Logger
	exts   map[string]bool
	count  func(name string, redis, local, disk int64)

	audioGroup bool

	plans   *memo[*cmaf.Plan]   // by version: the segmentation of each file
	layouts *memo[*cmaf.Layout] // by version, segment and tracks: moof and spans
}

// Bounds of the memos of plans and layouts (a two-hour film's plan is
// about 100 KB; a layout is its moof, 5 to 15 KB, plus its spans).
const (
	maxPlanBytes   = 16 << 20
	maxLayoutBytes = 64 << 20
)

// New returns a Handler.
func New(opts Options) (*Handler, error) {
	if opts.Files == nil || opts.Loader == nil {
		return nil, errors.New("packager: Options.Files and Options.Loader are required")
	}
	if opts.Target <= 0 {
		opts.Target = cmaf.DefaultSegmentDuration
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Exts == nil {
		opts.Exts = make(map[string]bool)
		for _, e := range DefaultExtensions {
			opts.Exts[e] = true
		}
	}
	if opts.Count == nil {
		opts.Count = func(string, int64, int64, int64) {}
	}
	return &Handler{files: opts.Files, loader: opts.Loader, signer: opts.Signer, target: opts.Target, log: opts.Logger, exts: opts.Exts, count: opts.Count, audioGroup: opts.AudioGroup,
		plans: newMemo[*cmaf.Plan](maxPlanBytes), layouts: newMemo[*cmaf.Layout](maxLayoutBytes)}, nil
}

// Register adds the routes to e, GET and HEAD, each with mw (the media
// route's middleware, stream.Handler.MediaMiddleware: CORS, Cache-Control,
// signatures, the per-client limit and pacing), and OPTIONS, which the CORS
// middleware, when on, answers as a preflight before anything else runs
// (a player on another site sends Range for byte-range playlists).
func (h *Handler) Register(e *echo.Echo, mw []echo.MiddlewareFunc) {
	for _, p := range []string{"/hls/*", "/dash/*"} {
		e.GET(p, h.serve, mw...)
		e.HEAD(p, h.serve, mw...)
		e.OPTIONS(p, func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, mw...)
	}
}
