package main

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// edgeHit is one media or API response as the server saw it.
type edgeHit struct {
	path, exp string // exp: the URL's ?exp=, if any
	status    int
}

// edgeServer is the whole app (newApp) with the cache off, configured by
// mod, behind a real listener, recording every /media/ and /api/ response
// when its header is written (a paced body may stream for long after).
type edgeServer struct {
	url string
	hitLog[edgeHit]
}

func newEdgeServer(t *testing.T, mod func(*config.Config)) *edgeServer {
	t.Helper()
	cfg := &config.Config{
		Media:     config.Media{Root: testmedia.SamplesDir(t), Extensions: []string{"mp4", "webm"}},
		ChunkSize: 64 << 10,
		Cache:     config.Cache{Fill: "async"},
		Log:       config.Log{Level: "info", Format: "text"},
	}
	mod(cfg)
	a := testApp(t, cfg, slog.New(slog.DiscardHandler))
	s := &edgeServer{}
	a.echo.Use(s.record(func(c echo.Context) edgeHit {
		return edgeHit{c.Request().URL.Path, c.Request().URL.Query().Get("exp"), c.Response().Status}
	}, "/media/", "/api/"))
	srv := httptest.NewServer(a.echo)
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// crossOriginPage is a page of another site that plays a video of
// reelcache's in <video crossorigin="anonymous"> and draws a frame of it on
// a canvas, as a player on a site's main domain does with video from a
// media subdomain.
const crossOriginPage = `<!doctype html>
<html><body>
<video id="v" crossorigin="anonymous" muted playsinline preload="auto" src="%s"></video>
<canvas id="c" width="64" height="36"></canvas>
</body></html>`

// drawFrame is run in that page (a videoScript body): wait for the video,
// play, seek to the middle, draw the frame and read its pixels back.
const drawFrame = `
  const out = { error: 0, loaded: false, landed: -1, pixels: -1, canvasError: "" };
  out.loaded = await until(() => v.readyState >= 2, 10000);
  if (v.error || !out.loaded) { out.error = v.error ? v.error.code : -1; return out; }
  await v.play();
  const t0 = v.currentTime;
  await until(() => v.currentTime > t0 + 0.5, 10000);
  const target = v.duration / 2;
  const seeked = new Promise((res) => v.addEventListener("seeked", res, { once: true }));
  v.currentTime = target;
  await Promise.race([seeked, sleep(5000)]);
  await until(() => v.readyState >= 2, 5000);
  out.landed = v.currentTime;
  out.target = target;
  const c = document.getElementById("c").getContext("2d");
  c.drawImage(v, 0, 0, 64, 36);
  try {
    const d = c.getImageData(0, 0, 64, 36).data;
    let sum = 0;
    for (const x of d) sum += x;
    out.pixels = sum;
  } catch (e) {
    out.canvasError = e.name;
  }
`

type frameResult struct {
	Error       int     `json:"error"`
	Loaded      bool    `json:"loaded"`
	Landed      float64 `json:"landed"`
	Target      float64 `json:"target"`
	Pixels      float64 `json:"pixels"`
	CanvasError string  `json:"canvasError"`
}

// TestBrowserCORS: a page on another origin plays reelcache's video with
// crossorigin="anonymous", seeks, and reads a frame's pixels from a canvas
// when http.cors.allowed_origins names that origin; with CORS off the same
// page fails as browsers make it fail (issue 16).
func TestBrowserCORS(t *testing.T) {
	var mediaURL string
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, crossOriginPage, mediaURL)
	}))
	defer page.Close()
	on := newEdgeServer(t, func(c *config.Config) { c.HTTP.CORSAllowedOrigins = []string{page.URL} })
	off := newEdgeServer(t, func(*config.Config) {})
	bctx := newBrowser(t)

	mediaURL = on.url + "/media/sample-faststart.mp4"
	tab, _ := openTab(t, bctx, page.URL+"/", false)
	res, err := chromedp.Run(tab, chromedp.Evaluate[frameResult](videoScript(drawFrame), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("CORS on: %+v", res)
	if res.Error != 0 || res.CanvasError != "" || res.Pixels <= 0 || math.Abs(res.Landed-res.Target) > 0.5 {
		t.Errorf("CORS on: %+v; want it to play, land within 0.5 s of %.2f and read the frame's pixels", res, res.Target)
	}
	ranged := 0
	for _, h := range on.hits() {
		if h.status == 206 {
			ranged++
		}
	}
	if ranged == 0 {
		t.Errorf("CORS on: no ranged responses: %v", on.hits())
	}

	mediaURL = off.url + "/media/sample-faststart.mp4"
	tab, _ = openTab(t, bctx, page.URL+"/", false)
	res, err = chromedp.Run(tab, chromedp.Evaluate[frameResult](videoScript(drawFrame), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("CORS off: %+v", res)
	if res.Error == 0 && res.CanvasError == "" {
		t.Errorf("CORS off: %+v; want the load or the canvas read to fail", res)
	}
}

// expirySeek is run in the player page, opened with a grant: play past the
// expiry of the media URL the page was given, then seek to 80% and wait to
// land there, playing. A media error does not end it (it counts them).
var expirySeek = videoAsync(`""`, `  let errors = 0;
  v.addEventListener("error", () => errors++);
  await until(() => v.currentSrc !== "" && v.readyState >= 1, 10000, "metadata");
  const src0 = v.currentSrc;
  const exp0 = +new URL(src0).searchParams.get("exp");
  v.muted = true;
  await v.play();
  await until(() => Date.now() / 1000 > exp0 + 1, 10000, "the URL to expire");
  const playedPastExpiry = v.currentTime;
  const errorsBeforeSeek = errors;
  const target = v.duration * 0.8;
  let landed = -1;
  v.addEventListener("seeked", () => { if (Math.abs(v.currentTime - target) <= 0.5) landed = v.currentTime; });
  v.currentTime = target;
  await until(() => landed >= 0 && v.readyState >= 2 && !v.paused, 15000, "landing after the seek");
  const t1 = v.currentTime;
  await until(() => v.currentTime > t1 + 0.3, 5000, "playback after the seek");
  const src1 = v.currentSrc, paused = v.paused;
  // Paused, the fresh URL expires too; a seek back lands, still paused.
  v.pause();
  const exp1 = +new URL(src1).searchParams.get("exp");
  await until(() => Date.now() / 1000 > exp1 + 1, 10000, "the fresh URL to expire");
  const target2 = v.duration * 0.3;
  let landed2 = -1;
  v.addEventListener("seeked", () => { if (Math.abs(v.currentTime - target2) <= 0.5) landed2 = v.currentTime; });
  v.currentTime = target2;
  await until(() => landed2 >= 0 && v.readyState >= 2, 15000, "landing after the paused seek");
  await sleep(500);
  return { exp0, src0, src1, src2: v.currentSrc, playedPastExpiry, errorsBeforeSeek, errors, target, landed, paused,
    target2, landed2, paused2: v.paused, t2: v.currentTime };
`)

type expiryResult struct {
	Exp0             int64   `json:"exp0"`
	Src0             string  `json:"src0"`
	Src1             string  `json:"src1"`
	PlayedPastExpiry float64 `json:"playedPastExpiry"`
	ErrorsBeforeSeek int     `json:"errorsBeforeSeek"`
	Errors           int     `json:"errors"`
	Target           float64 `json:"target"`
	Landed           float64 `json:"landed"`
	Paused           bool    `json:"paused"`
	Src2             string  `json:"src2"`
	Target2          float64 `json:"target2"`
	Landed2          float64 `json:"landed2"`
	Paused2          bool    `json:"paused2"`
	T2               float64 `json:"t2"`
}

// TestBrowserSignedURLExpiry: with media URLs that live 3 s, Chromium plays
// past their expiry on the player page (opened from a `reelcache sign
// --page` link), seeks after it, and lands within 0.5 s of the target,
// playing: the page noticed the 403, fetched a fresh URL with its grant and
// resumed (issue 16). Then, paused, past the fresh URL's expiry, a seek
// lands and stays paused. Rate shaping keeps the first response from carrying
// the whole file, so that the seek needs a new request.
func TestBrowserSignedURLExpiry(t *testing.T) {
	const key = "browser-test-key-0123456789"
	s := newEdgeServer(t, func(c *config.Config) {
		c.Auth.SigningKeys, c.Auth.URLTTL = []string{key}, 3*time.Second
		c.HTTP.LimitRate = 128 << 10 // about twice the sample's bitrate
	})
	var out strings.Builder
	err := run(t.Context(), []string{"sign", "--page", "--ttl", "1h", "--base", s.url, "--auth-signing-key", key,
		"--media-root", testmedia.SamplesDir(t), "sample-faststart.mp4"}, &out, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	link := strings.TrimSpace(out.String())
	bctx := newBrowser(t)
	tab, _ := openTab(t, bctx, link, false)
	res, err := chromedp.Run(tab, chromedp.Evaluate[expiryResult](expirySeek, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%v\nserver saw: %v", err, s.hits())
	}
	t.Logf("%+v", res)
	u0, _ := url.Parse(res.Src0)
	u1, _ := url.Parse(res.Src1)
	if res.PlayedPastExpiry < 1 || math.Abs(res.Landed-res.Target) > 0.5 || res.Paused {
		t.Errorf("played %.2f s until after the expiry, landed at %.2f for %.2f, paused %v", res.PlayedPastExpiry, res.Landed, res.Target, res.Paused)
	}
	if u1.Query().Get("exp") == u0.Query().Get("exp") {
		t.Errorf("the page still plays %s: no fresh URL", res.Src1)
	}
	if res.Src2 == res.Src1 || math.Abs(res.Landed2-res.Target2) > 0.5 || !res.Paused2 || math.Abs(res.T2-res.Landed2) > 0.01 {
		t.Errorf("paused seek after the second expiry: src %s, landed at %.2f for %.2f, paused %v, then at %.2f", res.Src2, res.Landed2, res.Target2, res.Paused2, res.T2)
	}
	var expired, after int
	for _, h := range s.hits() {
		if h.path != "/media/sample-faststart.mp4" {
			continue
		}
		switch {
		case h.status == 403:
			expired++
		case expired > 0 && h.status == 206 && h.exp != u0.Query().Get("exp"):
			after++
		}
	}
	if expired == 0 || after == 0 {
		t.Errorf("server saw %d 403s and %d ranges with a fresh URL after them: %v", expired, after, s.hits())
	}
}
