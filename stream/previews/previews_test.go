package previews

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// TestTilesShowTheirTime: for a video whose picture changes with time,
// each sampled cue's tile is closer (PSNR) to the source frame at the cue's
// time than to the frame 30 s away, both when keyframes are close enough to
// take the tiles from them and when every frame must be decoded.
func TestTilesShowTheirTime(t *testing.T) {
	for _, tc := range []struct {
		name      string
		gop       int  // frames at 10 fps
		keyframes bool // whether the tiles come from keyframes only
		extra     []string
	}{
		{"keyframes every second, faststart", 10, true, []string{"-movflags", "+faststart"}},
		{"keyframes every 10 s, moov at the end", 100, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			video := filepath.Join(dir, "clip.mp4")
			makeVideo(t, video, 90, tc.gop, tc.extra...)
			in := newInstance(t, dir, redistest.Start(t), nil)
			code, hdr, body := in.get(t, "/previews/clip.mp4.vtt")
			if code != http.StatusOK {
				t.Fatalf("GET vtt: %d %s", code, body)
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/vtt") {
				t.Errorf("Content-Type %q", ct)
			}
			cues := parseVTT(t, body)
			if len(cues) != 90 { // 90 s at the automatic interval, 1 s
				t.Fatalf("%d cues, want 90", len(cues))
			}
			if last := cues[len(cues)-1]; last.end != 90 {
				t.Errorf("last cue ends at %g, want 90", last.end)
			}
			res := in.h.lookup(t.Context(), versionOf(t, in, "clip.mp4"))
			if res == nil || res.Keyframe != tc.keyframes {
				t.Fatalf("result %+v: want Keyframe %v", res, tc.keyframes)
			}
			sprites := map[string][]byte{}
			for _, k := range []int{2, 17, 31, 44, 58, 73, 88} {
				c := cues[k]
				if c.start != float64(k) || c.end != float64(k+1) {
					t.Fatalf("cue %d: %g --> %g", k, c.start, c.end)
				}
				if sprites[c.url] == nil {
					code, hdr, b := in.get(t, c.url)
					if code != http.StatusOK || hdr.Get("Content-Type") != "image/jpeg" {
						t.Fatalf("GET %s: %d %s", c.url, code, hdr.Get("Content-Type"))
					}
					if cc := hdr.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
						t.Errorf("sprite Cache-Control %q", cc)
					}
					sprites[c.url] = b
				}
				tile := tileRGB(t, sprites[c.url], c.x, c.y, c.w, c.h)
				far := c.start + 30
				if far >= 90 {
					far = c.start - 30
				}
				at, away := testmedia.PSNR(tile, testmedia.Frame(t, video, c.start, c.w, c.h)), testmedia.PSNR(tile, testmedia.Frame(t, video, far, c.w, c.h))
				t.Logf("cue %d (%gs): PSNR %.1f dB to its frame, %.1f dB to the frame at %gs", k, c.start, at, away, far)
				if at <= away {
					t.Errorf("cue %d: the tile is no closer to the frame at %gs (%.1f dB) than to %gs (%.1f dB)", k, c.start, at, far, away)
				}
			}
		})
	}
}

// versionOf returns the current version of name.
func versionOf(t *testing.T, in *instance, name string) string {
	t.Helper()
	f, err := in.cache.Open(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return f.Version()
}

// TestOneJobAcrossInstances: two instances on one Redis, asked at once,
// run one ffmpeg job between them and answer the same WebVTT file; a file
// replaced by a rename gets new previews, and the old sprite URLs go.
func TestOneJobAcrossInstances(t *testing.T) {
	dir := t.TempDir()
	makeVideo(t, filepath.Join(dir, "a.mp4"), 40, 10)
	rs := redistest.Start(t)
	a, b := newInstance(t, dir, rs, nil), newInstance(t, dir, rs, nil)
	var wg sync.WaitGroup
	bodies := make([]string, 4)
	for i := range bodies {
		wg.Go(func() {
			in := a
			if i%2 == 1 {
				in = b
			}
			code, _, body := in.get(t, "/previews/a.mp4.vtt")
			if code != http.StatusOK {
				t.Errorf("request %d: %d %s", i, code, body)
			}
			bodies[i] = string(body)
		})
	}
	wg.Wait()
	if jobs := a.jobs("ok") + b.jobs("ok"); jobs != 1 {
		t.Fatalf("%d jobs ran (a %d, b %d), want 1", jobs, a.jobs("ok"), b.jobs("ok"))
	}
	for i := range bodies {
		if bodies[i] != bodies[0] {
			t.Fatalf("answers differ:\n%.200s\n%.200s", bodies[0], bodies[i])
		}
	}
	old := parseVTT(t, []byte(bodies[0]))
	if len(old) != 40 {
		t.Fatalf("%d cues, want 40", len(old))
	}

	// Replace a.mp4 by a rename: a different, shorter video.
	tmp := filepath.Join(t.TempDir(), "new.mp4")
	makeVideo(t, tmp, 25, 10)
	if err := os.Rename(tmp, filepath.Join(dir, "a.mp4")); err != nil {
		t.Fatal(err)
	}
	code, _, body := b.get(t, "/previews/a.mp4.vtt")
	if code != http.StatusOK {
		t.Fatalf("after the rename: %d %s", code, body)
	}
	if cues := parseVTT(t, body); len(cues) != 25 || cues[0].url == old[0].url {
		t.Fatalf("after the rename: %d cues at %s, want 25 at a new URL (old %s)", len(cues), cues[0].url, old[0].url)
	}
	if code, _, _ := a.get(t, old[0].url); code != http.StatusNotFound {
		t.Errorf("old sprite URL after the rename: %d, want 404", code)
	}
	if n := a.jobs("ok") + b.jobs("ok"); n != 2 {
		t.Errorf("%d jobs in all, want 2", n)
	}
}

// TestBadInputs: files that can have no previews get a clear error (422,
// the reason in the body), stored like a result: asking again, or asking
// another instance on the same Redis, runs no new job.
func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	makeVideo(t, filepath.Join(dir, "good.mp4"), 30, 10)
	good, err := os.ReadFile(filepath.Join(dir, "good.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("empty.mp4", nil)
	write("truncated.mp4", good[:len(good)/2]) // moov at the end: cut off
	write("garbage.mp4", []byte(strings.Repeat("not a video ", 10000)))
	copyFile(t, "../../testdata/media/sample.webm", filepath.Join(dir, "film.webm"))
	ffmpeg(t, "-v", "error", "-y", "-f", "lavfi", "-i", "sine=d=5", "-c:a", "aac", filepath.Join(dir, "audio.mp4"))

	rs := redistest.Start(t)
	a := newInstance(t, dir, rs, nil)
	cases := []struct{ name, want string }{
		{"empty.mp4", "the file is empty"},
		{"truncated.mp4", "cannot read this file"},
		{"garbage.mp4", "cannot read this file"},
		{"film.webm", "MP4 and MOV"},
		{"audio.mp4", "no video stream"},
	}
	for _, tc := range cases {
		for range 2 {
			code, hdr, body := a.get(t, "/previews/"+tc.name+".vtt")
			if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), tc.want) {
				t.Errorf("%s: %d %s, want 422 saying %q", tc.name, code, body, tc.want)
			}
			if hdr.Get("Cache-Control") != "" && !strings.Contains(hdr.Get("Cache-Control"), "no-store") {
				t.Errorf("%s: Cache-Control %q on an error", tc.name, hdr.Get("Cache-Control"))
			}
		}
	}
	if n := a.jobs("bad_input"); n != len(cases) {
		t.Errorf("%d bad_input jobs, want %d (one per file)", n, len(cases))
	}
	b := newInstance(t, dir, rs, nil)
	for _, tc := range cases {
		if code, _, _ := b.get(t, "/previews/"+tc.name+".vtt"); code != http.StatusUnprocessableEntity {
			t.Errorf("%s on the second instance: %d, want 422", tc.name, code)
		}
	}
	if n := b.jobs("bad_input") + b.jobs("ok") + b.jobs("error"); n != 0 {
		t.Errorf("the second instance ran %d jobs, want 0 (the results are in Redis)", n)
	}
	for _, p := range []string{"/previews/nothere.mp4.vtt", "/previews/../x.mp4.vtt", "/previews/.hidden.mp4.vtt", "/previews/good.txt.vtt", "/previews/good.mp4/zz/sprite-0.jpg", "/previews/good.mp4/v/sprite-01.jpg"} {
		if code, _, _ := a.get(t, p); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, code)
		}
	}
}

// TestTimeoutAndNoFFmpeg: a job past previews.timeout is killed and the
// file gets a stored negative result; without ffmpeg the routes say 501.
func TestTimeoutAndNoFFmpeg(t *testing.T) {
	dir := t.TempDir()
	makeVideo(t, filepath.Join(dir, "a.mp4"), 30, 10)
	rs := redistest.Start(t)
	in := newInstance(t, dir, rs, func(o *Options) { o.Timeout = 50 * time.Millisecond })
	code, _, body := in.get(t, "/previews/a.mp4.vtt")
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "longer than") {
		t.Fatalf("%d %s, want 422 saying the job took too long", code, body)
	}
	if in.jobs("timeout") != 1 {
		t.Errorf("timeout jobs: %d, want 1", in.jobs("timeout"))
	}
	none := newInstance(t, dir, nil, func(o *Options) { o.FFmpeg = filepath.Join(dir, "no-ffmpeg") })
	code, _, body = none.get(t, "/previews/a.mp4.vtt")
	if code != http.StatusNotImplemented || !strings.Contains(string(body), "no ffmpeg") {
		t.Fatalf("without ffmpeg: %d %s, want 501", code, body)
	}
	if !strings.Contains(none.logs.String(), "not found") {
		t.Errorf("without ffmpeg: nothing logged:\n%s", none.logs.String())
	}
}

// TestCacheOff: with no Redis (redis.url ""), previews are made and kept in
// the instance's memory: one job for several requests, sprites served.
func TestCacheOff(t *testing.T) {
	dir := t.TempDir()
	makeVideo(t, filepath.Join(dir, "a.mp4"), 15, 10)
	in := newInstance(t, dir, nil, nil)
	var cues []cue
	for range 3 {
		code, _, body := in.get(t, "/previews/a.mp4.vtt")
		if code != http.StatusOK {
			t.Fatalf("%d %s", code, body)
		}
		cues = parseVTT(t, body)
	}
	if len(cues) != 15 {
		t.Fatalf("%d cues, want 15", len(cues))
	}
	if code, _, _ := in.get(t, cues[0].url); code != http.StatusOK {
		t.Errorf("sprite: %d", code)
	}
	if n := in.jobs("ok"); n != 1 {
		t.Errorf("%d jobs, want 1", n)
	}
}

// flakyFiles is a cache whose Open fails with fail after the first ok
// calls: the request's open succeeds, the job's meets an origin outage.
type flakyFiles struct {
	Files
	mu   sync.Mutex
	ok   int
	fail error
}

func (f *flakyFiles) Open(ctx context.Context, name string) (*chunker.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ok == 0 {
		return nil, f.fail
	}
	f.ok--
	return f.Files.Open(ctx, name)
}

// TestOriginFailureIsNotStored: a job that fails for a reason that is not
// the file's (the origin unavailable) answers 503 with Retry-After, stores
// nothing in Redis, and is not tried again by this instance for a while.
func TestOriginFailureIsNotStored(t *testing.T) {
	dir := t.TempDir()
	makeVideo(t, filepath.Join(dir, "a.mp4"), 10, 10)
	rs := redistest.Start(t)
	var flaky *flakyFiles
	in := newInstance(t, dir, rs, func(o *Options) {
		flaky = &flakyFiles{Files: o.Files, ok: 1, fail: fmt.Errorf("read: %w", chunker.ErrOriginUnavailable)}
		o.Files = flaky
	})
	code, hdr, body := in.get(t, "/previews/a.mp4.vtt")
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Fatalf("%d (Retry-After %q) %s, want 503 with Retry-After", code, hdr.Get("Retry-After"), body)
	}
	if in.jobs("error") != 1 {
		t.Errorf("error jobs: %d, want 1", in.jobs("error"))
	}
	if keys := rs.Keys(t.Context(), "*:m:*"); len(keys) != 0 {
		t.Errorf("stored after an origin failure: %q", keys)
	}
	flaky.mu.Lock()
	flaky.ok = 100 // the origin is back
	flaky.mu.Unlock()
	if code, _, _ := in.get(t, "/previews/a.mp4.vtt"); code != http.StatusServiceUnavailable || in.jobs("error")+in.jobs("ok") != 1 {
		t.Errorf("asked again at once: %d after %d jobs, want 503 and no new job", code, in.jobs("error")+in.jobs("ok"))
	}
	// Another instance, which did not see the failure, makes them.
	other := newInstance(t, dir, rs, nil)
	if code, _, body := other.get(t, "/previews/a.mp4.vtt"); code != http.StatusOK {
		t.Errorf("another instance: %d %s", code, body)
	}
}
