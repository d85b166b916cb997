package stream

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/internal/cachetest"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testlog"
	"github.com/reelcache/reelcache/internal/testmedia"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// server is reelcache's handler on a real Echo behind a real listener, over
// a media directory, with a real redis-server unless the cache is off.
type server struct {
	logs    *testlog.Buffer // the handler's and cache's log
	dir     string
	redis   *redistest.Server // nil when the cache is off
	cache   *chunker.Cache
	store   *store.Store // nil when the cache is off
	metrics *Metrics     // nil unless serverOptions.metrics
	srv     *httptest.Server
}

type serverOptions struct {
	chunkSize int64
	noRedis   bool
	fill      chunker.FillMode
	timeout   time.Duration                   // Redis timeout; default 10s (the race detector and parallel packages are slow)
	local     int64                           // chunker.Options.LocalBytes
	opts      func(*Options)                  // adjusts the handler's options
	origin    func(*os.Root) chunker.Origin   // the cache's origin; default the directory
	metrics   bool                            // count served bytes in s.metrics, scraped at /metrics
	listener  func(net.Listener) net.Listener // wraps the server's listener
	h2        bool                            // serve HTTPS with HTTP/2 (s.srv.Client() trusts it)
	budget    int64                           // chunker.Options.MaxInflightBytes; 0: the default
}

func newServer(tb testing.TB, o serverOptions) *server {
	tb.Helper()
	return newServerWith(tb, o)
}

// newServerWith is newServer with redis-server directives ("name", "value").
func newServerWith(tb testing.TB, o serverOptions, redisArgs ...string) *server {
	tb.Helper()
	s := &server{dir: tb.TempDir(), logs: &testlog.Buffer{}}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { root.Close() })
	log := slog.New(slog.NewTextHandler(s.logs, nil))
	if !o.noRedis {
		s.redis = redistest.Start(tb, redisArgs...)
		s.store = cachetest.Store(tb, s.redis, store.Options{Timeout: o.timeout, Logger: log})
	}
	var origin chunker.Origin = chunker.NewDir(root, chunker.DirOptions{})
	if o.origin != nil {
		origin = o.origin(root)
	}
	s.cache = cachetest.New(tb, s.dir, nil, chunker.Options{Origin: origin, Store: s.store, ChunkSize: o.chunkSize, Fill: o.fill,
		LocalBytes: o.local, MaxInflightBytes: o.budget, Logger: log}, store.Options{})
	hopts := Options{Files: s.cache, Logger: log, Static: os.DirFS("../static")}
	if o.metrics {
		s.metrics = NewMetrics(s.cache.Stats, nil)
		hopts.Metrics = s.metrics
	}
	if o.opts != nil {
		o.opts(&hopts)
	}
	h, err := New(hopts)
	if err != nil {
		tb.Fatal(err)
	}
	e := echo.New()
	e.IPExtractor = echo.ExtractIPDirect()
	h.Register(e)
	if s.metrics != nil {
		RegisterOps(e, s.cache, s.metrics)
	}
	s.srv = httptest.NewUnstartedServer(e)
	if o.listener != nil {
		s.srv.Listener = o.listener(s.srv.Listener)
	}
	s.srv.Config.ConnContext = ConnContext
	if o.h2 {
		s.srv.EnableHTTP2 = true
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	tb.Cleanup(s.srv.Close)
	return s
}

// url returns the URL of a media file.
func (s *server) url(name string) string { return s.srv.URL + MediaURL(name) }

// write writes size pseudo-random bytes from seed to name under the media
// directory and returns them.
func (s *server) write(tb testing.TB, name string, size int, seed uint64) []byte {
	tb.Helper()
	return testmedia.WriteRandom(tb, s.dir, name, size, seed)
}

// response is a fully read HTTP response.
type response struct {
	status int
	header http.Header
	body   []byte
}

// get sends method to url with the given header lines ("Name: value").
func get(tb testing.TB, method, url string, header ...string) response {
	tb.Helper()
	return getVia(tb, http.DefaultTransport, method, url, header...)
}

// getVia is get through rt.
func getVia(tb testing.TB, rt http.RoundTripper, method, url string, header ...string) response {
	tb.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for _, h := range header {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	res, err := rt.RoundTrip(req) // no redirects, no transparent gzip
	if err != nil {
		tb.Fatalf("%s %s %v: %v", method, url, header, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("%s %s %v: read body: %v", method, url, header, err)
	}
	return response{res.StatusCode, res.Header, body}
}
