package testmedia

import (
	"fmt"
	"image"
	"math"
	"os/exec"
	"strconv"
	"testing"

	"github.com/reelcache/reelcache/internal/testproc"
)

// Frame decodes the frame of video at sec, scaled to w x h, as RGB (three
// bytes a pixel, row by row), with the ffmpeg on PATH (the test is
// skipped without one, failed under CI=true: testproc.Require).
func Frame(tb testing.TB, video string, sec float64, w, h int) []byte {
	tb.Helper()
	out, err := exec.Command(testproc.Require(tb, "ffmpeg"), "-v", "error", "-ss", strconv.FormatFloat(sec, 'f', 3, 64), "-i", video,
		"-frames:v", "1", "-vf", fmt.Sprintf("scale=%d:%d", w, h), "-f", "rawvideo", "-pix_fmt", "rgb24", "-").Output()
	if err != nil || len(out) != w*h*3 {
		tb.Fatalf("frame at %gs of %s: %d bytes, want %d: %v", sec, video, len(out), w*h*3, err)
	}
	return out
}

// Crop returns the w x h rectangle of img at x, y (relative to the
// picture's corner) as RGB, as Frame returns a frame; it fails the test if
// the rectangle is not all inside img.
func Crop(tb testing.TB, img image.Image, x, y, w, h int) []byte {
	tb.Helper()
	bounds := img.Bounds()
	if x < 0 || y < 0 || x+w > bounds.Dx() || y+h > bounds.Dy() {
		tb.Fatalf("%dx%d at %d,%d outside the %v picture", w, h, x, y, bounds)
	}
	out := make([]byte, 0, w*h*3)
	for j := y; j < y+h; j++ {
		for i := x; i < x+w; i++ {
			r, g, b, _ := img.At(bounds.Min.X+i, bounds.Min.Y+j).RGBA()
			out = append(out, byte(r>>8), byte(g>>8), byte(b>>8))
		}
	}
	return out
}

// PSNR returns the peak signal-to-noise ratio of two RGB pictures of the
// same size in dB: +Inf for equal pictures, higher for closer ones.
func PSNR(a, b []byte) float64 {
	var sum float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		sum += d * d
	}
	mse := sum / float64(len(a))
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/mse)
}
