package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/internal/poll"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testmedia"
	"github.com/reelcache/reelcache/stream"
)

// served is one response the server sent, as the server saw it.
type served struct {
	path, rng, xcache string
	status            int
	bytes             int64
}

// e2eServer is the whole app (newApp, as `serve` builds it) behind a real
// listener, with a record of every response.
type e2eServer struct {
	*app
	url   string
	redis *redistest.Server
	hitLog[served]
}

// newE2EServer serves the samples; each of opts may change the
// configuration first (e.g. a remote origin).
func newE2EServer(t *testing.T, opts ...func(*config.Config)) *e2eServer {
	t.Helper()
	s := &e2eServer{redis: redistest.Start(t)}
	cfg := &config.Config{
		Media:     config.Media{Root: testmedia.SamplesDir(t), Extensions: []string{"mp4", "webm"}},
		ChunkSize: 64 << 10, // many chunks per sample, so seeks cross chunk boundaries
		Redis:     config.Redis{URL: s.redis.URL(), KeyPrefix: "reelcache", Timeout: 100 * time.Millisecond},
		Cache:     config.Cache{Settle: time.Nanosecond, Fill: "async"},
		Log:       config.Log{Level: "info", Format: "text"},
	}
	for _, o := range opts {
		o(cfg)
	}
	a := testApp(t, cfg, slog.New(slog.DiscardHandler))
	s.app = a
	a.echo.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			rng := c.Request().Header.Get("Range")
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			if p := c.Request().URL.Path; strings.HasPrefix(p, "/media/") {
				res := c.Response()
				s.add(served{p, rng, res.Header().Get("X-Cache"), res.Status, res.Size})
			}
			return nil
		}
	})
	srv := httptest.NewUnstartedServer(a.echo)
	srv.Config.ConnContext = stream.ConnContext
	srv.Start()
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func summarize(log []served) string {
	var b strings.Builder
	for _, r := range log {
		fmt.Fprintf(&b, "  %d %-7s %-30q %s (%d bytes)\n", r.status, r.xcache, r.rng, r.path, r.bytes)
	}
	return b.String()
}

// waitHTTP waits until url answers 200.
func waitHTTP(t *testing.T, url string) {
	t.Helper()
	poll.Until(t, 5*time.Second, func() bool { return answers200(url) }, "%s not answering 200", url)
}

// answers200 reports whether a GET of url is answered 200.
func answers200(url string) bool {
	res, err := http.Get(url)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// testApp is newApp for a test: it fails the test on an error and closes
// the app when the test ends.
func testApp(t *testing.T, cfg *config.Config, log *slog.Logger) *app {
	t.Helper()
	a, err := newApp(t.Context(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// hitLog records a value for each response to a path under one of some
// prefixes, made when the response's header is written (a paced body may
// stream for long after). It is safe for concurrent use.
type hitLog[T any] struct {
	mu  sync.Mutex
	log []T
}

// record returns a middleware that appends see(c) to l for each response
// to a path under one of prefixes.
func (l *hitLog[T]) record(see func(c echo.Context) T, prefixes ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			for _, p := range prefixes {
				if strings.HasPrefix(c.Request().URL.Path, p) {
					c.Response().Before(func() { l.add(see(c)) })
					break
				}
			}
			return next(c)
		}
	}
}

// add records v.
func (l *hitLog[T]) add(v T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = append(l.log, v)
}

// hits returns what has been recorded so far.
func (l *hitLog[T]) hits() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]T(nil), l.log...)
}

// take returns what has been recorded so far and forgets it.
func (l *hitLog[T]) take() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := l.log
	l.log = nil
	return got
}
