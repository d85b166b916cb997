package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// previewState is what the page shows above its seek bar.
type previewState struct {
	Hidden     bool    `json:"hidden"`
	TileHidden bool    `json:"tileHidden"`
	Image      string  `json:"image"`
	Position   string  `json:"position"`
	Time       float64 `json:"time"`
	Text       string  `json:"text"`
	X, Y       float64 // the tile's place in the viewport, border included
	DPR        float64 // device pixels per CSS pixel
}

const readPreview = `(() => {
  const p = document.getElementById("preview"), tile = document.getElementById("preview-tile");
  return { hidden: p.hidden, tileHidden: tile.hidden, image: getComputedStyle(tile).backgroundImage,
    position: tile.style.backgroundPosition, time: parseFloat(p.dataset.time || "-1"),
    text: document.getElementById("preview-time").textContent,
    X: tile.getBoundingClientRect().left, Y: tile.getBoundingClientRect().top, DPR: devicePixelRatio };
})()`

// TestBrowserSeekPreviews: in headless Chromium, hovering the player's seek
// bar at 25%, 50% and 75% shows the tile of that time (the sprite and offset
// of the WebVTT cue, and a picture closer to the video's frame at that time
// than to the frame 30 s away), with the time; a file without previews (a
// WebM) shows the time alone.
func TestBrowserSeekPreviews(t *testing.T) {
	ffmpegPath := redistest.Require(t, "ffmpeg")
	media := t.TempDir()
	clip := filepath.Join(media, "clip.mp4")
	out, err := exec.Command(ffmpegPath, "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=10:duration=90",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p", "-movflags", "+faststart", clip).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	testmedia.Write(t, media, "sample.webm", testmedia.Sample(t, "sample.webm"))
	rs := redistest.Start(t)
	s := startServe(t, "--media-root", media, "--redis-url", rs.URL(), "--previews-wait", "2m")
	code, _, body := httpGet(t, s.url+"/previews/clip.mp4.vtt")
	if code != http.StatusOK {
		t.Fatalf("GET the clip's previews: %d %s", code, body)
	}
	vtt := string(body)
	cues := regexp.MustCompile(`(?m)^(\S+)#xywh=(\d+),(\d+),160,90$`).FindAllStringSubmatch(vtt, -1)
	if len(cues) != 90 {
		t.Fatalf("%d cues of 160x90 tiles in:\n%.300s", len(cues), vtt)
	}

	ctx, _ := openTabFor(t, newBrowser(t), s.url+"/#clip.mp4", true, 90*time.Second)
	ready, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("seek").dataset.previews === "ready" && isFinite(document.getElementById("video").duration)`,
		chromedp.WithPollingTimeout(60*time.Second)))
	if err != nil || !ready {
		t.Fatalf("page never had the clip's previews: %v", err)
	}
	dir := t.TempDir()
	if d := os.Getenv("SEEK_PREVIEW_SHOTS"); d != "" {
		dir = d
	}
	for _, f := range []float64{0.25, 0.5, 0.75} {
		st, tile := hoverSeek(t, ctx, f)
		sec := f * 90
		if st.Hidden || st.TileHidden {
			t.Fatalf("%.0f%%: no preview shown: %+v", f*100, st)
		}
		if math.Abs(st.Time-sec) > 0.5 {
			t.Errorf("%.0f%%: preview for %.2fs, want about %.2fs", f*100, st.Time, sec)
		}
		k := int(st.Time) // the cue of the time under the pointer (a pixel's worth off f*90)
		want := cues[k]
		if !strings.Contains(st.Image, want[1]) {
			t.Errorf("%.0f%%: background %s, want the sprite %s", f*100, st.Image, want[1])
		}
		if wantPos := fmt.Sprintf("-%spx -%spx", want[2], want[3]); st.Position != wantPos {
			t.Errorf("%.0f%%: background position %q, want %q (cue %d)", f*100, st.Position, wantPos, k)
		}
		if st.Text != fmt.Sprintf("%d:%02d", int(st.Time)/60, int(st.Time)%60) {
			t.Errorf("%.0f%%: time shown %q for %.2fs", f*100, st.Text, st.Time)
		}
		// The pixels Chromium drew: the frame at the cue's time, not one 30 s away.
		far := k + 30
		if far >= 90 {
			far = k - 30
		}
		at, away := testmedia.PSNR(tile, testmedia.Frame(t, clip, float64(k), 160, 90)), testmedia.PSNR(tile, testmedia.Frame(t, clip, float64(far), 160, 90))
		t.Logf("%.0f%%: cue %d at %s, drawn tile PSNR %.1f dB to its frame, %.1f dB to the frame at %ds", f*100, k, st.Position, at, away, far)
		if at <= away {
			t.Errorf("%.0f%%: the drawn tile is no closer to the frame at %ds than to 30 s away", f*100, k)
		}
		if f == 0.5 {
			shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "seek-preview-50.png")
			if err := os.WriteFile(p, shot, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot of the preview at 50%%: %s", p)
		}
	}

	// Dragging from 25% to 60% shows the tile under the pointer and seeks
	// the video there.
	box, err := chromedp.Run(ctx, chromedp.Evaluate[struct{ X, Y, W, H float64 }](
		`(() => { const r = document.getElementById("seek").getBoundingClientRect(); return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`))
	if err != nil {
		t.Fatal(err)
	}
	y := box.Y + box.H/2
	err = chromedp.Do(ctx,
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, box.X+0.25*box.W, y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box.X+0.4*box.W, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box.X+0.6*box.W, y, chromedp.ButtonLeft),
	)
	if err != nil {
		t.Fatal(err)
	}
	dragged, err := chromedp.Run(ctx, chromedp.Evaluate[previewState](readPreview))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, box.X+0.6*box.W, y, chromedp.ButtonLeft, chromedp.ClickCount(1))); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("-%spx -%spx", cues[int(dragged.Time)][2], cues[int(dragged.Time)][3]); dragged.Hidden || dragged.Position != want || math.Abs(dragged.Time-54) > 0.5 {
		t.Errorf("dragging to 60%%: %+v, want the tile at %s for 54 s", dragged, want)
	}
	at, err := chromedp.Run(ctx, chromedp.Poll[float64](`(() => { const v = document.getElementById("video"); return v.seeking ? 0 : v.currentTime; })()`,
		chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil || math.Abs(at-dragged.Time) > 0.2 {
		t.Errorf("after dragging to 60%%: the video is at %.2fs (%v), want %.2fs", at, err, dragged.Time)
	}

	// A WebM has no previews (422): the time alone, no tile, no error.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/#sample.webm")); err != nil {
		t.Fatal(err)
	}
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("seek").dataset.previews === "none" && isFinite(document.getElementById("video").duration)`,
		chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := hoverSeek(t, ctx, 0.5)
	if st.Hidden || !st.TileHidden || st.Text == "" {
		t.Errorf("WebM at 50%%: %+v, want the time alone", st)
	}
}

// hoverSeek moves the mouse over the seek bar at fraction f of its width
// and returns what the page shows, with the tile's pixels as RGB.
func hoverSeek(t *testing.T, ctx context.Context, f float64) (previewState, []byte) {
	t.Helper()
	box, err := chromedp.Run(ctx, chromedp.Evaluate[struct{ X, Y, W, H float64 }](
		`(() => { const r = document.getElementById("seek").getBoundingClientRect(); return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`))
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box.X+f*box.W, box.Y+box.H/2))
	if err != nil {
		t.Fatal(err)
	}
	// Until the shown sprite has loaded (a resource timing entry), then a
	// frame more for it to be drawn.
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`(() => {
	  const tile = document.getElementById("preview-tile");
	  if (tile.hidden) return true;
	  const u = (tile.style.backgroundImage.match(/url\("(.*)"\)/) || [])[1];
	  return !!u && performance.getEntriesByType("resource").some((e) => e.name === u && e.responseEnd > 0);
	})()`, chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatalf("%.0f%%: the tile's sprite never loaded: %v", f*100, err)
	}
	if err := chromedp.Do(ctx, chromedp.Sleep(200*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	st, err := chromedp.Run(ctx, chromedp.Evaluate[previewState](readPreview))
	if err != nil {
		t.Fatal(err)
	}
	if st.TileHidden {
		return st, nil
	}
	// The whole viewport, as shown (an element screenshot may scroll, and
	// the pointer would leave the bar).
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if st.DPR != 1 {
		t.Fatalf("device pixel ratio %g, want 1", st.DPR)
	}
	return st, tileFromShot(t, shot, int(math.Round(st.X))+2, int(math.Round(st.Y))+2)
}

// tileFromShot returns the 160x90 picture at x0, y0 of a screenshot.
func tileFromShot(t *testing.T, b []byte, x0, y0 int) []byte {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return testmedia.Crop(t, img, x0, y0, 160, 90)
}

// TestWarmPreviews: `warm --previews` makes previews after warming, so a
// warmed file's job reads nothing from the origin, MP4 with its moov at the
// end included; `cache status` says which files have them, and a purge
// removes them with the chunks. A WebM gets a stored negative result.
func TestWarmPreviews(t *testing.T) {
	redistest.Require(t, "ffmpeg")
	rs := redistest.Start(t)
	cli := cacheCLI(t, "--media-root", testmedia.SamplesDir(t), "--redis-url", rs.URL())
	out, err := cli("warm", "--previews", "sample-moov-at-end.mp4", "sample-faststart.mp4")
	if err != nil {
		t.Fatalf("warm --previews: %v\n%s", err, out)
	}
	for _, name := range []string{"sample-moov-at-end.mp4", "sample-faststart.mp4"} {
		if !regexp.MustCompile(`(?m)^previews: ` + regexp.QuoteMeta(name) + `: \d+ tiles every 1s, [\d.]+ [KM]iB read \(0 B from the origin\)`).MatchString(out) {
			t.Errorf("warm --previews: no line saying %s's previews read nothing from the origin:\n%s", name, out)
		}
	}
	t.Logf("warm --previews:\n%s", out)
	out, err = cli("warm", "--previews", "sample.webm")
	if err == nil || !strings.Contains(out, "previews: sample.webm: none: previews are made of MP4 and MOV files") {
		t.Errorf("warm --previews of a WebM: %v\n%s", err, out)
	}
	out, err = cli("cache", "status")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`sample-faststart\.mp4 .* previews: yes \(\d+ tiles\)`, `sample-moov-at-end\.mp4 .* previews: yes`, `sample\.webm .* previews: none: previews are made of MP4`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("cache status: no line matching %s:\n%s", want, out)
		}
	}
	if out, err := cli("cache", "purge", "sample-faststart.mp4"); err != nil {
		t.Fatalf("purge: %v\n%s", err, out)
	}
	out, _ = cli("cache", "status", "sample-faststart.mp4")
	if !strings.Contains(out, "previews: no") {
		t.Errorf("cache status after a purge:\n%s", out)
	}
}
