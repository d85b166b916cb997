// Package stream serves video files over HTTP with Echo: GET and HEAD with
// RFC 9110 Range semantics, answered by http.ServeContent over a
// chunk-backed reader from package chunker, plus a JSON API and the
// embedded player page. The concerns that cut across routes (CORS,
// Cache-Control, signatures and grants, the per-client limit, rate
// shaping) are Echo middleware, each in its own file, put on the routes by
// Register.
package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
)

// Files is what the handler needs from a chunker.Cache.
type Files interface {
	// Open opens a slash-separated name relative to the media root.
	Open(ctx context.Context, name string) (*chunker.File, error)
	// List walks the media root, with bounded cached-chunk counts.
	List(ctx context.Context, keep func(name string) bool) ([]chunker.Entry, error)
	// Summary reports, with bounded work that never counts toward the
	// media path's breaker, what the cache holds of name.
	Summary(ctx context.Context, name string) (chunker.Summary, error)
	// Enabled reports whether Redis may be used now.
	Enabled() bool
}

// Options configure a Handler. The zero value of each field but Files means
// its default.
type Options struct {
	// Files opens media. Required.
	Files Files

	// Extensions are the file extensions served, with or without the
	// dot, case-insensitive (see NormalizeExtensions). Default
	// DefaultExtensions.
	Extensions []string

	// Static is the player page's file system, served at /. Nil serves no
	// page.
	Static fs.FS

	// HLSPlayer is the URL the page loads hls.js from where the browser
	// has no native HLS (an absolute http(s) URL or a path); "" loads none.
	HLSPlayer string

	// MaxRanges is the most range-specs one Range header may hold; a
	// header with more, or with more than two overlapping ranges, is
	// ignored and the whole file sent. Default DefaultMaxRanges (16).
	MaxRanges int

	// MaxStreamsPerClient caps the media requests one client IP may have
	// in flight; past it the answer is 429. 0 means no limit.
	MaxStreamsPerClient int

	// CORSOrigins are the origins allowed to read media and the API from
	// another site (see CORS); empty turns CORS off.
	CORSOrigins []string

	// CacheControl is sent with successful media responses (see
	// CacheControl); "" sends none. The API always says no-store.
	CacheControl string

	// LimitRate paces each media response at this many bytes per second
	// once LimitRateAfter bytes have gone (see Shape). 0 means no limit.
	LimitRate, LimitRateAfter int64

	// Signer, when set, requires signed /media/ URLs and page grants on
	// the API, which hands out media URLs signed for at most URLTTL.
	Signer *Signer

	// URLTTL is the longest life of a media URL /api/media signs, never
	// past the grant's. Default DefaultURLTTL (10 minutes).
	URLTTL time.Duration

	// Previews, when set, returns the decoded URL path of a media file's
	// WebVTT seek previews (package stream/previews); /api/media lists it
	// for each file, signed like the media URL.
	Previews func(name string) string

	// Views, when set, may present an MP4 or MOV file rewritten (the fast
	// start of moov-at-end files); nil serves every file's own bytes.
	Views ViewFunc

	// Metrics, when set, count the bytes served by source.
	Metrics *Metrics

	// Packaged are the extensions (with the dot, lower case) of files the
	// HLS packager serves at /hls/NAME/master.m3u8; /api/media lists that
	// URL for them. Empty: none (the packager is off).
	Packaged []string

	// Logger receives errors that are not the client's. Default
	// slog.Default().
	Logger *slog.Logger
}

// Handler serves media files. It is safe for concurrent use.
type Handler struct {
	files  Files
	exts   map[string]string // extension (lower case, with dot) -> Content-Type
	static fs.FS
	log    *slog.Logger
	opts   Options // the rest, for the middleware Register puts on the routes

	maxRanges int
	signer    *Signer
	urlTTL    time.Duration
	metrics   *Metrics
	probes    chan struct{} // one slot per API request asking the cache, to bound Redis work
	packaged  map[string]bool

	errOnce sync.Map // error class -> time last logged, to keep logs quiet during an outage
	served  sync.Map // name -> *servedBytes, for files that exist (so bounded by the library)
}

// maxProbes is how many API requests may ask the cache about chunks at
// once; the others wait for a slot (or their client to leave).
const maxProbes = 4

// servedBytes counts the body bytes served of one file, by source.
type servedBytes struct {
	redis, local, disk atomic.Int64
}

// Count adds bytes of name served by another package's route (the
// packager's segments) to the per-file counts /api/chunks reports and to
// reelcache_served_bytes_total, by source. It is safe for concurrent use.
func (h *Handler) Count(name string, redis, local, disk int64) { h.count(name, redis, local, disk) }

func (h *Handler) count(name string, redis, local, disk int64) {
	v, ok := h.served.Load(name)
	if !ok {
		v, _ = h.served.LoadOrStore(name, new(servedBytes))
	}
	sb := v.(*servedBytes)
	sb.redis.Add(redis)
	sb.local.Add(local)
	sb.disk.Add(disk)
	h.metrics.served(redis, local, disk)
}

// Defaults of Options. The server's configuration (package config) takes
// its defaults from these.
const (
	DefaultURLTTL    = 10 * time.Minute
	DefaultMaxRanges = 16
)

// New returns a Handler.
func New(opts Options) (*Handler, error) {
	if opts.Files == nil {
		return nil, errors.New("stream: Options.Files is required")
	}
	if len(opts.Extensions) == 0 {
		opts.Extensions = DefaultExtensions
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxRanges <= 0 {
		opts.MaxRanges = DefaultMaxRanges
	}
	if opts.URLTTL <= 0 {
		opts.URLTTL = DefaultURLTTL
	}
	h := &Handler{
		files:     opts.Files,
		exts:      make(map[string]string),
		static:    opts.Static,
		log:       opts.Logger,
		opts:      opts,
		maxRanges: opts.MaxRanges,
		signer:    opts.Signer,
		urlTTL:    opts.URLTTL,
		metrics:   opts.Metrics,
		probes:    make(chan struct{}, maxProbes),
		packaged:  make(map[string]bool),
	}
	for _, e := range opts.Packaged {
		h.packaged[e] = true
	}
	exts, err := NormalizeExtensions(opts.Extensions)
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	for _, e := range exts {
		e = "." + e
		ct, ok := contentTypes[e]
		if !ok {
			ct = "application/octet-stream"
		}
		h.exts[e] = ct
	}
	return h, nil
}

// Media serves GET and HEAD /media/*: the route's middleware has already
// checked the signature, the client's limit and set up rate shaping.
func (h *Handler) Media(c echo.Context) error {
	req := c.Request()
	name, ok := h.mediaName(req.URL.Path)
	if !ok {
		return echo.ErrNotFound
	}
	f, err := h.files.Open(req.Context(), name)
	if err != nil {
		return h.openError(c, err)
	}
	defer f.Close()
	src, err := h.sourceFor(c, f, name)
	if err != nil {
		return err
	}

	res := c.Response()
	hdr := res.Header()
	hdr.Set("Content-Type", h.exts[strings.ToLower(path.Ext(name))])
	// A strong validator from the file's identity: the bytes of one version
	// never change, so If-Range and If-None-Match can rely on it. A view
	// has its own, from the version.
	hdr.Set("ETag", `"`+src.etag+`"`)
	hdr.Set("X-Content-Type-Options", "nosniff")
	ranges := fixRange(req, f.Size(), h.maxRanges)

	if !h.files.Enabled() {
		setCacheHeaders(hdr, chunker.Sources{Bypass: true}, 0)
		if osf := f.OSFile(); osf != nil && !src.view {
			h.sendFile(c, f, osf, name)
			return nil
		}
		// No local file (a remote origin) or a view: the chunk reader,
		// which reads the origin while Redis is off.
		h.serveChunks(c, f, src, name, ranges, false)
		return nil
	}
	h.serveChunks(c, f, src, name, ranges, true)
	return nil
}

// sendFile serves the *os.File itself, so that the copy is the kernel's
// sendfile, cutting the response off if the file changes under it.
func (h *Handler) sendFile(c echo.Context, f *chunker.File, osf *os.File, name string) {
	req, res := c.Request(), c.Response()
	var changed error
	check := func() error { changed = f.Changed(); return changed }
	http.ServeContent(responseWriter{Response: res, check: check}, req, "", f.ModTime(), osf)
	h.count(name, 0, 0, res.Size)
	short := req.Method != http.MethodHead && res.Committed && res.Size < expectedBody(res)
	if changed != nil || short {
		// Rewritten or truncated while being sent (or the client left):
		// cut the connection, so that a short body is never taken for a
		// whole one.
		if changed == nil {
			changed = f.Changed()
		}
		if changed != nil {
			h.logLimited("changed", "file changed while being served; response cut short", "path", name)
		}
		abort(c, changed)
	}
}

// serveChunks serves src (f or a view of it) through f's chunk reader.
// With cached set, what
// the response carries is known only when ServeContent has evaluated the
// preconditions and the Range (the satisfiable ranges of which fixRange
// returned): X-Cache and Cache-Status are decided then, just before the
// header is written, and the first chunks fetched in the same round trip.
// Without it the headers are already set (BYPASS).
//
// Either way the body's first bytes are asked for before the header goes
// out (File.Begin): an origin that fails or hangs on them gets the viewer a
// 502 or 504, not a promised 206 cut off after its header. Past the first
// bytes a failure can only cut the response.
func (h *Handler) serveChunks(c echo.Context, f *chunker.File, src source, name string, ranges [][2]int64, cached bool) {
	req, res := c.Request(), c.Response()
	hdr := res.Header()
	rd := &guardedReader{r: src.r}
	var before [3]int64 // what f served before (a view's reads of the moov): not this response's body
	before[0], before[1], before[2] = f.Served()
	var failed *echo.HTTPError // the error status the response became
	res.Before(func() {
		off, n, body := bodySpan(f.Size(), res.Status, hdr, ranges)
		off, n, body, own := src.fileSpan(off, n, body)
		if cached {
			setCacheHeaders(hdr, src.sources(prepare(f, req.Method, off, n, body), own), res.Status)
		} else if body {
			f.Limit(off, n)
		}
		if !body || req.Method == http.MethodHead {
			return
		}
		if err := f.Begin(off); err != nil {
			if failed = h.beginError(c, err); failed != nil {
				rd.refuse(err)
				errorHeaders(res, failed)
			}
		}
	})
	w := responseWriter{Response: res, ctx: req.Context(), discard: rd.refused}
	http.ServeContent(w, req, "", f.ModTime(), io.NewSectionReader(rd, 0, f.Size()))
	// ServeContent's multipart goroutine may still be reading: after
	// finish, nothing touches f and the error is final (issue 13 item 8).
	err := rd.finish()
	if failed != nil {
		res.Write(errorBody(failed))
		return
	}
	total, fromRedis, fromLocal := f.Served()
	total, fromRedis, fromLocal = total-before[0], fromRedis-before[1], fromLocal-before[2]
	h.count(name, fromRedis, fromLocal, total-fromRedis-fromLocal)
	if err != nil {
		if req.Context().Err() != nil {
			err = nil // the client left
		} else {
			h.logLimited("read", "serving from the cache or origin failed; response cut short", "path", name, "err", err)
		}
		// Cut the connection: a short body with a proper end (a chunked
		// multipart answer) would look complete to the client.
		abort(c, err)
	}
}
