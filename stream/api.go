package stream

import (
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
)

// mediaItem is one file in the /api/media listing.
type mediaItem struct {
	Path        string    `json:"path"`
	URL         string    `json:"url"`
	Size        int64     `json:"size"`
	ContentType string    `json:"content_type"`
	Modified    time.Time `json:"modified"`
	ChunksTotal int64     `json:"chunks_total"`
	// ChunksCached is null when unknown; an estimate when Sampled.
	ChunksCached *int64 `json:"chunks_cached"`
	Sampled      bool   `json:"sampled,omitempty"`
	// HLS is the file's HLS master playlist (signed like URL), for pages
	// on browsers that play HLS natively; empty when not packaged.
	HLS string `json:"hls,omitempty"`
	// Previews is the URL of the file's WebVTT seek previews, when
	// Options.Previews is set.
	Previews string `json:"previews,omitempty"`
}

// List serves GET /api/media: the library, or with ?path=NAME that one
// file (the page asks so for a fresh URL). With signing on, RequireGrant
// has checked the request's grant: only what it covers is listed, and the
// URLs expire with it at the latest.
func (h *Handler) List(c echo.Context) error {
	g, granted := grantOf(c)
	only := c.QueryParam("path")
	keep := func(name string) bool {
		if only != "" && name != only {
			return false
		}
		if granted && !g.Covers(name) {
			return false
		}
		_, ok := h.mediaName("/media/" + name)
		return ok
	}
	if err := h.acquireProbe(c); err != nil {
		return err
	}
	var entries []chunker.Entry
	var err error
	if only != "" {
		entries, err = h.lookup(c, only, keep)
	} else {
		entries, err = h.files.List(c.Request().Context(), keep)
	}
	h.releaseProbe()
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he // lookup's, already mapped
		}
		if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
			return h.openError(c, err)
		}
		return echo.ErrInternalServerError.WithInternal(err)
	}
	exp := time.Now().Add(h.urlTTL)
	if granted && g.Exp.Before(exp) {
		exp = g.Exp
	}
	items := make([]mediaItem, 0, len(entries))
	for _, e := range entries {
		it := mediaItem{
			Path:        e.Name,
			URL:         h.mediaURL(e.Name, exp),
			Size:        e.Size,
			ContentType: h.exts[strings.ToLower(path.Ext(e.Name))],
			Modified:    e.ModTime.UTC(),
			ChunksTotal: e.Chunks,
			Sampled:     e.Sampled,
		}
		if e.Cached >= 0 {
			it.ChunksCached = &e.Cached
		}
		if h.packaged[strings.ToLower(path.Ext(e.Name))] {
			it.HLS = h.hlsURL(e.Name, exp)
		}
		if h.opts.Previews != nil {
			it.Previews = h.signedPath(h.opts.Previews(e.Name), exp)
		}
		items = append(items, it)
	}
	return c.JSON(http.StatusOK, items)
}

// lookup answers ?path=NAME with one Open of the origin (a remote origin's
// metadata is asked with one HEAD per media.origin_ttl), never a listing
// (issue 21 item 2: with S3 a lookup paged through the whole bucket), and
// the cache's bounded Summary of it. A name keep refuses, or that is not a
// file there, gives no entry, as a listing would; an origin that fails is
// the error openError maps.
func (h *Handler) lookup(c echo.Context, name string, keep func(string) bool) ([]chunker.Entry, error) {
	if !keep(name) {
		return nil, nil
	}
	s, err := h.files.Summary(c.Request().Context(), name)
	switch {
	case err == nil, errors.Is(err, chunker.ErrUnavailable):
		e := s.Entry
		e.Sampled = s.Sampled
		return []chunker.Entry{e}, nil
	case errors.Is(err, chunker.ErrOriginDenied), errors.Is(err, chunker.ErrOriginUnavailable),
		errors.Is(err, chunker.ErrOriginTimeout), errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return nil, h.openError(c, err)
	}
	return nil, nil // not there, not a regular file, outside the root
}

// acquireProbe waits for one of the maxProbes slots of requests that ask
// the cache about chunks, or for the client to leave.
func (h *Handler) acquireProbe(c echo.Context) error {
	select {
	case h.probes <- struct{}{}:
		return nil
	case <-c.Request().Context().Done():
		return echo.NewHTTPError(http.StatusServiceUnavailable).WithInternal(c.Request().Context().Err())
	}
}

func (h *Handler) releaseProbe() { <-h.probes }

// hlsURL returns the URL of name's HLS master playlist, signed until exp
// when media needs signatures.
func (h *Handler) hlsURL(name string, exp time.Time) string {
	return h.signedPath("/hls/"+name+"/master.m3u8", exp)
}

// mediaURL returns the URL that serves name: signed until exp when media
// URLs are signed.
func (h *Handler) mediaURL(name string, exp time.Time) string {
	return h.signedPath("/media/"+name, exp)
}

// signedPath returns the URL of the decoded path p: signed until exp when
// media URLs are signed.
func (h *Handler) signedPath(p string, exp time.Time) string {
	if h.signer == nil {
		return (&url.URL{Path: p}).EscapedPath()
	}
	return h.signer.SignPath(p, exp)
}

// MediaURL returns the URL path that serves name.
func MediaURL(name string) string {
	return (&url.URL{Path: "/media/" + name}).EscapedPath()
}

// chunkMap is the /api/chunks answer: what the cache holds of a file, and
// how many of its bytes this server has sent from each source.
type chunkMap struct {
	Path        string `json:"path"`
	Size        int64  `json:"size"`
	ChunkSize   int64  `json:"chunk_size"`
	ChunksTotal int64  `json:"chunks_total"`
	// ChunksCached is null when the cache is off or down; an estimate
	// when Sampled.
	ChunksCached *int64 `json:"chunks_cached"`
	// Map has one character per cell of CellChunks chunks: '1' cached,
	// '0' not, 'p' partly (only when Sampled); empty when unknown.
	Map        string `json:"map"`
	CellChunks int64  `json:"cell_chunks"`
	// Sampled: the file has more than chunker.MaxSummaryKeys chunks, so
	// each cell was judged by chunker.SummarySamples chunks spread over it
	// and ChunksCached extrapolated from them.
	Sampled    bool  `json:"sampled"`
	RedisBytes int64 `json:"redis_bytes"` // served from Redis by this instance
	LocalBytes int64 `json:"local_bytes"` // served from this instance's memory (cache.local_bytes)
	DiskBytes  int64 `json:"disk_bytes"`  // served from disk by this instance
}

// Chunks serves GET /api/chunks/*path, with bounded work (issue 13 item 5):
// see chunker.Cache.Summary.
func (h *Handler) Chunks(c echo.Context) error {
	p, _ := strings.CutPrefix(c.Request().URL.Path, "/api/chunks")
	name, ok := h.mediaName("/media" + p)
	if !ok {
		return echo.ErrNotFound
	}
	if err := h.acquireProbe(c); err != nil {
		return err
	}
	s, err := h.files.Summary(c.Request().Context(), name)
	h.releaseProbe()
	if err != nil && !errors.Is(err, chunker.ErrUnavailable) {
		return h.openError(c, err)
	}
	out := chunkMap{
		Path: name, Size: s.Size, ChunkSize: s.ChunkSize, ChunksTotal: s.Chunks,
		CellChunks: s.CellChunks, Sampled: s.Sampled,
	}
	if s.Cells != nil {
		b := make([]byte, len(s.Cells))
		for i, cell := range s.Cells {
			b[i] = "0p1"[cell]
		}
		out.Map = string(b)
		out.ChunksCached = &s.Cached
	}
	if v, ok := h.served.Load(name); ok {
		sb := v.(*servedBytes)
		out.RedisBytes, out.LocalBytes, out.DiskBytes = sb.redis.Load(), sb.local.Load(), sb.disk.Load()
	}
	return c.JSON(http.StatusOK, out)
}
