package previews

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
)

// Register adds GET and HEAD /previews/* to e, behind Options.Middleware.
func (h *Handler) Register(e *echo.Echo) {
	e.GET("/previews/*", h.serve, h.opts.Middleware...)
	e.HEAD("/previews/*", h.serve, h.opts.Middleware...)
}

// VTTPath returns the decoded URL path of the WebVTT previews of the media
// file name (for stream.Options.Previews).
func VTTPath(name string) string { return "/previews/" + name + ".vtt" }

// spritePath returns the decoded URL path of sprite sheet i of version of
// name. The version in the path makes the URL's bytes immutable.
func spritePath(name, version string, i int) string {
	return fmt.Sprintf("/previews/%s/%s/sprite-%d.jpg", name, version, i)
}

// immutable is the Cache-Control of sprite sheets: their URL names the
// file version, so their bytes never change.
const immutable = "public, max-age=31536000, immutable"

// serve answers /previews/NAME.vtt and /previews/NAME/VERSION/sprite-N.jpg.
func (h *Handler) serve(c echo.Context) error {
	p, _ := strings.CutPrefix(c.Request().URL.Path, "/previews/")
	if h.missing != nil {
		return echo.NewHTTPError(http.StatusNotImplemented, "seek previews are off: this server has no ffmpeg")
	}
	if name, ok := strings.CutSuffix(p, ".vtt"); ok && h.valid(name) {
		return h.vtt(c, name)
	}
	dir, file := path.Split(p)
	name, version := path.Split(strings.TrimSuffix(dir, "/"))
	name = strings.TrimSuffix(name, "/")
	n, ok := strings.CutPrefix(file, "sprite-")
	n, ok2 := strings.CutSuffix(n, ".jpg")
	i, err := strconv.Atoi(n)
	if !ok || !ok2 || err != nil || i < 0 || strconv.Itoa(i) != n || !h.valid(name) || version == "" {
		return echo.ErrNotFound
	}
	return h.sprite(c, name, version, i)
}

// valid reports whether name could be a media file: a clean relative path,
// no dot files, a served extension.
func (h *Handler) valid(name string) bool {
	if !fs.ValidPath(name) || name == "." || strings.ContainsAny(name, "\\\x00") {
		return false
	}
	for el := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(el, ".") {
			return false
		}
	}
	return h.exts[strings.ToLower(path.Ext(name))]
}

// version returns the current version of name.
func (h *Handler) version(c echo.Context, name string) (string, error) {
	f, err := h.files.Open(c.Request().Context(), name)
	switch {
	case err == nil:
		defer f.Close()
		return f.Version(), nil
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, chunker.ErrNotRegular):
		return "", echo.ErrNotFound.WithInternal(err)
	case errors.Is(err, fs.ErrPermission):
		return "", echo.ErrForbidden.WithInternal(err)
	case errors.Is(err, chunker.ErrOriginUnavailable), errors.Is(err, chunker.ErrOriginDenied), errors.Is(err, chunker.ErrOriginTimeout):
		return "", echo.NewHTTPError(http.StatusBadGateway).WithInternal(err)
	}
	return "", echo.ErrNotFound.WithInternal(err)
}

// vtt serves the WebVTT file of name: 503 with Retry-After while its
// previews are being made, 422 when the file can have none (the reason in
// the body).
func (h *Handler) vtt(c echo.Context, name string) error {
	ver, err := h.version(c, name)
	if err != nil {
		return err
	}
	res := c.Response()
	etag := `"` + ver + `-vtt"`
	if c.Request().Header.Get("If-None-Match") == etag {
		res.Header().Set("ETag", etag)
		return c.NoContent(http.StatusNotModified)
	}
	r, err := h.await(c.Request().Context(), name, ver, h.opts.Wait)
	switch {
	case errors.Is(err, errPending), errors.Is(err, errChanged):
		res.Header().Set("Retry-After", strconv.Itoa(int(min(h.opts.Wait, 10*time.Second)/time.Second)+1))
		return echo.NewHTTPError(http.StatusServiceUnavailable, "seek previews are being made: try again shortly").WithInternal(err)
	case err != nil:
		return err
	case r.Err != "" && r.Transient:
		res.Header().Set("Retry-After", strconv.Itoa(int(transientFor/time.Second)))
		return echo.NewHTTPError(http.StatusServiceUnavailable, r.Err)
	case r.Err != "":
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "no seek previews: "+r.Err)
	}
	exp := h.expiry(c)
	body := r.VTT(func(i int) string {
		p := spritePath(name, ver, i)
		if h.opts.Signer != nil {
			return h.opts.Signer.SignPath(p, exp)
		}
		return (&url.URL{Path: p}).EscapedPath()
	})
	res.Header().Set("ETag", etag)
	return c.Blob(http.StatusOK, "text/vtt; charset=utf-8", []byte(body))
}

// expiry returns the expiry of the request's signed URL (the middleware has
// verified it): sprite URLs in a WebVTT file live no longer than it.
func (h *Handler) expiry(c echo.Context) time.Time {
	t, err := strconv.ParseInt(c.QueryParam("exp"), 10, 64)
	if err != nil {
		return time.Now()
	}
	return time.Unix(t, 0)
}

// sprite serves sprite sheet i of the previews of version of name, which
// must be the file's current version and have its previews made (404
// otherwise: a WebVTT file from before a change).
func (h *Handler) sprite(c echo.Context, name, version string, i int) error {
	ver, err := h.version(c, name)
	if err != nil {
		return err
	}
	if ver != version {
		return echo.ErrNotFound
	}
	r := h.lookup(c.Request().Context(), ver)
	if r == nil || r.Err != "" || i >= len(r.Sprites) {
		return echo.ErrNotFound
	}
	res := c.Response()
	etag := fmt.Sprintf(`"%s-%d"`, ver, i)
	res.Header().Set("ETag", etag)
	// After the media middleware's Cache-Control (hooks run in order).
	res.Before(func() {
		if res.Status == http.StatusOK || res.Status == http.StatusNotModified {
			res.Header().Set("Cache-Control", immutable)
		}
	})
	if c.Request().Header.Get("If-None-Match") == etag {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, "image/jpeg", r.Sprites[i])
}
