package stream

import (
	"sync"

	"github.com/labstack/echo/v4"
)

// LimitStreams returns middleware that lets one client IP (c.RealIP, so set
// Echo's IPExtractor to the peer address: a header would let clients dodge
// it) have at most n requests in flight through it; past that the answer is
// 429 with Retry-After. Use one instance for every route that shares the
// limit.
func LimitStreams(n int) echo.MiddlewareFunc {
	l := &streamLimit{max: n, streams: make(map[string]int)}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ip := c.RealIP()
			if !l.enter(ip) {
				c.Response().Header().Set("Retry-After", "1")
				return echo.ErrTooManyRequests
			}
			defer l.leave(ip)
			return next(c)
		}
	}
}

// streamLimit counts requests in flight per client IP.
type streamLimit struct {
	max     int
	mu      sync.Mutex     // protects streams
	streams map[string]int // client IP -> requests in flight; only IPs with some
}

// enter counts a request of ip in, unless ip has max already.
func (l *streamLimit) enter(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.streams[ip] >= l.max {
		return false
	}
	l.streams[ip]++
	return true
}

func (l *streamLimit) leave(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.streams[ip]--; l.streams[ip] <= 0 {
		delete(l.streams, ip)
	}
}
