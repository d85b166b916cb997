package stream

import (
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"
)

// AccessLog returns middleware that logs one line per request: method, path,
// Range, status, bytes sent, how the response ended (end=ok, client-gone,
// cut with err=, or panic), cache source, duration and request id. A
// handler's abort (http.ErrAbortHandler) is logged, then passed on. It logs
// the path without the query string, which may carry tokens, and a cut's
// cause with URLs removed.
func AccessLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			rng := c.Request().Header.Get("Range") // before the handler rewrites it
			p := serve(next, c)
			end, cause := ending(c, p)
			req, res := c.Request(), c.Response()
			attrs := []slog.Attr{
				slog.String("method", req.Method),
				slog.String("path", req.URL.Path),
				slog.Int("status", res.Status),
				slog.Int64("bytes", res.Size),
				slog.Duration("dur", time.Since(start)),
				slog.String("end", end),
			}
			if cause != nil {
				attrs = append(attrs, slog.String("err", scrub(cause)))
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
			if p != nil {
				panic(p)
			}
			return nil
		}
	}
}
