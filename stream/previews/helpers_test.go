package previews

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/internal/cachetest"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testlog"
	"github.com/reelcache/reelcache/internal/testmedia"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// instance is one reelcache instance's previews: a cache over dir on a
// real Redis, the Handler, its metrics, behind a real listener.
type instance struct {
	cache *chunker.Cache
	h     *Handler
	reg   *prometheus.Registry
	srv   *httptest.Server
	logs  *testlog.Buffer
}

// newInstance starts an instance over the media directory dir, on the
// Redis rs (nil: the cache off).
func newInstance(t *testing.T, dir string, rs *redistest.Server, mod func(*Options)) *instance {
	t.Helper()
	redistest.Require(t, "ffmpeg")
	redistest.Require(t, "ffprobe")
	in := &instance{reg: prometheus.NewRegistry(), logs: &testlog.Buffer{}}
	log := slog.New(slog.NewTextHandler(in.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	in.cache = cachetest.New(t, dir, rs, chunker.Options{Logger: log}, store.Options{WriteTimeout: 10 * time.Second, Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	o := Options{Files: in.cache, Registerer: in.reg, Logger: log, Wait: 2 * time.Minute, Timeout: 5 * time.Minute}
	if mod != nil {
		mod(&o)
	}
	var err error
	if in.h, err = New(ctx, o); err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	in.h.Register(e)
	in.srv = httptest.NewServer(e)
	t.Cleanup(in.srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("instance log:\n%s", in.logs.String())
		}
	})
	return in
}

// get fetches path from the instance and returns the status and body.
func (in *instance) get(t *testing.T, path string) (int, http.Header, []byte) {
	t.Helper()
	res, err := http.Get(in.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, b
}

// jobs returns how many jobs of the instance ended with result.
func (in *instance) jobs(result string) int {
	return int(testutil.ToFloat64(in.h.metrics.jobs.WithLabelValues(result)))
}

// makeVideo writes a testsrc2 video (the picture changes with time: moving
// bars and the time written on it) of seconds at 10 fps, 320x180, a keyframe
// every gop frames, with AAC audio, to path. extra go before the output.
func makeVideo(t *testing.T, path string, seconds, gop int, extra ...string) {
	t.Helper()
	args := []string{"-v", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=320x180:rate=10:duration=%d", seconds),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=d=%d", seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-g", strconv.Itoa(gop), "-keyint_min", strconv.Itoa(gop), "-sc_threshold", "0",
		"-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"}
	args = append(append(args, extra...), path)
	ffmpeg(t, args...)
}

// ffmpeg runs ffmpeg with args and returns its standard output.
func ffmpeg(t *testing.T, args ...string) []byte {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command("ffmpeg", args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, errb.String())
	}
	return out.Bytes()
}

// tileRGB crops the tile at x, y (w x h) out of a JPEG sprite, as RGB.
func tileRGB(t *testing.T, sprite []byte, x, y, w, h int) []byte {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(sprite))
	if err != nil {
		t.Fatalf("sprite: %v", err)
	}
	return testmedia.Crop(t, img, x, y, w, h)
}

// cue is one WebVTT cue of a previews file.
type cue struct {
	start, end float64
	url        string // the sprite's URL, without the fragment
	x, y, w, h int
}

var cueRE = regexp.MustCompile(`(?m)^(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$`)

// parseVTT returns the cues of a WebVTT file, failing the test unless it
// starts with the WEBVTT line.
func parseVTT(t *testing.T, b []byte) []cue {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("WEBVTT\n")) {
		t.Fatalf("not a WebVTT file: %.80q", b)
	}
	var out []cue
	for _, m := range cueRE.FindAllStringSubmatch(string(b), -1) {
		n := make([]int, len(m))
		for i := 1; i < len(m); i++ {
			if i != 9 {
				n[i], _ = strconv.Atoi(m[i])
			}
		}
		sec := func(i int) float64 {
			return float64(n[i]*3600+n[i+1]*60+n[i+2]) + float64(n[i+3])/1000
		}
		out = append(out, cue{start: sec(1), end: sec(5), url: m[9], x: n[10], y: n[11], w: n[12], h: n[13]})
	}
	return out
}

// copyFile copies a file from testdata.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
