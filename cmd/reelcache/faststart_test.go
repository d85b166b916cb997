package main

import (
	"bytes"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/reelcache/reelcache/cachewarm"
	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/internal/faststarttest"
)

// faststartServer serves dir with media.faststart on or off.
func faststartServer(t *testing.T, dir string, on bool) *e2eServer {
	t.Helper()
	return newE2EServer(t, func(c *config.Config) {
		c.Media.Root = dir
		c.Media.Extensions = []string{"mp4", "mov"}
		c.Media.Faststart = on
		// These tests assert hits and warms, not timeouts: the e2e
		// server's 100ms Redis deadline flaked under a loaded machine.
		c.Redis.Timeout = 2 * time.Second
	})
}

// moovFirst reports whether a moov comes before the first mdat in boxes.
func moovFirst(boxes []string) bool {
	i, j := slices.Index(boxes, "moov"), slices.Index(boxes, "mdat")
	return i >= 0 && j >= 0 && i < j
}

// TestFaststartServe: with media.faststart on, ffmpeg's moov-at-end MP4
// and MOV are served with the moov first (ffprobe's trace over HTTP) and
// decode to the original's frame hashes; off, the file's own bytes.
func TestFaststartServe(t *testing.T) {
	dir := t.TempDir()
	names := []string{"end.mp4", "end.mov"}
	paths := map[string]string{}
	for _, n := range names {
		paths[n] = faststarttest.Movie(t, dir, n, 6)
		if moovFirst(faststarttest.TopBoxes(t, paths[n])) {
			t.Fatalf("%s: ffmpeg wrote the moov first; the test needs it at the end", n)
		}
	}
	for _, on := range []bool{true, false} {
		s := faststartServer(t, dir, on)
		for _, n := range names {
			url := s.url + "/media/" + n
			if got := moovFirst(faststarttest.TopBoxes(t, url)); got != on {
				t.Errorf("faststart %v, %s: moov first %v", on, n, got)
			}
			if a, b := faststarttest.FrameHashes(t, paths[n]), faststarttest.FrameHashes(t, url); !slices.Equal(a, b) {
				t.Errorf("faststart %v, %s: %d frame hashes over HTTP differ from the file's %d", on, n, len(b), len(a))
			}
			body, _ := curl(t, "-sS", url)
			orig, err := os.ReadFile(paths[n])
			if err != nil {
				t.Fatal(err)
			}
			if len(body) != len(orig) || bytes.Equal(body, orig) == on {
				t.Errorf("faststart %v, %s: %d bytes, the file's own bytes: %v", on, n, len(body), bytes.Equal(body, orig))
			}
		}
	}
}

// TestFaststartAfterWarm: after `warm`, the first request of a
// moov-at-end MP4 on a fresh instance builds its view from Redis alone (a
// HIT, no origin read), and its body is the rewritten file.
func TestFaststartAfterWarm(t *testing.T) {
	dir := t.TempDir()
	path := faststarttest.Movie(t, dir, "end.mp4", 6)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := faststartServer(t, dir, true)
	rep, err := cachewarm.Warm(t.Context(), []string{"end.mp4"}, cachewarm.Options{Cache: s.cache, Logger: slog.New(slog.DiscardHandler)})
	if err != nil || rep.Failed != 0 {
		t.Fatalf("warm: %+v %v", rep, err)
	}
	disk := s.cache.Stats().DiskBytes
	code, hdr, body := httpGet(t, s.url+"/media/end.mp4", "Range: bytes=0-")
	if code != 206 || hdr.Get("X-Cache") != "HIT" || !bytes.Equal(body, faststarttest.Reference(t, orig)) {
		t.Errorf("first request after warm: %d, X-Cache %q, body is the rewrite %v", code, hdr.Get("X-Cache"), bytes.Equal(body, faststarttest.Reference(t, orig)))
	}
	if d := s.cache.Stats().DiskBytes - disk; d != 0 {
		t.Errorf("%d bytes read from the origin after warm, want none", d)
	}
}
