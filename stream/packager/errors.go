package packager

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/stream/cmaf"
	"github.com/reelcache/reelcache/stream/mp4index"
)

var (
	errNoIFrames      = errors.New("packager: no video, so no I-frame playlist")
	errFragmentedDASH = errors.New("packager: fragmented sources are served as HLS byte ranges only")
)

// fail maps an error to the answer, in one place. Bad input is a 4xx with
// a message that says what is wrong with the file (never a path, URL or
// the origin's words):
//
//	not an MP4 (WebM, Matroska, ...)                     415
//	an MP4 the packager cannot carry, or a broken one    422
//	no such file, segment or track                       404
//	permission denied                                    403
//	the origin failing or timing out                     502, 504
func (h *Handler) fail(c echo.Context, err error) error {
	noStore(c)
	switch {
	case errors.Is(err, context.Canceled):
		return echo.NewHTTPError(499).WithInternal(err)
	case errors.Is(err, mp4index.ErrNotMP4):
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "not an MP4 file: HLS and DASH are packaged from MP4 and MOV files").WithInternal(err)
	case errors.Is(err, mp4index.ErrUnsupported), errors.Is(err, mp4index.ErrBad), errors.Is(err, errNoIFrames), errors.Is(err, errFragmentedDASH):
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "cannot package this file: "+reason(err)).WithInternal(err)
	case errors.Is(err, cmaf.ErrNoSegment), errors.Is(err, fs.ErrNotExist), errors.Is(err, chunker.ErrNotRegular), errors.Is(err, errNoTitle):
		return echo.ErrNotFound.WithInternal(err)
	case errors.Is(err, fs.ErrPermission):
		return echo.ErrForbidden.WithInternal(err)
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		c.Response().Header().Set("Retry-After", "1")
		return echo.NewHTTPError(http.StatusServiceUnavailable).WithInternal(err)
	case errors.Is(err, chunker.ErrOriginTimeout):
		return echo.NewHTTPError(http.StatusGatewayTimeout).WithInternal(err)
	case errors.Is(err, chunker.ErrOriginDenied), errors.Is(err, chunker.ErrOriginUnavailable):
		return echo.NewHTTPError(http.StatusBadGateway).WithInternal(err)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		// os.Root's escapes, ENOTDIR, ELOOP: not there, as far as a client may know.
		return echo.ErrNotFound.WithInternal(err)
	}
	h.log.Warn("packager: failed", "err", err)
	return echo.NewHTTPError(http.StatusInternalServerError).WithInternal(err)
}

// reason is the message of one of the packager's own errors, without the
// package prefixes: it names the codec or the table at fault, nothing more.
func reason(err error) string {
	s := err.Error()
	for _, p := range []string{"mp4index: ", "packager: ", "cmaf: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// childQuery returns the query ("?exp=...&pfx=...&sig=...", or "" with
// signing off) to put on every URL inside a manifest for the title of r: a
// prefix signature over /PROTO/TITLE/ that expires when the manifest's own
// URL does. A manifest fetched with a prefix signature passes it on as it
// is.
func (h *Handler) childQuery(c echo.Context, r request) string {
	if h.signer == nil {
		return ""
	}
	q := c.Request().URL.Query()
	if q.Get("pfx") != "" {
		return "?" + url.Values{"exp": {q.Get("exp")}, "pfx": {q.Get("pfx")}, "sig": {q.Get("sig")}}.Encode()
	}
	exp, _ := strconv.ParseInt(q.Get("exp"), 10, 64)
	return "?" + h.signer.SignPrefix("/"+r.proto+"/"+r.title+"/", unix(exp))
}

func unix(s int64) time.Time { return time.Unix(s, 0) }
