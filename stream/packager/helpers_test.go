package packager_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/internal/cachetest"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testlog"
	"github.com/reelcache/reelcache/stream"
	"github.com/reelcache/reelcache/stream/mp4index"
	"github.com/reelcache/reelcache/stream/packager"
)

func TestMain(m *testing.M) {
	redistest.Main(m, func() {
		if media.dir != "" {
			os.RemoveAll(media.dir)
		}
	})
}

// server is reelcache's media handler and packager on a real Echo behind a
// real listener, over a media directory and a real redis-server.
type server struct {
	dir   string
	redis *redistest.Server
	cache *chunker.Cache
	srv   *httptest.Server
	logs  *testlog.Buffer
}

type serverOptions struct {
	signer *stream.Signer
	origin chunker.Origin // default: the directory
	cors   []string       // stream.Options.CORSOrigins
	group  bool           // packager.Options.AudioGroup
}

func newServer(t testing.TB, dir string, o serverOptions) *server {
	t.Helper()
	s := &server{dir: dir, logs: &testlog.Buffer{}}
	log := slog.New(slog.NewTextHandler(s.logs, nil))
	s.redis = redistest.Start(t)
	s.cache = cachetest.New(t, dir, s.redis, chunker.Options{Origin: o.origin, ChunkSize: 64 << 10, Fill: chunker.FillSync, Logger: log},
		store.Options{Logger: log})
	h, err := stream.New(stream.Options{Files: s.cache, Logger: log, Signer: o.signer, Packaged: packager.DefaultExtensions, CORSOrigins: o.cors})
	if err != nil {
		t.Fatal(err)
	}
	p, err := packager.New(packager.Options{
		Files: s.cache, Loader: mp4index.NewLoader(s.cache, mp4index.LoaderOptions{}),
		Signer: o.signer, Logger: log, Count: h.Count, AudioGroup: o.group,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	p.Register(e, h.MediaMiddleware())
	h.Register(e)
	s.srv = httptest.NewServer(e)
	t.Cleanup(s.srv.Close)
	return s
}

// get fetches a URL and returns its status and body.
func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return res.StatusCode, b
}

// media is the test media, made once per test binary by ffmpeg.
var media struct {
	once sync.Once
	dir  string
	err  error
}

// testMedia returns a directory holding, made by ffmpeg: title/a.mp4 (20 s
// of 320x180 H.264 with B-frames and AAC, a keyframe every 2 s),
// title/b.mp4 (the same at 160x90), end.mp4 (a.mp4 with its moov after
// mdat), frag.mp4 (a.mp4 as fragmented MP4, moof per keyframe),
// clip.webm (VP9) and hevc.mp4 (6 s of H.265 with B-frames, no audio).
func testMedia(t testing.TB) string {
	t.Helper()
	redistest.Require(t, "ffmpeg")
	media.once.Do(func() {
		dir, err := os.MkdirTemp("", "packager-media-")
		if err != nil {
			media.err = err
			return
		}
		media.dir = dir
		os.MkdirAll(filepath.Join(dir, "title"), 0o755)
		src := []string{"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "20"}
		x264 := []string{"-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", "48", "-keyint_min", "48", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k"}
		jobs := [][]string{
			append(append(append([]string{}, src...), x264...), "-movflags", "+faststart", filepath.Join(dir, "title", "a.mp4")),
			append(append(append([]string{}, src...), "-vf", "scale=160:90"), append(x264, "-b:v", "100k", filepath.Join(dir, "title", "b.mp4"))...),
			{"-i", filepath.Join(dir, "title", "a.mp4"), "-c", "copy", filepath.Join(dir, "end.mp4")},
			{"-i", filepath.Join(dir, "title", "a.mp4"), "-c", "copy", "-movflags", "+frag_keyframe+empty_moov+default_base_moof", filepath.Join(dir, "frag.mp4")},
			{"-f", "lavfi", "-i", "testsrc2=size=160x90:rate=24", "-t", "2", "-c:v", "libvpx-vp9", "-deadline", "realtime", filepath.Join(dir, "clip.webm")},
			{"-f", "lavfi", "-i", "testsrc2=size=160x90:rate=24", "-t", "6", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "keyint=24:min-keyint=24:bframes=2:log-level=error",
				"-tag:v", "hvc1", "-pix_fmt", "yuv420p", filepath.Join(dir, "hevc.mp4")},
		}
		for _, args := range jobs {
			cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				media.err = &ffmpegError{args, err, string(out)}
				return
			}
		}
	})
	if media.err != nil {
		t.Fatal(media.err)
	}
	return media.dir
}

type ffmpegError struct {
	args []string
	err  error
	out  string
}

func (e *ffmpegError) Error() string {
	return "ffmpeg " + strings.Join(e.args, " ") + ": " + e.err.Error() + ": " + e.out
}

// frameHashes decodes stream spec (v:0 or a:0) of input with ffmpeg and
// returns the MD5 of every decoded frame, in order (framemd5's hash
// column only: timestamps may legitimately differ).
func frameHashes(t *testing.T, input, spec string, extra ...string) []string {
	t.Helper()
	args := append([]string{"-hide_banner", "-loglevel", "error"}, extra...)
	args = append(args, "-i", input, "-map", "0:"+spec, "-f", "framemd5", "-")
	var stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	var hashes []string
	for line := range strings.SplitSeq(string(out), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, ",")
		hashes = append(hashes, strings.TrimSpace(f[len(f)-1]))
	}
	return hashes
}
