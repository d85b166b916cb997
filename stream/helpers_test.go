package stream

import (
	"encoding/binary"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testlog"
)

func TestMain(m *testing.M) {
	redistest.QuietRedisLogs()
	os.Exit(m.Run())
}

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
	timeout   time.Duration                 // Redis timeout; default 10s (the race detector and parallel packages are slow)
	local     int64                         // chunker.Options.LocalBytes
	opts      func(*Options)                // adjusts the handler's options
	origin    func(*os.Root) chunker.Origin // the cache's origin; default the directory
	metrics   bool                          // count served bytes in s.metrics, scraped at /metrics
	h2        bool                          // serve HTTPS with HTTP/2 (s.srv.Client() trusts it)
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
	var st *store.Store
	if !o.noRedis {
		s.redis = redistest.Start(tb, redisArgs...)
		rdb, err := store.NewRedisClient(s.redis.URL())
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { rdb.Close() })
		if o.timeout == 0 {
			o.timeout = 10 * time.Second
		}
		st = store.New(store.Options{
			Client: rdb, Timeout: o.timeout, WriteTimeout: 5 * time.Second, Logger: log,
		})
	}
	s.store = st
	var origin chunker.Origin = chunker.NewDir(root, chunker.DirOptions{})
	if o.origin != nil {
		origin = o.origin(root)
	}
	s.cache, err = chunker.New(chunker.Options{Origin: origin, Store: st, ChunkSize: o.chunkSize, Fill: o.fill, LocalBytes: o.local, Logger: log,
		Settle: time.Nanosecond}) // files are written just before they are read
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.cache.Close() })
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
	b := randomBytes(size, seed)
	p := filepath.Join(s.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return b
}

func randomBytes(size int, seed uint64) []byte {
	b := make([]byte, size+7)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := 0; i < size; i += 8 { // eight bytes a draw: fast under -race too
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b[:size:size]
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
