package previews

import (
	"strings"
	"testing"
	"time"
)

func TestInterval(t *testing.T) {
	for _, tc := range []struct {
		duration   float64
		configured time.Duration
		want       float64
	}{
		{5, 0, 1},
		{90, 0, 1},
		{200, 0, 1},
		{201, 0, 2},
		{20 * 60, 0, 10},
		{45 * 60, 0, 15},
		{2 * 3600, 0, 60},
		{10 * 3600, 0, 180},
		{90, 5 * time.Second, 5},
		{90, 1500 * time.Millisecond, 1.5},
		{3 * 3600, time.Second, 15}, // 10800 tiles > MaxTiles: the next nice interval under 1000 tiles
	} {
		got := Interval(tc.duration, tc.configured)
		if got != tc.want {
			t.Errorf("Interval(%gs, %v) = %g, want %g", tc.duration, tc.configured, got, tc.want)
		}
		if n := tileCount(tc.duration, got); n > MaxTiles {
			t.Errorf("Interval(%gs, %v): %d tiles", tc.duration, tc.configured, n)
		}
	}
}

func TestVTT(t *testing.T) {
	r := &Result{Duration: 25.5, Interval: 10, Tiles: 3, Width: 160, Height: 90, Cols: 2, Rows: 1}
	got := r.VTT(func(i int) string { return "s" + string(rune('0'+i)) + ".jpg" })
	want := `WEBVTT

00:00:00.000 --> 00:00:10.000
s0.jpg#xywh=0,0,160,90

00:00:10.000 --> 00:00:20.000
s0.jpg#xywh=160,0,160,90

00:00:20.000 --> 00:00:25.500
s1.jpg#xywh=0,0,160,90
`
	if got != want {
		t.Errorf("VTT:\n%s\nwant:\n%s", got, want)
	}
	if s := vttTime(3*3600 + 62.0625); !strings.HasPrefix(s, "03:01:02.06") {
		t.Errorf("vttTime = %s", s)
	}
	for _, tc := range []struct {
		w, h, width int
		sar         float64
		want        int
	}{
		{1280, 720, 160, 1, 90}, {720, 576, 160, 16.0 / 15, 120}, {1920, 800, 160, 0, 66}, {100, 4000, 160, 1, 320}, {1080, 1920, 160, 1, 284},
	} {
		if got := tileHeight(tc.width, tc.w, tc.h, tc.sar); got != tc.want {
			t.Errorf("tileHeight(%d, %dx%d, sar %g) = %d, want %d", tc.width, tc.w, tc.h, tc.sar, got, tc.want)
		}
	}
}
