package stream

import (
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// RequireSignature returns middleware that lets a request through only when
// its URL carries a valid, unexpired media signature (?exp=&sig=, see
// Signer) for its own path; anything else is 403, before any file is
// looked at, so an unsigned request learns nothing, not even whether a
// file exists. A URL may instead carry a prefix signature (?exp=&pfx=&sig=,
// Signer.SignPrefix) covering every clean path under pfx.
func RequireSignature(s *Signer) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			q := req.URL.Query()
			verify := s.Verify
			if pfx := q.Get("pfx"); pfx != "" {
				// A prefix signature (Signer.SignPrefix), which the
				// packagers put on the URLs inside their playlists.
				verify = func(path, exp, sig string, now time.Time) error {
					return s.VerifyPrefix(path, pfx, exp, sig, now)
				}
			}
			if err := verify(req.URL.Path, q.Get("exp"), q.Get("sig"), time.Now()); err != nil {
				return echo.ErrForbidden.WithInternal(err)
			}
			return next(c)
		}
	}
}

// grantKey is where RequireGrant leaves the verified Grant in the
// echo.Context.
const grantKey = "reelcache.grant"

// RequireGrant returns middleware for the API routes: a request needs a
// valid, unexpired page grant in ?grant= (403 otherwise), and on
// /api/chunks/NAME the grant must cover NAME. The grant is left in the
// context for the handler (grantOf), which lists only what it covers and
// signs media URLs that expire with it at the latest.
func RequireGrant(s *Signer) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			g, err := s.VerifyGrant(req.URL.Query().Get("grant"), time.Now())
			if err != nil {
				return echo.ErrForbidden.WithInternal(err)
			}
			if name, ok := strings.CutPrefix(req.URL.Path, "/api/chunks/"); ok && !g.Covers(name) {
				return echo.ErrForbidden.WithInternal(ErrScope)
			}
			c.Set(grantKey, g)
			return next(c)
		}
	}
}

// grantOf returns the grant RequireGrant verified for c, if any.
func grantOf(c echo.Context) (Grant, bool) {
	g, ok := c.Get(grantKey).(Grant)
	return g, ok
}
