package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/internal/faststarttest"
)

// startPlaying is run in a page of the server's (a blank page's opaque
// origin may not load media): play the URL (%q) muted in a new
// <video> and resolve once its currentTime has advanced, with what it saw.
const startPlaying = `(async () => {
  const v = document.createElement("video");
  v.muted = true;
  v.src = %q;
  document.body.appendChild(v);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const end = performance.now() + 30000;
  v.play().catch(() => {});
  while (!(v.currentTime > 0.2)) {
    if (v.error) throw new Error("media error " + v.error.code + ": " + v.error.message);
    if (performance.now() > end) throw new Error("timed out (readyState " + v.readyState + ")");
    await sleep(10);
  }
  return v.currentTime;
})()`

// requestLog records the method and Range of each /media/ request as it
// arrives.
type requestLog struct{ hitLog[string] }

func (l *requestLog) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if r := c.Request(); strings.HasPrefix(r.URL.Path, "/media/") {
			l.add(r.Method + " " + r.Header.Get("Range"))
		}
		return next(c)
	}
}

// requestsToStart plays /media/name of base in a new tab of bctx, with the HTTP cache off,
// and returns the /media/ requests the server had received when playback
// had started.
func requestsToStart(t *testing.T, bctx context.Context, base, name string, log *requestLog) []string {
	t.Helper()
	ctx, closeTab := openTab(t, bctx, base+"/api/media", false) // a page that loads no media
	defer closeTab()
	log.take()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[float64](fmt.Sprintf(startPlaying, "/media/"+name), chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("play %s: %v (requests: %q)", name, err, log.take())
	}
	return log.take()
}

// TestFaststartBrowserStarts: headless Chromium starts playing a
// moov-at-end MP4 after fewer requests with media.faststart on than off
// (counted by the server as they arrive, until currentTime advances), and
// plays and seeks the view on the player page.
func TestFaststartBrowserStarts(t *testing.T) {
	dir := t.TempDir()
	faststarttest.Movie(t, dir, "end.mp4", 20)
	bctx := newBrowser(t)
	counts := map[bool]int{}
	for _, on := range []bool{false, true} {
		s := faststartServer(t, dir, on)
		log := &requestLog{}
		s.echo.Use(log.middleware)
		reqs := requestsToStart(t, bctx, s.url, "end.mp4", log)
		counts[on] = len(reqs)
		t.Logf("media.faststart %v: %d requests before playback started: %q", on, len(reqs), reqs)
		if on {
			// And the view plays and seeks on the player page.
			res := playInBrowser(t, bctx, s.url, "end.mp4", "")
			t.Logf("view on the page: duration %.1fs, seeks %v ms", res.Duration, seekTimes(res))
		}
	}
	if counts[true] == 0 || counts[true] >= counts[false] {
		t.Errorf("requests to start: %d with media.faststart, %d without; want fewer with it", counts[true], counts[false])
	}
}
