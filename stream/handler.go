// Package stream serves video files over HTTP with Echo: GET and HEAD with
// RFC 9110 Range semantics, answered by http.ServeContent over a
// chunk-backed reader from package chunker, plus a JSON listing and the
// embedded player page.
package stream

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
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
	// List walks the media root.
	List(ctx context.Context, keep func(name string) bool) ([]chunker.Entry, error)
	// ChunkMap reports which chunks of name's current version are cached.
	ChunkMap(ctx context.Context, name string) (chunker.Entry, []bool, error)
	// Enabled reports whether Redis may be used now.
	Enabled() bool
}

// Options configure a Handler. The zero value of each field but Files means
// its default.
type Options struct {
	// Files opens media. Required.
	Files Files

	// Extensions are the file extensions served, without the dot,
	// case-insensitive. Default mp4 m4v mov webm mkv ogv.
	Extensions []string

	// Static is the player page's file system, served at /. Nil serves no
	// page.
	Static fs.FS

	// MaxRanges is the most range-specs one Range header may hold; a
	// header with more, or with more than two overlapping ranges, is
	// ignored and the whole file sent. Default 16.
	MaxRanges int

	// MaxStreamsPerClient caps the media requests one client IP may have
	// in flight; past it the answer is 429. 0 means no limit.
	MaxStreamsPerClient int

	// Signer, when set, requires signed /media/ URLs and signs the URLs
	// /api/media hands out.
	Signer *Signer

	// Metrics, when set, count the bytes served by source.
	Metrics *Metrics

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

	maxRanges  int
	maxStreams int
	signer     *Signer
	metrics    *Metrics
	streamsMu  sync.Mutex
	streams    map[string]int // client IP -> media requests in flight

	errOnce sync.Map // error class -> time last logged, to keep logs quiet during an outage
	served  sync.Map // name -> *servedBytes, for files that exist (so bounded by the library)
}

// servedBytes counts the body bytes served of one file, by source.
type servedBytes struct {
	redis, local, disk atomic.Int64
}

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

// contentTypes are the media types of the extensions reelcache knows. An
// extension configured but not listed here is served as
// application/octet-stream; ServeContent never sniffs, because the type is
// set before it is called.
var contentTypes = map[string]string{
	".mp4":  "video/mp4",
	".m4v":  "video/mp4",
	".m4a":  "audio/mp4",
	".mov":  "video/quicktime",
	".webm": "video/webm",
	".mkv":  "video/x-matroska",
	".ogv":  "video/ogg",
	".ogg":  "audio/ogg",
	".mp3":  "audio/mpeg",
	".ts":   "video/mp2t",
}

// DefaultExtensions are served when Options.Extensions is empty.
var DefaultExtensions = []string{"mp4", "m4v", "mov", "webm", "mkv", "ogv"}

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
		opts.MaxRanges = 16
	}
	h := &Handler{
		files:      opts.Files,
		exts:       make(map[string]string),
		static:     opts.Static,
		log:        opts.Logger,
		maxRanges:  opts.MaxRanges,
		maxStreams: opts.MaxStreamsPerClient,
		signer:     opts.Signer,
		metrics:    opts.Metrics,
		streams:    make(map[string]int),
	}
	for _, e := range opts.Extensions {
		e = "." + strings.ToLower(strings.TrimPrefix(e, "."))
		ct, ok := contentTypes[e]
		if !ok {
			ct = "application/octet-stream"
		}
		h.exts[e] = ct
	}
	return h, nil
}

// Register adds the handler's routes to e.
func (h *Handler) Register(e *echo.Echo) {
	e.GET("/media/*", h.Media)
	e.HEAD("/media/*", h.Media)
	e.GET("/api/media", h.List)
	e.GET("/api/chunks/*", h.Chunks)
	if h.static != nil {
		page := echo.WrapHandler(pageHandler(h.static))
		e.GET("/*", page)
		e.HEAD("/*", page)
	}
}

// pageHandler serves the player page with a Content-Security-Policy that
// allows nothing but the page's own files and media.
func pageHandler(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "+
			"img-src 'self' data:; media-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		files.ServeHTTP(w, r)
	})
}

// mediaName returns the file name a /media/ request path asks for, or false
// when the path is not one the server could ever serve. The path is the
// decoded URL path, so "%2e%2e" has already become ".." here and is refused
// like any other spelling; a double-encoded "%252e" stays the literal name
// "%2e", which os.Root then fails to find.
func (h *Handler) mediaName(p string) (string, bool) {
	name, ok := strings.CutPrefix(p, "/media/")
	if !ok || name == "" {
		return "", false
	}
	// fs.ValidPath refuses "", ".", "..", empty elements and a leading or
	// trailing slash. Backslashes and NULs are refused on top, since some
	// systems (and some proxies) treat a backslash as a separator.
	if !fs.ValidPath(name) || strings.ContainsAny(name, "\\\x00") {
		return "", false
	}
	for el := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(el, ".") { // dotfiles and dot-directories
			return "", false
		}
	}
	if _, ok := h.exts[strings.ToLower(path.Ext(name))]; !ok {
		return "", false
	}
	return name, true
}

// Media serves GET and HEAD /media/*.
func (h *Handler) Media(c echo.Context) error {
	req := c.Request()
	name, ok := h.mediaName(req.URL.Path)
	if !ok {
		return echo.ErrNotFound
	}
	if h.signer != nil {
		q := req.URL.Query()
		if err := h.signer.Verify(req.URL.Path, q.Get("exp"), q.Get("sig"), time.Now()); err != nil {
			return echo.ErrForbidden.WithInternal(err)
		}
	}
	if h.maxStreams > 0 {
		ip := c.RealIP()
		if !h.enter(ip) {
			c.Response().Header().Set("Retry-After", "1")
			return echo.ErrTooManyRequests
		}
		defer h.leave(ip)
	}
	ctx := req.Context()
	f, err := h.files.Open(ctx, name)
	if err != nil {
		return h.openError(err)
	}
	defer f.Close()

	res := c.Response()
	hdr := res.Header()
	hdr.Set("Content-Type", h.exts[strings.ToLower(path.Ext(name))])
	// A strong validator from the file's identity: the bytes of one version
	// never change, so If-Range and If-None-Match can rely on it.
	hdr.Set("ETag", `"`+f.Version()+`"`)
	hdr.Set("X-Content-Type-Options", "nosniff")
	ranges := fixRange(req, f.Size(), h.maxRanges)

	if !h.files.Enabled() {
		// Cache off or down: the *os.File itself, so that the copy is the
		// kernel's sendfile.
		hdr.Set("X-Cache", "BYPASS")
		var changed error
		check := func() error { changed = f.Changed(); return changed }
		http.ServeContent(responseWriter{res, check}, req, "", f.ModTime(), f.OSFile())
		h.count(name, 0, 0, res.Size)
		short := req.Method != http.MethodHead && res.Committed && res.Size < expectedBody(res)
		if changed != nil || short {
			// Rewritten or truncated while being sent (or the client
			// left): cut the connection, so that a short body is never
			// taken for a whole one.
			if changed != nil || f.Changed() != nil {
				h.logLimited("changed", "file changed while being served; response cut short", "path", name)
			}
			panic(http.ErrAbortHandler)
		}
		return nil
	}

	// What the response will carry is known only when ServeContent has
	// evaluated the preconditions and the Range: decide X-Cache then, just
	// before the header is written, and fetch the first chunks in the same
	// round trip.
	res.Before(func() {
		hdr.Set("X-Cache", prepare(f, req.Method, res.Status, hdr, ranges).String())
	})
	rd := &errReader{r: f}
	http.ServeContent(responseWriter{Response: res}, req, "", f.ModTime(), io.NewSectionReader(rd, 0, f.Size()))
	total, fromRedis, fromLocal := f.Served()
	h.count(name, fromRedis, fromLocal, total-fromRedis-fromLocal)
	if err := rd.err; err != nil {
		if ctx.Err() == nil {
			h.logLimited("read", "serving from cache failed; response cut short", "path", name, "err", err)
		}
		// Cut the connection: a short body with a proper end (a chunked
		// multipart answer) would look complete to the client.
		panic(http.ErrAbortHandler)
	}
	return nil
}

// enter counts a media request of ip in, unless ip has maxStreams already.
func (h *Handler) enter(ip string) bool {
	h.streamsMu.Lock()
	defer h.streamsMu.Unlock()
	if h.streams[ip] >= h.maxStreams {
		return false
	}
	h.streams[ip]++
	return true
}

func (h *Handler) leave(ip string) {
	h.streamsMu.Lock()
	defer h.streamsMu.Unlock()
	if h.streams[ip]--; h.streams[ip] <= 0 {
		delete(h.streams, ip) // the map holds only clients with requests in flight
	}
}

// prepare tells f which bytes the response about to be written will read,
// and returns where they come from.
func prepare(f *chunker.File, method string, status int, hdr http.Header, ranges [][2]int64) chunker.Status {
	size := f.Size()
	if method == http.MethodHead && status == http.StatusOK {
		return f.Prepare(0, size, false) // what a GET would get
	}
	switch status {
	case http.StatusOK:
		return f.Prepare(0, size, true)
	case http.StatusPartialContent:
		if start, end, ok := parseContentRange(hdr.Get("Content-Range")); ok {
			return f.Prepare(start, end-start+1, true)
		}
		// multipart/byteranges: the hull of the ranges.
		lo, hi := size, int64(-1)
		for _, r := range ranges {
			lo, hi = min(lo, r[0]), max(hi, r[1])
		}
		if hi >= lo {
			return f.Prepare(lo, hi-lo+1, true)
		}
	}
	return chunker.Miss // no body: nothing comes from Redis
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

// errReader remembers the first error other than io.EOF that its ReaderAt
// returned, because ServeContent discards copy errors.
type errReader struct {
	r   io.ReaderAt
	err error
}

func (e *errReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := e.r.ReadAt(p, off)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// WriteRange writes straight from the chunks (see responseWriter.ReadFrom),
// remembering read errors as ReadAt does.
func (e *errReader) WriteRange(w io.Writer, off, n int64) (int64, error) {
	rw, ok := e.r.(rangeWriter)
	if !ok {
		return io.Copy(w, io.NewSectionReader(e.r, off, n))
	}
	written, err := rw.WriteRange(w, off, n)
	if err != nil && err != io.EOF && !errors.Is(err, chunker.ErrWrite) && e.err == nil {
		e.err = err
	}
	return written, err
}

// openError maps an Open failure to an HTTP error that says nothing about
// the file system.
func (h *Handler) openError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, chunker.ErrNotRegular):
		return echo.ErrNotFound.WithInternal(err)
	case errors.Is(err, fs.ErrPermission):
		return echo.ErrForbidden.WithInternal(err)
	}
	// os.Root's "path escapes from parent", ENOTDIR, ELOOP: not there, as
	// far as a client may know.
	return echo.ErrNotFound.WithInternal(err)
}

// logLimited logs at most once a second per kind, so an outage or a broken
// disk does not write a line per request.
func (h *Handler) logLimited(kind, msg string, args ...any) {
	now := time.Now()
	if last, ok := h.errOnce.Load(kind); ok && now.Sub(last.(time.Time)) < time.Second {
		return
	}
	h.errOnce.Store(kind, now)
	h.log.Warn(msg, args...)
}

// mediaItem is one file in the /api/media listing.
type mediaItem struct {
	Path         string    `json:"path"`
	URL          string    `json:"url"`
	Size         int64     `json:"size"`
	ContentType  string    `json:"content_type"`
	Modified     time.Time `json:"modified"`
	ChunksTotal  int64     `json:"chunks_total"`
	ChunksCached *int64    `json:"chunks_cached"` // null when unknown
}

// List serves GET /api/media.
func (h *Handler) List(c echo.Context) error {
	entries, err := h.files.List(c.Request().Context(), func(name string) bool {
		_, ok := h.mediaName("/media/" + name)
		return ok
	})
	if err != nil {
		return echo.ErrInternalServerError.WithInternal(err)
	}
	items := make([]mediaItem, 0, len(entries))
	for _, e := range entries {
		it := mediaItem{
			Path:        e.Name,
			URL:         h.signedURL(e.Name),
			Size:        e.Size,
			ContentType: h.exts[strings.ToLower(path.Ext(e.Name))],
			Modified:    e.ModTime.UTC(),
			ChunksTotal: e.Chunks,
		}
		if e.Cached >= 0 {
			it.ChunksCached = &e.Cached
		}
		items = append(items, it)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, items)
}

// listURLTTL is how long the URLs /api/media hands out stay valid when
// media URLs are signed: long enough for a viewing session.
const listURLTTL = 6 * time.Hour

func (h *Handler) signedURL(name string) string {
	if h.signer == nil {
		return MediaURL(name)
	}
	return h.signer.SignURL(name, time.Now().Add(listURLTTL))
}

// MediaURL returns the URL path that serves name.
func MediaURL(name string) string {
	return (&url.URL{Path: "/media/" + name}).EscapedPath()
}

// chunkMap is the /api/chunks answer: which chunks of a file are cached, and
// how many of its bytes this server has sent from each source.
type chunkMap struct {
	Path         string `json:"path"`
	Size         int64  `json:"size"`
	ChunkSize    int64  `json:"chunk_size"`
	ChunksTotal  int64  `json:"chunks_total"`
	ChunksCached *int64 `json:"chunks_cached"` // null when the cache is off or down
	// Map has one character per chunk: '1' cached, '0' not; empty when
	// unknown.
	Map        string `json:"map"`
	RedisBytes int64  `json:"redis_bytes"` // served from Redis by this instance
	LocalBytes int64  `json:"local_bytes"` // served from this instance's memory (cache.local_bytes)
	DiskBytes  int64  `json:"disk_bytes"`  // served from disk by this instance
}

// Chunks serves GET /api/chunks/*path.
func (h *Handler) Chunks(c echo.Context) error {
	p, _ := strings.CutPrefix(c.Request().URL.Path, "/api/chunks")
	name, ok := h.mediaName("/media" + p)
	if !ok {
		return echo.ErrNotFound
	}
	e, found, err := h.files.ChunkMap(c.Request().Context(), name)
	if err != nil && !errors.Is(err, chunker.ErrUnavailable) {
		return h.openError(err)
	}
	out := chunkMap{Path: name, Size: e.Size, ChunkSize: e.ChunkSize, ChunksTotal: e.Chunks}
	if found != nil {
		b := make([]byte, len(found))
		for i, ok := range found {
			b[i] = '0'
			if ok {
				b[i] = '1'
			}
		}
		out.Map = string(b)
		out.ChunksCached = &e.Cached
	}
	if v, ok := h.served.Load(name); ok {
		sb := v.(*servedBytes)
		out.RedisBytes, out.LocalBytes, out.DiskBytes = sb.redis.Load(), sb.local.Load(), sb.disk.Load()
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}
