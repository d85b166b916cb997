package config

import (
	"strings"
	"testing"
)

// TestValuesRangeChecked: sizes past what an int64 (or the setting) can
// hold are errors, not numbers that wrap negative and switch a limit off,
// and a header value that is not a string (a map, a list, a number YAML
// may have reinterpreted) is an error naming the header's key, not a value
// such as "map[token:abc]" sent to the origin (issue 21 item 10).
func TestValuesRangeChecked(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error
	}{
		{"max_inflight_bytes 8EiB", "cache:\n  max_inflight_bytes: 8EiB\n", []string{"cache.max_inflight_bytes", `"8EiB"`, "at most"}},
		{"max_inflight_bytes 2^63", "cache:\n  max_inflight_bytes: 9223372036854775808\n", []string{"cache.max_inflight_bytes", "at most"}},
		{"max_inflight_bytes 16EiB", "cache:\n  max_inflight_bytes: 16EiB\n", []string{"cache.max_inflight_bytes"}},
		{"local_bytes 8EiB", "cache:\n  local_bytes: 8EiB\n", []string{"cache.local_bytes"}},
		{"limit_rate 8EiB", "http:\n  limit_rate: 8EiB\n", []string{"http.limit_rate"}},
		{"limit_rate_after 8EiB", "http:\n  limit_rate_after: 8EiB\n", []string{"http.limit_rate_after"}},
		{"chunk.size 8EiB", "chunk:\n  size: 8EiB\n", []string{"chunk.size"}},
		{"max_ranges huge", "http:\n  max_ranges: 9223372036854775807\n", []string{"http.max_ranges", "at most"}},
		{"header as a map", "media:\n  origin: http://h/\n  http:\n    headers:\n      Authorization:\n        token: abc-hunter2\n", []string{"media.http.headers.authorization", "a string"}},
		{"header as a list", "media:\n  origin: http://h/\n  http:\n    headers:\n      X-Token: [abc-hunter2, b]\n", []string{"media.http.headers.x-token", "a string"}},
		{"header as a number", "media:\n  origin: http://h/\n  http:\n    headers:\n      X-Token: 0123\n", []string{"media.http.headers.x-token", "a string", "quotes"}},
		{"header as null", "media:\n  origin: http://h/\n  http:\n    headers:\n      X-Token:\n", []string{"media.http.headers.x-token", "a string"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.yaml)
			if err == nil {
				t.Fatalf("Load succeeded (max_inflight_bytes %d, headers %q), want an error", c.Cache.MaxInflightBytes, c.Media.Origin.HTTPHeaders)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows a header value", err)
			}
		})
	}
	// The largest values each size takes still load.
	c, err := load(t, "cache:\n  max_inflight_bytes: 1TiB\n  local_bytes: 1PiB\nhttp:\n  limit_rate: 1TiB\n  max_ranges: 1000\n"+
		"media:\n  origin: http://h/\n  http:\n    headers:\n      X-Token: \"0123\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Cache.MaxInflightBytes != 1<<40 || c.Cache.LocalBytes != 1<<50 || c.HTTP.LimitRate != 1<<40 || c.Media.Origin.HTTPHeaders["x-token"] != "0123" {
		t.Fatalf("got %+v %+v %q", c.Cache, c.HTTP, c.Media.Origin.HTTPHeaders)
	}
}
