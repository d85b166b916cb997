package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// ccHit is one media request as the server saw it, with the tab it came
// from (1 or 2).
type ccHit struct {
	tab                             int
	rng, ifRange, ifNoneMatch, ifMS string
	status                          int
	cut                             bool // the body ended before its Content-Length (the client left)
}

func (h ccHit) String() string {
	return fmt.Sprintf("tab %d: %d Range=%q If-Range=%q If-None-Match=%q If-Modified-Since=%q cut=%v",
		h.tab, h.status, h.rng, h.ifRange, h.ifNoneMatch, h.ifMS, h.cut)
}

// conditional reports whether the request revalidates what the browser
// holds (If-None-Match or If-Modified-Since). If-Range is not counted: it
// comes with a request for bytes the browser lacks, so that they match
// the ones it has.
func (h ccHit) conditional() bool { return h.ifNoneMatch != "" || h.ifMS != "" }

// ccServer is the whole app (newApp) with the cache off, behind a real
// listener, with a page at /page that plays /media/v.mp4 in a <video>, and
// a log of every media request.
type ccServer struct {
	url string
	tab atomic.Int64
	hitLog[ccHit]
}

func newCCServer(t *testing.T, root, cacheControl string) *ccServer {
	t.Helper()
	cfg := &config.Config{
		Media:     config.Media{Root: root, Extensions: []string{"mp4"}},
		ChunkSize: 64 << 10,
		Cache:     config.Cache{Fill: "async"},
		// Paced, so that the first tab holds only parts of the file (as a
		// viewer does of a film) and seeking to the middle asks for a new
		// range: 128 KiB/s is about twice the sample's bitrate.
		HTTP: config.HTTP{CacheControl: cacheControl, LimitRate: 128 << 10, LimitRateAfter: 128 << 10},
		Log:  config.Log{Level: "info", Format: "text"},
	}
	a := testApp(t, cfg, slog.New(slog.DiscardHandler))
	s := &ccServer{}
	a.echo.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req, res := c.Request(), c.Response()
			if !strings.HasPrefix(req.URL.Path, "/media/") {
				return next(c)
			}
			h := ccHit{tab: int(s.tab.Load()), rng: req.Header.Get("Range"), ifRange: req.Header.Get("If-Range"),
				ifNoneMatch: req.Header.Get("If-None-Match"), ifMS: req.Header.Get("If-Modified-Since")}
			// Deferred: a response the client leaves ends in a panic
			// (http.ErrAbortHandler) that unwinds through here.
			defer func() {
				h.status = res.Status
				if n, err := strconv.ParseInt(res.Header().Get("Content-Length"), 10, 64); err == nil && res.Size < n {
					h.cut = true
				}
				s.add(h)
			}()
			return next(c)
		}
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, `<!doctype html><html><body><video id="v" muted playsinline preload="auto" src="/media/v.mp4"></video></body></html>`)
	})
	mux.Handle("/", a.echo)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *ccServer) setTab(n int) { s.tab.Store(int64(n)) }

// playSeekBack is run in the page (a videoScript body): play a second,
// seek to the middle, then back to the start, over bytes already fetched.
const playSeekBack = `
  const seek = async (t) => {
    const seeked = new Promise((res) => v.addEventListener("seeked", res, { once: true }));
    v.currentTime = t;
    await Promise.race([seeked, sleep(5000)]);
    await until(() => v.readyState >= 3, 5000);
    return v.currentTime;
  };
  const out = { error: 0, played: false, middle: -1, start: -1 };
  if (!(await until(() => v.readyState >= 3, 10000))) { out.error = v.error ? v.error.code : -1; return out; }
  await v.play();
  out.played = await until(() => v.currentTime > 1, 10000);
  out.middle = await seek(v.duration / 2);
  await sleep(300);
  out.start = await seek(0);
  await sleep(300);
`

type seekBackResult struct {
	Error  int     `json:"error"`
	Played bool    `json:"played"`
	Middle float64 `json:"middle"`
	Start  float64 `json:"start"`
}

// playTab opens the page in a new tab of the browser with its HTTP cache
// on (the default; the other browser tests turn it off), plays it and
// closes the tab.
func playTab(t *testing.T, bctx context.Context, url string) seekBackResult {
	t.Helper()
	ctx, closeTab := openTab(t, bctx, url, true)
	defer closeTab()
	res, err := chromedp.Run(ctx, chromedp.Evaluate[seekBackResult](videoScript(playSeekBack), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != 0 || !res.Played || res.Middle < 1 || res.Start > 0.5 {
		t.Fatalf("playback in the tab: %+v", res)
	}
	return res
}

// TestBrowserCacheControl: what http.cache_control does to Chromium with
// its HTTP cache on (the other browser tests turn it off). A tab plays the
// video, seeks to the middle and back to the start, and closes; a second
// tab then plays the same URL. What the server sees from the second tab:
//
//   - no Cache-Control, a file modified just now: Chromium revalidates
//     the range it holds (Range with If-None-Match and If-Modified-Since,
//     answered 304), then asks for the bytes it lacks (with If-Range);
//   - the default, max-age=60, must-revalidate: no conditional request
//     (but to validate an entry whose body tab 1 left early, which
//     Chromium does before resuming it, fresh or not), only the requests
//     for the bytes it lacks;
//   - max-age=2, must-revalidate, the second tab 3 s after the first: it
//     revalidates again (304s). The default's minute is not waited for.
//   - no Cache-Control, a file last modified a day ago: no conditional
//     request either. Without max-age Chromium computes a heuristic
//     freshness from Last-Modified (RFC 9111 section 4.2.2), so a new file
//     is revalidated and an old one is not.
//
// In the first tab, seeking back to the start asks for nothing: the media
// element still holds those bytes. The cases run in parallel.
func TestBrowserCacheControl(t *testing.T) {
	sample := testmedia.Sample(t, "sample-faststart.mp4")
	bctx := newBrowser(t)
	for _, tt := range []struct {
		name         string
		cacheControl string
		age          time.Duration // of the file's modification time
		pause        time.Duration // between the tabs
		revalidates  bool
	}{
		{"none, new file", "", 0, 0, true},
		{"default", config.DefaultCacheControl, 0, 0, false},
		{"max-age=2, later", "max-age=2, must-revalidate", 0, 3 * time.Second, true},
		{"none, day-old file", "", 24 * time.Hour, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			f := filepath.Join(dir, "v.mp4")
			if err := os.WriteFile(f, sample, 0o644); err != nil {
				t.Fatal(err)
			}
			mtime := time.Now().Add(-tt.age)
			if err := os.Chtimes(f, mtime, mtime); err != nil {
				t.Fatal(err)
			}
			s := newCCServer(t, dir, tt.cacheControl)
			s.setTab(1)
			playTab(t, bctx, s.url+"/page")
			time.Sleep(tt.pause)
			s.setTab(2)
			playTab(t, bctx, s.url+"/page")

			hits := s.hits()
			var first, fromStart, again, notModified int
			cutAt := map[string]bool{} // where tab 1's responses cut short start
			var uncut []ccHit          // tab 2's conditional requests of other entries
			for _, h := range hits {
				switch {
				case h.tab == 1:
					first++
					if h.cut {
						cutAt[rangeStart(h.rng)] = true
					}
					if strings.HasPrefix(h.rng, "bytes=0-") {
						fromStart++
					}
					if h.conditional() || h.status == http.StatusNotModified {
						t.Errorf("tab 1 revalidated: %v", h)
					}
				case h.conditional():
					again++
					if h.status == http.StatusNotModified {
						notModified++
					}
					if !cutAt[rangeStart(h.rng)] {
						uncut = append(uncut, h)
					}
				}
			}
			if first < 2 {
				t.Errorf("tab 1 made %d requests; want the start and the seek to the middle", first)
			}
			if fromStart != 1 {
				t.Errorf("tab 1 asked for the start %d times; want once (seeking back is served by the media element)", fromStart)
			}
			if tt.revalidates && (again == 0 || notModified != again) {
				t.Errorf("tab 2: %d conditional requests, %d answered 304; want some, all 304", again, notModified)
			}
			// Chromium validates a cache entry whose body was cut short
			// (the media element leaves a response when it seeks) before
			// resuming it, fresh or not (once or more): that is its
			// cache's rule, not the server's. Any other entry is fresh.
			if !tt.revalidates && len(uncut) > 0 {
				t.Errorf("tab 2 revalidated %d entries tab 1 had whole: %v", len(uncut), uncut)
			}
			for _, h := range hits {
				t.Log(h)
			}
		})
	}
}

// rangeStart returns the first byte position of a "bytes=N-..." header
// value: which cache entry a range request is for.
func rangeStart(rng string) string {
	n, _, _ := strings.Cut(strings.TrimPrefix(rng, "bytes="), "-")
	return n
}
