package packager

import (
	"bytes"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// request is a parsed packager URL.
type request struct {
	proto string // "hls" or "dash"
	title string // the file or directory, relative to the media root
	leaf  string // the last path element: master.m3u8, seg-3.m4s, ...
	track int    // the track of media-T.m3u8, init-T.mp4 and seg-T-N.m4s (T-1); -1 for all
	seg   int    // the segment number (from 1), 0 for none
}

// parse splits a decoded URL path; false when it is not one of the
// packager's URLs. Path elements are checked as /media/ checks them: no
// empty, ".", ".." or dot-file elements, no backslash or NUL.
func parse(p string) (request, bool) {
	r := request{track: -1}
	var rest string
	switch {
	case strings.HasPrefix(p, "/hls/"):
		r.proto, rest = "hls", p[len("/hls/"):]
	case strings.HasPrefix(p, "/dash/"):
		r.proto, rest = "dash", p[len("/dash/"):]
	default:
		return r, false
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return r, false
	}
	r.title, r.leaf = rest[:i], rest[i+1:]
	if !fs.ValidPath(r.title) || strings.ContainsAny(rest, "\\\x00") {
		return r, false
	}
	for el := range strings.SplitSeq(r.title, "/") {
		if strings.HasPrefix(el, ".") {
			return r, false
		}
	}
	leaf, ok := r.leaf, true
	switch {
	case r.proto == "hls" && (leaf == "master.m3u8" || leaf == "media.m3u8" || leaf == "iframes.m3u8" || leaf == "init.mp4"):
	case r.proto == "dash" && leaf == "manifest.mpd":
	case r.proto == "hls" && strings.HasPrefix(leaf, "media-") && strings.HasSuffix(leaf, ".m3u8"):
		r.track, ok = number(leaf[len("media-") : len(leaf)-len(".m3u8")])
		r.track--
	case strings.HasPrefix(leaf, "init-") && strings.HasSuffix(leaf, ".mp4"):
		r.track, ok = number(leaf[len("init-") : len(leaf)-len(".mp4")])
		r.track--
	case strings.HasPrefix(leaf, "seg-") && strings.HasSuffix(leaf, ".m4s"):
		t, n, found := strings.Cut(leaf[len("seg-"):len(leaf)-len(".m4s")], "-")
		switch {
		case found: // seg-T-N: one track
			var ok2 bool
			r.track, ok = number(t)
			r.track--
			r.seg, ok2 = number(n)
			ok = ok && ok2
		case r.proto == "hls": // seg-N: every track, muxed
			r.seg, ok = number(t)
		default:
			ok = false
		}
	default:
		return r, false
	}
	return r, ok
}

// number parses a positive decimal without sign or leading zero.
func number(s string) (int, bool) {
	if s == "" || s[0] == '0' || len(s) > 9 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}

// isFile reports whether the title names a packaged file (by extension).
func (h *Handler) isFile(title string) bool {
	return h.exts[strings.ToLower(path.Ext(title))]
}

// serve answers every packager route.
func (h *Handler) serve(c echo.Context) error {
	r, ok := parse(c.Request().URL.Path)
	if !ok {
		return echo.ErrNotFound
	}
	file := h.isFile(r.title)
	switch r.leaf {
	case "master.m3u8":
		return h.manifest(c, r, file, typeM3U8, h.master)
	case "manifest.mpd":
		return h.manifest(c, r, file, typeMPD, h.mpd)
	}
	if !file {
		return echo.ErrNotFound
	}
	switch {
	case strings.HasSuffix(r.leaf, ".m3u8"): // media, iframes, media-T
		return h.mediaPlaylist(c, r)
	case r.seg == 0:
		return h.init(c, r)
	}
	return h.segment(c, r)
}

// manifest answers a title's manifest, of type typ: write writes it from
// the title's renditions (see renditions), with q the query to put on every
// URL inside it (see childQuery). An error of either goes through fail.
func (h *Handler) manifest(c echo.Context, r request, file bool, typ string, write func(w io.Writer, rs []*rendition, q string) error) error {
	rs, err := h.renditions(c.Request().Context(), r.title, file)
	if err != nil {
		return h.fail(c, err)
	}
	var buf bytes.Buffer
	if err := write(&buf, rs, h.childQuery(c, r)); err != nil {
		return h.fail(c, err)
	}
	return send(c, typ, buf.Bytes())
}

// contentTypes of the packager's answers.
const (
	typeM3U8 = "application/vnd.apple.mpegurl"
	typeMPD  = "application/dash+xml"
	typeMP4  = "video/mp4"
)

// noStore marks answers that must not be cached (errors).
func noStore(c echo.Context) {
	c.Response().Header().Set("Cache-Control", "no-store")
}
