package config

import (
	"errors"
	"strconv"
	"time"

	"github.com/reelcache/reelcache/stream/cmaf"
)

// Packaging says how HLS and DASH are packaged from MP4 files (/hls/,
// /dash/).
type Packaging struct {
	Enabled         bool          // serve /hls/ and /dash/
	SegmentDuration time.Duration // the duration segments aim at; they start on video sync samples
	HLSAudio        string        // "muxed" (in every variant's segments) or "group" (EXT-X-MEDIA)
}

// packagingKeys are the packager's keys; reelcache.example.yaml documents
// each.
var packagingKeys = []key{
	{"packaging.enabled", "true", "packaging-enabled", "serve HLS (/hls/PATH/master.m3u8) and DASH (/dash/PATH/manifest.mpd) packaged on the fly from MP4 files"},
	{"packaging.segment_duration", cmaf.DefaultSegmentDuration.String(), "packaging-segment-duration", "duration HLS/DASH segments aim at; each starts on the first video sync sample at least this long after the last"},
	{"packaging.hls_audio", "muxed", "packaging-hls-audio", "HLS audio: muxed (in every variant's segments) or group (one audio rendition group, video-only variants)"},
}

// Limits of packaging.segment_duration.
const (
	MinSegmentDuration = time.Second
	MaxSegmentDuration = 60 * time.Second
)

// parsePackaging parses a packaging.* key; ok is false for other keys.
func parsePackaging(c *Config, name, raw string) (ok bool, err error) {
	switch name {
	case "packaging.enabled":
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return true, errors.New("want true or false")
		}
		c.Packaging.Enabled = b
	case "packaging.segment_duration":
		d, err := time.ParseDuration(raw)
		if err != nil || d < MinSegmentDuration || d > MaxSegmentDuration {
			return true, errors.New("want a duration from 1s to 60s, such as 6s")
		}
		c.Packaging.SegmentDuration = d
	case "packaging.hls_audio":
		if raw != "muxed" && raw != "group" {
			return true, errors.New("want muxed or group")
		}
		c.Packaging.HLSAudio = raw
	default:
		return false, nil
	}
	return true, nil
}
