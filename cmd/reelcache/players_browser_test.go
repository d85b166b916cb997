package main

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/reelcache/reelcache/internal/redistest"
)

// The players scripts/deps.sh installs from npm into a cache directory
// (never copied into the repository), and the file of each the tests load.
const (
	hlsjs  = "hls.js@1.6.13:dist/hls.min.js"
	dashjs = "dashjs@4.7.4:dist/dash.all.min.js"
)

// playerPath returns the script of a player (hlsjs, dashjs) as
// scripts/deps.sh installs it, skipping the test when it is missing or of
// another version (failing it under CI=true).
func playerPath(t *testing.T, player string) string {
	t.Helper()
	dir := os.Getenv("REELCACHE_PLAYERS_DIR")
	if dir == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache")
		}
		dir = filepath.Join(cache, "reelcache", "players")
	}
	pkg, file, _ := strings.Cut(player, ":")
	name, version, _ := strings.Cut(pkg, "@")
	meta, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
	p := filepath.Join(dir, "node_modules", name, file)
	if _, err2 := os.Stat(p); err != nil || err2 != nil || !strings.Contains(string(meta), `"version": "`+version+`"`) {
		msg := pkg + " not installed in " + dir + ": run scripts/deps.sh players"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// makeRenditions makes two renditions of one 20 s title with ffmpeg
// (H.264 with B-frames and a keyframe every 2 s, AAC): title/a.mp4 at
// 320x180 and title/b.mp4 at 160x90.
func makeRenditions(t *testing.T) string {
	t.Helper()
	redistest.Require(t, "ffmpeg")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "title"), 0o755)
	for _, r := range []struct{ name, scale string }{{"a.mp4", "320:180"}, {"b.mp4", "160:90"}} {
		cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
			"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "20",
			"-vf", "scale="+r.scale, "-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", "48", "-keyint_min", "48", "-sc_threshold", "0",
			"-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", filepath.Join(dir, "title", r.name))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %s: %v: %s", r.name, err, out)
		}
	}
	return dir
}

// hlsPage is the test's player page: hls.js on a <video>, the source in
// the fragment.
const hlsPage = `<!doctype html><meta charset="utf-8"><video id="video" width="320" height="180" muted></video>
<script src="/test/hls.min.js"></script>
<script>
const v = document.getElementById("video");
window.hls = new Hls({ capLevelToPlayerSize: false });
hls.loadSource(decodeURIComponent(location.hash.slice(1)));
hls.attachMedia(v);
window.hlsErrors = [];
hls.on(Hls.Events.ERROR, (e, d) => { if (d.fatal) hlsErrors.push(d.type + ": " + d.details); });
</script>`

// playerScript is run in a player's page (with the player's fatal errors
// collected in hlsErrors): wait until ready holds, play, seek to three
// positions (each must land within 0.5 s and then play on: frames
// advancing), run more (which may add to out) and return out, which
// starts as init.
func playerScript(player, ready, what, init, more string) string {
	fail := `(hlsErrors.length && "` + player + `: " + hlsErrors.join("; ")) || (v.error && "media error " + v.error.code)`
	body := `  await until(() => ` + ready + `, 20000, "` + what + `");
  v.muted = true;
  await v.play();
  const t0 = v.currentTime;
  await until(() => v.currentTime >= t0 + 1, 20000, "playback to advance 1 s");
  const out = ` + init + `;
  for (const target of [4.5, 13.2, 17.0]) {
    let landed = -1;
    const seeked = new Promise((res) => v.addEventListener("seeked", () => { landed = v.currentTime; res(); }, { once: true }));
    v.currentTime = target;
    await Promise.race([seeked, sleep(20000)]);
    if (landed < 0) throw new Error("no seeked event for " + target);
    await until(() => v.currentTime >= landed + 0.3, 20000, "frames to advance after the seek to " + target);
    out.seeks.push({ target, landed, after: v.currentTime });
  }
` + more + `  return out;
`
	return videoAsync(fail, body)
}

// hlsPlay: play, seek to three positions, then switch to the other
// rendition and keep playing.
var hlsPlay = playerScript("hls.js", "hls.levels && hls.levels.length > 0 && v.readyState >= 1", "manifest and metadata",
	"{ levels: hls.levels.length, audioTracks: hls.audioTracks.length, duration: v.duration, seeks: [] }", `  const from = hls.currentLevel;
  const to = from === 0 ? 1 : 0;
  const switched = new Promise((res) => hls.on(Hls.Events.LEVEL_SWITCHED, (e, d) => { if (d.level === to) res(); }));
  v.currentTime = 2;
  hls.currentLevel = to;
  await Promise.race([switched, sleep(20000)]);
  out.level = hls.currentLevel;
  const t1 = v.currentTime;
  await until(() => v.currentTime >= t1 + 1, 20000, "playback after the switch");
  out.from = from;
  out.to = to;
`)

type hlsResult struct {
	Levels      int     `json:"levels"`
	AudioTracks int     `json:"audioTracks"`
	Duration    float64 `json:"duration"`
	Seeks       []struct {
		Target, Landed, After float64
	} `json:"seeks"`
	From  int `json:"from"`
	To    int `json:"to"`
	Level int `json:"level"`
}

// TestHLSJSPlaysSeeksSwitches: hls.js (pinned, from npm) in headless
// Chromium plays the packager's master playlist of a two-rendition title
// served by the whole app over Redis, seeks to three positions and
// switches renditions; with audio muxed and as a rendition group.
func TestHLSJSPlaysSeeksSwitches(t *testing.T) {
	js := playerPath(t, hlsjs)
	for _, audio := range []string{"muxed", "group"} {
		t.Run(audio, func(t *testing.T) { hlsjsPlays(t, js, audio) })
	}
}

// hlsjsPlays is TestHLSJSPlaysSeeksSwitches with packaging.hls_audio set
// to audio.
func hlsjsPlays(t *testing.T, js, audio string) {
	srv := newPlayerServer(t, "hls.min.js", js, hlsPage, audio)
	res := playPackaged(t, srv, "hls.js", "/hls/title/master.m3u8", hlsPlay)
	if res.Levels != 2 {
		t.Errorf("hls.js saw %d renditions, want 2", res.Levels)
	}
	if want := map[string]int{"muxed": 0, "group": 1}[audio]; res.AudioTracks != want {
		t.Errorf("hls.js saw %d audio renditions, want %d", res.AudioTracks, want)
	}
	if res.Level != res.To {
		t.Errorf("switched to level %d, want %d", res.Level, res.To)
	}
}

// playPackaged opens the test's player page on srv with path (the
// packaged title's manifest) in its fragment, in a new browser, runs
// script (a playerScript) there for up to 3 minutes and checks what every
// player must do: a 20 s duration and three seeks, each landing within
// 0.5 s of its target.
func playPackaged(t *testing.T, srv *playerServer, player, path, script string) hlsResult {
	t.Helper()
	ctx, _ := openTabFor(t, newBrowser(t), srv.URL+"/test/player.html#"+path, true, 3*time.Minute)
	res, err := chromedp.Run(ctx, chromedp.Evaluate[hlsResult](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", player, err)
	}
	t.Logf("%s: %+v", player, res)
	if math.Abs(res.Duration-20) > 0.5 {
		t.Errorf("duration %.3f, want 20", res.Duration)
	}
	if len(res.Seeks) != 3 {
		t.Fatalf("%d seeks", len(res.Seeks))
	}
	for _, s := range res.Seeks {
		if math.Abs(s.Landed-s.Target) > 0.5 {
			t.Errorf("seek to %.2f landed at %.2f", s.Target, s.Landed)
		}
	}
	return res
}

// dashPage is the test's DASH page: dash.js on a <video>, the MPD in the
// fragment.
const dashPage = `<!doctype html><meta charset="utf-8"><video id="video" width="320" height="180" muted></video>
<script src="/test/dash.all.min.js"></script>
<script>
const v = document.getElementById("video");
window.hlsErrors = [];
window.player = dashjs.MediaPlayer().create();
player.on(dashjs.MediaPlayer.events.ERROR, (e) => hlsErrors.push(JSON.stringify(e.error)));
player.initialize(v, decodeURIComponent(location.hash.slice(1)), false);
</script>`

// dashPlay: play, then seek to three positions, each landing within 0.5 s
// and playing on.
var dashPlay = playerScript("dash.js", "v.readyState >= 1", "metadata", "{ duration: v.duration, seeks: [] }", "")

// TestDashJSPlaysAndSeeks: dash.js (pinned, from npm) in headless Chromium
// plays the packager's MPD of a two-rendition title and seeks to three
// positions.
func TestDashJSPlaysAndSeeks(t *testing.T) {
	js := playerPath(t, dashjs)
	srv := newPlayerServer(t, "dash.all.min.js", js, dashPage)
	playPackaged(t, srv, "dash.js", "/dash/title/manifest.mpd", dashPlay)
}

// TestPageOffersNativeHLS: where the browser plays HLS natively (Debian's
// Chromium 156 does), the player page offers "Play as HLS" for an MP4, and
// the video then plays from /hls/.
func TestPageOffersNativeHLS(t *testing.T) {
	srv := newPlayerServer(t, "none.js", "/dev/null", "")
	ctx, _ := openTabFor(t, newBrowser(t), srv.URL+"/#title/a.mp4", true, 2*time.Minute)
	native, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.createElement("video").canPlayType("application/vnd.apple.mpegurl")`))
	if err != nil {
		t.Fatal(err)
	}
	if native == "" {
		t.Skip("this Chromium does not play HLS natively: the page offers no HLS")
	}
	type result struct {
		Src    string  `json:"src"`
		Played float64 `json:"played"`
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[result](`(async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const v = document.getElementById("video");
  let b;
  for (let i = 0; i < 500 && !b; i++) { b = [...document.querySelectorAll("#info button")].find((x) => x.textContent === "Play as HLS"); await sleep(20); }
  if (!b) throw new Error("no Play as HLS button");
  v.muted = true;
  b.click();
  for (let i = 0; i < 1000 && !(v.currentSrc.includes("/hls/") && v.currentTime > 1); i++) await sleep(20);
  if (v.error) throw new Error("media error " + v.error.code);
  return { src: v.currentSrc, played: v.currentTime };
})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Src, "/hls/title/a.mp4/master.m3u8") || res.Played <= 1 {
		t.Errorf("after Play as HLS: src %q, played to %.2f s", res.Src, res.Played)
	}
}
