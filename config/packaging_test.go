package config

import (
	"strconv"
	"strings"
	"testing"
)

// TestHLSPlayerURL: packaging.hls_player_url takes an absolute http(s) URL
// or a path on this server, and refuses what is neither or what would break
// out of the page's Content-Security-Policy or HTML, naming the key.
func TestHLSPlayerURL(t *testing.T) {
	tests := []struct {
		raw string
		ok  bool
	}{
		{"", true},
		{"https://cdn.example/hls.js@1.6.13/dist/hls.min.js", true},
		{"http://127.0.0.1:8081/hls.min.js", true},
		{"/players/hls.min.js", true},
		{"hls.min.js", false},
		{"//cdn.example/hls.min.js", false},
		{"ftp://cdn.example/hls.min.js", false},
		{"javascript:alert(1)", false},
		{"https:///hls.min.js", false},
		{"https://user:hunter2@cdn.example/hls.min.js", false},
		{"https://cdn.example/hls.min.js; script-src *", false},
		{"https://cdn.example/a\"><script>", false},
		{"https://cdn.example/a,b", false},
		{"https://cdn.example/a b", false},
	}
	for i, tt := range tests {
		// Named by number: the test's temp dir, in the error, has its name.
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			c, err := load(t, "packaging:\n  hls_player_url: '"+strings.ReplaceAll(tt.raw, "'", "''")+"'\n")
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if c.Packaging.HLSPlayerURL != tt.raw {
					t.Fatalf("HLSPlayerURL %q, want %q", c.Packaging.HLSPlayerURL, tt.raw)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load took %q", c.Packaging.HLSPlayerURL)
			}
			if !strings.Contains(err.Error(), "packaging.hls_player_url") || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q: want it to name the key and hide any password", err)
			}
		})
	}
}
