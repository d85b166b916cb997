package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/reelcache/reelcache/config"
)

// noNativeHLS, run in the page before its scripts, makes the browser one
// without native HLS (Debian's Chromium plays it natively; Chrome, Firefox
// and Edge on the desktop do not) and records CSP violations.
const noNativeHLS = `(() => {
  const can = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (t) { return /mpegurl/i.test(t) ? "" : can.call(this, t); };
  window.cspViolations = [];
  document.addEventListener("securitypolicyviolation", (e) => cspViolations.push(e.violatedDirective + " " + e.blockedURI));
})()`

// pageState is what the page shows once loaded: its "Play as HLS" button,
// its scripts and what the test saw of playback.
type pageState struct {
	Button     bool     `json:"button"`
	Scripts    []string `json:"scripts"`
	Src        string   `json:"src"`
	Played     float64  `json:"played"`
	Violations []string `json:"violations"`
}

// pageLoaded waits for the page to show title/a.mp4 and tells its state.
const pageLoaded = `(async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  for (let i = 0; i < 1000 && document.getElementById("title").textContent !== "title/a.mp4"; i++) await sleep(20);
  await sleep(500); // time for anything the page would load on its own
  return { button: [...document.querySelectorAll("#info button")].some((x) => x.textContent === "Play as HLS"),
    scripts: [...document.scripts].map((s) => s.src), violations: cspViolations };
})()`

// playAsHLS clicks "Play as HLS" and waits for the video to play 1 s from
// a MediaSource (hls.js).
const playAsHLS = `(async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const v = document.getElementById("video");
  const b = [...document.querySelectorAll("#info button")].find((x) => x.textContent === "Play as HLS");
  v.muted = true;
  b.click();
  for (let i = 0; i < 3000 && !(v.currentSrc.startsWith("blob:") && v.currentTime > 1); i++) {
    if (v.error) throw new Error("media error " + v.error.code);
    await sleep(20);
  }
  return { src: v.currentSrc, played: v.currentTime, scripts: [...document.scripts].map((s) => s.src),
    violations: cspViolations, error: document.getElementById("info").textContent };
})()`

// TestPageLoadsHLSJSFromOperatorURL: in a browser without native HLS, the
// player page offers "Play as HLS" only with packaging.hls_player_url set;
// then it loads hls.js (pinned, from npm, served by the test from another
// origin) from that URL on the click and no sooner, and plays the file's
// /hls/ master with it. Without the key it loads no player script.
func TestPageLoadsHLSJSFromOperatorURL(t *testing.T) {
	js := playerPath(t, hlsjs)
	var scriptHits atomic.Int64
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scriptHits.Add(1)
		if r.URL.Path != "/npm/hls.js@1.6.13/dist/hls.min.js" {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, js)
	}))
	defer cdn.Close()
	playerURL := cdn.URL + "/npm/hls.js@1.6.13/dist/hls.min.js"
	bctx := newBrowser(t)

	for _, set := range []bool{false, true} {
		name := map[bool]string{false: "unset", true: "set"}[set]
		t.Run(name, func(t *testing.T) {
			scriptHits.Store(0)
			srv := newPlayerServerWith(t, "none.js", "/dev/null", "", func(c *config.Config) {
				if set {
					c.Packaging.HLSPlayerURL = playerURL
				}
			})
			ctx, cancel := chromedp.NewContext(bctx)
			defer cancel()
			ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
			defer cancel()
			err := chromedp.Do(ctx, chromedp.Sleep(0)) // makes the tab
			if err == nil {
				_, err = chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: noNativeHLS})
			}
			if err == nil {
				err = chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/#title/a.mp4"))
			}
			if err != nil {
				t.Fatalf("open page: %v", err)
			}
			st, err := chromedp.Run(ctx, chromedp.Evaluate[pageState](pageLoaded, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("loaded: %+v", st)
			if st.Button != set {
				t.Errorf("Play as HLS offered: %v, want %v", st.Button, set)
			}
			if n := scriptHits.Load(); n != 0 || len(st.Scripts) != 2 {
				t.Errorf("before any click the page loaded scripts %q (%d from the player URL), want only app.js and previews.js", st.Scripts, n)
			}
			if len(st.Violations) != 0 {
				t.Errorf("CSP violations: %q", st.Violations)
			}
			if !set {
				return
			}
			type played struct {
				pageState
				Error string `json:"error"`
			}
			res, err := chromedp.Run(ctx, chromedp.Evaluate[played](playAsHLS, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("after Play as HLS: %+v; requests: %d to the player URL, %d under /hls/title/a.mp4/, %d segments",
				res, scriptHits.Load(), srv.count("/hls/title/a.mp4/"), srv.count("/hls/title/a.mp4/seg-"))
			if !strings.HasPrefix(res.Src, "blob:") || res.Played <= 1 {
				t.Errorf("after Play as HLS: src %q, played to %.2f s (%s), want hls.js's MediaSource playing past 1 s", res.Src, res.Played, res.Error)
			}
			if n := scriptHits.Load(); n != 1 || !containsStr(res.Scripts, playerURL) {
				t.Errorf("player URL fetched %d times, page scripts %q: want hls.js from %s once", n, res.Scripts, playerURL)
			}
			if srv.count("/hls/title/a.mp4/master.m3u8") == 0 || srv.count("/hls/title/a.mp4/seg-") == 0 {
				t.Errorf("no master playlist or segment requested under /hls/title/a.mp4/ (%d requests there)", srv.count("/hls/title/a.mp4/"))
			}
			if len(res.Violations) != 0 {
				t.Errorf("CSP violations: %q", res.Violations)
			}
		})
	}
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
