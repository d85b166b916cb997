package config

import (
	"errors"
	"strconv"
	"time"

	"github.com/reelcache/reelcache/stream/previews"
)

// Previews configures seek previews (package stream/previews).
type Previews struct {
	Width    int           // tile width in pixels
	Interval time.Duration // between tiles; 0 chooses from the duration
	MaxJobs  int           // ffmpeg jobs one instance runs at once
	Wait     time.Duration // how long a request waits for a job before 503
	Timeout  time.Duration // a job running longer is killed
}

// previewKeys are the keys of seek previews; reelcache.example.yaml
// documents each.
var previewKeys = []key{
	{"previews.width", strconv.Itoa(previews.DefaultWidth), "width of a seek preview tile in pixels (the height keeps the aspect ratio)"},
	{"previews.interval", "0s", "time between seek preview tiles; 0 chooses from the duration (1s for a clip, 10s for 20 minutes, 60s for 2 hours)"},
	{"previews.max_jobs", strconv.Itoa(previews.DefaultMaxJobs), "ffmpeg preview jobs one instance runs at once"},
	{"previews.wait", previews.DefaultWait.String(), "how long a request for previews waits for their job before 503 with Retry-After"},
	{"previews.timeout", previews.DefaultTimeout.String(), "a preview job still running after this is killed (and the file gets none)"},
}

// parsePreviews validates a key of previewKeys; ok is false for other keys.
func parsePreviews(c *Config, name, raw string) (ok bool, err error) {
	p := &c.Previews
	switch name {
	case "previews.width", "previews.max_jobs":
		n, err := strconv.Atoi(raw)
		switch {
		case err != nil:
			return true, errors.New("want a whole number")
		case name == "previews.width" && (n < 16 || n > 1920):
			return true, errors.New("want a width between 16 and 1920 pixels")
		case name == "previews.max_jobs" && (n < 1 || n > 64):
			return true, errors.New("want between 1 and 64 jobs")
		}
		if name == "previews.width" {
			p.Width = n
		} else {
			p.MaxJobs = n
		}
	case "previews.interval":
		d, err := time.ParseDuration(raw)
		if err != nil || d < 0 || (d > 0 && d < 100*time.Millisecond) {
			return true, errors.New("want 0 (chosen from the duration) or a duration of at least 100ms, such as 10s")
		}
		p.Interval = d
	case "previews.wait":
		return true, setPositive(&p.Wait, raw, "10s")
	case "previews.timeout":
		return true, setPositive(&p.Timeout, raw, "10s")
	default:
		return false, nil
	}
	return true, nil
}
