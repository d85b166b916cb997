package stream

import (
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"
)

// AccessLog returns middleware that logs one line per request: method, path,
// Range, status, bytes, cache source, duration and request id. It logs the
// path without the query string, which may carry tokens.
func AccessLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			rng := c.Request().Header.Get("Range") // before the handler rewrites it
			err := next(c)
			if err != nil {
				c.Error(err) // write the error response now, so its status is logged
			}
			req, res := c.Request(), c.Response()
			attrs := []slog.Attr{
				slog.String("method", req.Method),
				slog.String("path", req.URL.Path),
				slog.Int("status", res.Status),
				slog.Int64("bytes", res.Size),
				slog.Duration("dur", time.Since(start)),
			}
			if rng != "" {
				attrs = append(attrs, slog.String("range", rng))
			}
			if x := res.Header().Get("X-Cache"); x != "" {
				attrs = append(attrs, slog.String("cache", x))
			}
			if id := res.Header().Get(echo.HeaderXRequestID); id != "" {
				attrs = append(attrs, slog.String("id", id))
			}
			log.LogAttrs(req.Context(), slog.LevelInfo, "request", attrs...)
			return nil
		}
	}
}
