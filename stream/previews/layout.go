package previews

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Layout of the tiles: when each is taken, how big it is, where it sits.

// niceIntervals are the intervals Interval picks from, in seconds; past the
// last, whole minutes.
var niceIntervals = []float64{1, 2, 5, 10, 15, 20, 30, 60}

// Interval returns the seconds between tiles for a video of duration
// seconds. With configured > 0 that is the interval, unless it would make
// more than MaxTiles tiles. With configured 0 it is the smallest of 1, 2,
// 5, 10, 15, 20, 30 or 60 s (then whole minutes) that gives at most
// TargetTiles tiles: a 90 s clip gets 1 s (90 tiles), a 20-minute film
// 10 s (120 tiles), a 2-hour film 60 s (120 tiles). Every interval makes at
// most MaxTiles tiles (it is raised to the next nice value if needed).
func Interval(duration float64, configured time.Duration) float64 {
	want := configured.Seconds()
	target := float64(TargetTiles)
	if want > 0 {
		if duration/want <= MaxTiles {
			return want
		}
		target = MaxTiles
	}
	min := duration / target
	for _, n := range niceIntervals {
		if n >= min {
			return n
		}
	}
	return math.Ceil(min/60) * 60
}

// Tile counts of Interval.
const (
	TargetTiles = 200  // the most tiles an automatic interval makes
	MaxTiles    = 1000 // the most tiles any interval makes
)

// grid is the number of tile columns and rows of a full sprite sheet.
const gridCols, gridRows = 10, 10

// tileCount returns how many tiles cover duration at interval: one per
// interval started.
func tileCount(duration, interval float64) int {
	n := int(math.Ceil(duration/interval - 1e-9))
	return max(n, 1)
}

// spriteRows returns the rows of each sprite sheet for n tiles: fewer than
// gridRows when n tiles fit in fewer.
func spriteRows(n int) int {
	return min(gridRows, (n+gridCols-1)/gridCols)
}

// tileHeight returns the height of a tile width pixels wide for a picture
// w x h with sample aspect ratio sar (width/height of a pixel; 0 means 1),
// rounded to an even number as the JPEG encoder's chroma wants, and at
// most twice the width (a portrait 9:16 video fits; a file claiming a
// picture 1 pixel wide does not make a sprite sheet kilometres tall).
func tileHeight(width, w, h int, sar float64) int {
	if sar <= 0 {
		sar = 1
	}
	th := float64(width) * float64(h) / (float64(w) * sar)
	return min(2*width, max(2, int(math.Round(th/2))*2))
}

// VTT writes the WebVTT text of r: one cue per tile, from its time to the
// next (the last to the end), pointing at its place in its sprite sheet.
// spriteURL returns the URL of sheet i (it may carry a query; the fragment
// is added here).
func (r *Result) VTT(spriteURL func(i int) string) string {
	var b strings.Builder
	b.WriteString("WEBVTT\n")
	per := r.Cols * r.Rows
	for k := 0; k < r.Tiles; k++ {
		start := float64(k) * r.Interval
		end := math.Min(start+r.Interval, r.Duration)
		if end <= start {
			end = start + r.Interval
		}
		i, p := k/per, k%per
		x, y := (p%r.Cols)*r.Width, (p/r.Cols)*r.Height
		fmt.Fprintf(&b, "\n%s --> %s\n%s#xywh=%d,%d,%d,%d\n", vttTime(start), vttTime(end), spriteURL(i), x, y, r.Width, r.Height)
	}
	return b.String()
}

// vttTime formats seconds as WebVTT's hh:mm:ss.ttt.
func vttTime(s float64) string {
	ms := int64(math.Round(s * 1000))
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}
