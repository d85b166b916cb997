package stream

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// CacheControl returns middleware that sends Cache-Control: value with
// successful responses (200, 206 and 304, which must repeat what the 200
// would say: RFC 9110 §15.4.5) and no-store with every other status, so
// that no cache keeps a 403, 404, 416 or 503 of a file that may exist in a
// moment. An empty value sends nothing with successful responses.
func CacheControl(value string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			res := c.Response()
			res.Before(func() {
				switch res.Status {
				case http.StatusOK, http.StatusPartialContent, http.StatusNotModified:
					if value != "" {
						res.Header().Set("Cache-Control", value)
					}
				default:
					res.Header().Set("Cache-Control", "no-store")
				}
			})
			return next(c)
		}
	}
}

// NoStoreErrors returns middleware, for Echo.Use, that sends
// Cache-Control: no-store with every error status (400 and up) that goes
// through Echo, including those no route's CacheControl sees: 405 for a
// method a route does not take, an unmatched route's 404, the page's 404
// (issue 21, "also seen"). A request line net/http refuses itself (a bad
// %-escape in the path) gets its bare 400 before any handler runs.
func NoStoreErrors() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			res := c.Response()
			res.Before(func() {
				if res.Status >= http.StatusBadRequest {
					res.Header().Set("Cache-Control", "no-store")
				}
			})
			return next(c)
		}
	}
}
