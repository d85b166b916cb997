package config

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/reelcache/reelcache/stream/cmaf"
)

// Packaging says how HLS and DASH are packaged from MP4 files (/hls/,
// /dash/).
type Packaging struct {
	Enabled         bool          // serve /hls/ and /dash/
	SegmentDuration time.Duration // the duration segments aim at; they start on video sync samples
	HLSAudio        string        // "muxed" (in every variant's segments) or "group" (EXT-X-MEDIA)
	// HLSPlayerURL is where the player page loads hls.js from in browsers
	// without native HLS: an absolute http(s) URL or a path on this
	// server; "" offers HLS only where the browser plays it natively.
	HLSPlayerURL string
}

// packagingKeys are the packager's keys; reelcache.example.yaml documents
// each.
var packagingKeys = []key{
	{"packaging.enabled", "true", "serve HLS (/hls/PATH/master.m3u8) and DASH (/dash/PATH/manifest.mpd) packaged on the fly from MP4 files"},
	{"packaging.segment_duration", cmaf.DefaultSegmentDuration.String(), "duration HLS/DASH segments aim at; each starts on the first video sync sample at least this long after the last"},
	{"packaging.hls_audio", "muxed", "HLS audio: muxed (in every variant's segments) or group (one audio rendition group, video-only variants)"},
	{"packaging.hls_player_url", "", "URL (http(s), or a path starting with /) of hls.js, which the player page loads to offer HLS where the browser has no native HLS; empty: native HLS only"},
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
		return true, setBool(&c.Packaging.Enabled, raw)
	case "packaging.segment_duration":
		return true, set(&c.Packaging.SegmentDuration, raw, time.ParseDuration, MinSegmentDuration, MaxSegmentDuration, "want a duration from 1s to 60s, such as 6s")
	case "packaging.hls_audio":
		return true, setOneOf(&c.Packaging.HLSAudio, raw, "muxed", "group")
	case "packaging.hls_player_url":
		if err := checkPlayerURL(raw); err != nil {
			return true, err
		}
		c.Packaging.HLSPlayerURL = raw
	default:
		return false, nil
	}
	return true, nil
}

// checkPlayerURL accepts "", a path starting with one "/", or an absolute
// http(s) URL without credentials: the player page's Content-Security-Policy
// names it, so it may hold no space, quote, comma, semicolon or angle
// bracket either.
func checkPlayerURL(raw string) error {
	if raw == "" {
		return nil
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f || strings.ContainsRune(`"'<>;,\`, r) }) {
		return errors.New("want a URL without spaces, quotes, commas, semicolons, backslashes or angle brackets")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("want an http(s) URL or a path starting with /")
	case strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//"):
		return nil
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Opaque != "":
		return errors.New("want an http(s) URL, such as https://cdn.example/hls.min.js, or a path starting with /")
	case u.User != nil:
		return errors.New("want a URL without user:password")
	}
	return nil
}
