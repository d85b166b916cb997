package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/reelcache/reelcache/cachewarm"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// videoAsync makes JavaScript for chromedp.Evaluate (with
// EvalAwaitPromise) from body, which drives the page's <video id="video">
// and returns the result: body runs in an async function with v (the
// element), sleep(ms) and until(cond, ms, what), which polls cond every
// 20 ms and throws as soon as fail (a JavaScript expression) is a message,
// or when ms pass first, saying what it waited for and the element's state.
func videoAsync(fail, body string) string {
	return `(async () => {
  const v = document.getElementById("video");
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const until = async (cond, ms, what) => {
    const end = performance.now() + ms;
    while (!cond()) {
      const failed = ` + fail + `;
      if (failed) throw new Error(failed);
      if (performance.now() > end) throw new Error("timed out: " + what + " (readyState " + v.readyState + ", t=" + v.currentTime + ", error " + (v.error && v.error.code) + ", src " + v.currentSrc + ")");
      await sleep(20);
    }
  };
` + body + `})()`
}

// playAndSeek is run in the page: wait for the player to load the video,
// play until currentTime has advanced 1 s, then seek to 25%, 75% and 1 s
// before the end. Each seek must fire seeked within 5 s and reach
// readyState >= 2 within 5 s more. It resolves to what it saw, or rejects
// with what went wrong (a media error at once).
var playAndSeek = videoAsync(`v.error && "media error " + v.error.code + ": " + v.error.message`, `  await until(() => v.currentSrc !== "" && v.readyState >= 1, 10000, "metadata");
  v.muted = true;
  await v.play();
  const t0 = v.currentTime;
  await until(() => v.currentTime >= t0 + 1, 10000, "playback to advance 1 s");
  const d = v.duration;
  const out = { duration: d, played: v.currentTime - t0, seeks: [] };
  for (const target of [d * 0.25, d * 0.75, d - 1]) {
    let landed = -1;
    const seeked = new Promise((res) => v.addEventListener("seeked", () => { landed = v.currentTime; res(); }, { once: true }));
    const start = performance.now();
    v.currentTime = target;
    await Promise.race([seeked, sleep(5000)]);
    if (landed < 0) throw new Error("no seeked event within 5 s for " + target);
    await until(() => v.readyState >= 2, 5000, "readyState >= 2 after seek to " + target);
    out.seeks.push({ target, landed, ms: performance.now() - start });
  }
  out.error = v.error ? v.error.code : 0;
  return out;
`)

type seekResult struct {
	Duration float64 `json:"duration"`
	Played   float64 `json:"played"`
	Seeks    []struct {
		Target float64 `json:"target"`
		Landed float64 `json:"landed"`
		MS     float64 `json:"ms"`
	} `json:"seeks"`
	Error int `json:"error"`
}

// newBrowser starts Debian's headless Chromium for the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return newBrowserWith(t)
}

// newBrowserWith is newBrowser with more allocator options.
func newBrowserWith(t *testing.T, more ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := redistest.Require(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1000, 900),
	)
	opts = append(opts, more...)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(bctx, chromedp.Sleep(0)); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// openTab opens url in a new tab of the browser, with its HTTP cache off
// unless httpCache, and returns the tab's context, which times out after
// 60 s, and a function that closes the tab (the test's end does too).
func openTab(t *testing.T, bctx context.Context, url string, httpCache bool) (context.Context, func()) {
	t.Helper()
	return openTabFor(t, bctx, url, httpCache, 60*time.Second)
}

// openTabFor is openTab with the tab's context timing out after timeout.
func openTabFor(t *testing.T, bctx context.Context, url string, httpCache bool, timeout time.Duration) (context.Context, func()) {
	t.Helper()
	tab, closeTab := chromedp.NewContext(bctx)
	t.Cleanup(closeTab)
	ctx, cancel := context.WithTimeout(tab, timeout)
	t.Cleanup(cancel)
	err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil || httpCache {
				return err
			}
			_, err := cdp.Call(ctx, t, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
			return err
		}),
		chromedp.Navigate(url),
	)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return ctx, closeTab
}

// playInBrowser opens the page on name in a new tab, with the HTTP cache
// off so every byte is asked of the server, and plays and seeks.
func playInBrowser(t *testing.T, bctx context.Context, base, name, shot string) seekResult {
	t.Helper()
	ctx, closeTab := openTab(t, bctx, base+"/#"+name, false)
	defer closeTab()
	res, err := chromedp.Run(ctx, chromedp.Evaluate[seekResult](playAndSeek, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	chromedp.Do(ctx, chromedp.Sleep(1200*time.Millisecond)) // let the cache map poll once more
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("%s: screenshot: %v", name, err)
	}
	if res.Error != 0 || res.Played < 1 || len(res.Seeks) != 3 {
		t.Fatalf("%s: %+v", name, res)
	}
	for _, s := range res.Seeks {
		if math.Abs(s.Landed-s.Target) > 0.5 {
			t.Errorf("%s: seek to %.2f landed at %.2f", name, s.Target, s.Landed)
		}
	}
	if shot != "" {
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot of %s mid-playback: %s", name, shot)
	}
	return res
}

// TestBrowserPlaysAndSeeks drives headless Chromium through the player page
// for each sample: cold cache, after `warm` (every response a HIT), and with
// Redis stopped.
func TestBrowserPlaysAndSeeks(t *testing.T) {
	s := newE2EServer(t)
	waitHTTP(t, s.url+"/")
	bctx := newBrowser(t)
	shots, err := os.MkdirTemp("", "reelcache-screenshots-")
	if err != nil {
		t.Fatal(err)
	}

	check := func(phase string, want func(served) bool) {
		for _, name := range testmedia.SampleNames() {
			shot := ""
			if phase == "cold" {
				shot = filepath.Join(shots, name+".png")
			}
			res := playInBrowser(t, bctx, s.url, name, shot)
			log := s.take()
			var ranged, media int
			for _, r := range log {
				if !strings.HasSuffix(r.path, "/"+name) {
					continue
				}
				media++
				if r.status == 206 {
					ranged++
				}
				if r.status >= 400 || !want(r) {
					t.Errorf("%s %s: unexpected response %d X-Cache %q for Range %q", phase, name, r.status, r.xcache, r.rng)
				}
			}
			if ranged == 0 {
				t.Errorf("%s %s: no 206 responses:\n%s", phase, name, summarize(log))
			}
			t.Logf("%s %s: duration %.1fs, seeks %v ms, %d media responses (%d ranged)", phase, name, res.Duration, seekTimes(res), media, ranged)
		}
	}

	t.Run("cold", func(t *testing.T) {
		check("cold", func(served) bool { return true })
	})
	t.Run("warm", func(t *testing.T) {
		rep, err := cachewarm.Warm(t.Context(), testmedia.SampleNames(), cachewarm.Options{Cache: s.cache, Force: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil || rep.Failed != 0 {
			t.Fatalf("warm: %+v %v", rep, err)
		}
		check("warm", func(r served) bool { return r.xcache == "HIT" })
	})
	t.Run("redis down", func(t *testing.T) {
		s.redis.Kill()
		check("redis down", func(r served) bool { return r.xcache == "BYPASS" || r.xcache == "MISS" })
	})
}

func seekTimes(r seekResult) []string {
	var out []string
	for _, s := range r.Seeks {
		out = append(out, fmt.Sprintf("%.0f", s.MS))
	}
	return out
}

// videoScript makes JavaScript for chromedp.Evaluate from body, which
// drives the page's <video id="v"> and fills an object out: body runs in
// an async function with sleep(ms) and until(cond, ms), which waits up to
// ms for cond (or a media error) and returns cond(); then out.error is set
// to the element's error code (0 for none) and out is the result.
func videoScript(body string) string {
	return `(async () => {
  const v = document.getElementById("v");
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const until = async (cond, ms) => {
    const end = performance.now() + ms;
    while (!cond() && !v.error && performance.now() < end) await sleep(20);
    return cond();
  };
` + body + `  out.error = v.error ? v.error.code : 0;
  return out;
})()`
}
