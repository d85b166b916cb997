package stream

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// corsMaxAge is how long a browser may reuse a preflight answer, in
// seconds: Chromium caps it at two hours anyway.
const corsMaxAge = 7200

// CORS returns Cross-Origin Resource Sharing middleware for the media and
// API routes (issue 16): a request whose Origin is one of origins (or any,
// when origins is ["*"]) gets Access-Control-Allow-Origin (the origin
// itself, or "*") and Access-Control-Expose-Headers naming the headers a
// player reads; a preflight OPTIONS gets 204 with the methods (GET, HEAD),
// the request headers a player sends (Range, If-Range and the other
// validators) and Access-Control-Max-Age. Every response says Vary: Origin.
// A disallowed origin gets no CORS headers: its bytes still flow, as on any
// CDN, but a browser keeps them from the page.
//
// It is Echo's CORS middleware, which does all of this as configured here
// (checked in TestCORS): exact origins are compared as strings, and config
// refuses "*" or "?" inside an origin, which Echo would read as a pattern.
// Echo answers every OPTIONS itself without calling the handler, so
// preflights never reach the signature check.
func CORS(origins []string) echo.MiddlewareFunc {
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins:  origins,
		AllowMethods:  []string{http.MethodGet, http.MethodHead},
		AllowHeaders:  []string{"Range", "If-Range", "If-None-Match", "If-Modified-Since"},
		ExposeHeaders: []string{"Content-Range", "Accept-Ranges", "Content-Length", "ETag", "X-Cache", "Cache-Status"},
		MaxAge:        corsMaxAge,
	})
}

// preflight is the handler of the OPTIONS routes, which CORS answers before
// it is reached.
func preflight(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
