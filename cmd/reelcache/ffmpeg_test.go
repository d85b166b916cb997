package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// TestFFprobe: ffprobe reads each sample over HTTP and finds its duration
// and streams.
func TestFFprobe(t *testing.T) {
	redistest.Require(t, "ffprobe")
	s := newE2EServer(t)
	for _, name := range testmedia.SampleNames() {
		out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_type,codec_name",
			"-of", "json", s.url+"/media/"+name).Output()
		if err != nil {
			t.Fatalf("ffprobe %s: %v", name, err)
		}
		var probe struct {
			Format  struct{ Duration string }
			Streams []struct {
				CodecType string `json:"codec_type"`
				CodecName string `json:"codec_name"`
			}
		}
		if err := json.Unmarshal(out, &probe); err != nil {
			t.Fatalf("ffprobe %s: %v: %s", name, err, out)
		}
		d, _ := strconv.ParseFloat(probe.Format.Duration, 64)
		if math.Abs(d-24) > 0.1 {
			t.Errorf("%s: duration %v, want 24 s", name, d)
		}
		var types []string
		for _, st := range probe.Streams {
			types = append(types, st.CodecType+"/"+st.CodecName)
		}
		slices.Sort(types)
		want := []string{"audio/aac", "video/h264"}
		if strings.HasSuffix(name, ".webm") {
			want = []string{"audio/opus", "video/vp9"}
		}
		if !slices.Equal(types, want) {
			t.Errorf("%s: streams %v, want %v", name, types, want)
		}
	}
}

// TestFFmpegSeeks: ffmpeg extracts a frame at three times from each sample
// over HTTP, seeking with Range requests rather than downloading the file.
func TestFFmpegSeeks(t *testing.T) {
	redistest.Require(t, "ffmpeg")
	s := newE2EServer(t)
	dir := t.TempDir()
	for _, name := range testmedia.SampleNames() {
		size := fileSize(t, filepath.Join(testmedia.SamplesDir(t), name))
		for _, at := range []float64{2, 12, 21.5} {
			out := filepath.Join(dir, fmt.Sprintf("%s-%v.png", name, at))
			cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
				"-ss", fmt.Sprint(at), "-i", s.url+"/media/"+name, "-frames:v", "1", out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg -ss %v %s: %v: %s", at, name, err, b)
			}
			if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
				t.Errorf("ffmpeg -ss %v %s: no frame written", at, name)
			}
			log := s.take()
			var seeks int
			for _, r := range log {
				if r.status == 206 && !strings.HasPrefix(r.rng, "bytes=0-") {
					seeks++
				}
				if r.status >= 400 {
					t.Errorf("ffmpeg -ss %v %s: status %d for Range %q", at, name, r.status, r.rng)
				}
			}
			if seeks == 0 && at > 2 {
				t.Errorf("ffmpeg -ss %v %s: no ranged read past the start (file %d bytes):\n%s", at, name, size, summarize(log))
			}
		}
	}
}

func fileSize(t *testing.T, p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
