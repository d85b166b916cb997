package stream

import (
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

// TestPagePlayerURL: with an hls.js URL set, the page's <meta> carries it
// HTML-escaped and the CSP allows exactly that script (no query: CSP has
// none) and hls.js's blob: media and worker; a path is covered by 'self';
// unset, the page is the file as it is and the CSP allows no other script.
func TestPagePlayerURL(t *testing.T) {
	index := "<!doctype html><head>" + playerMeta + "</head>"
	fsys := fstest.MapFS{"index.html": {Data: []byte(index)}, "app.js": {Data: []byte("x")}}
	tests := []struct {
		player, meta, script string
	}{
		{"", `content=""`, "script-src 'self';"},
		{"https://cdn.example/hls.js@1.6.13/dist/hls.min.js?a=1&b=2", `content="https://cdn.example/hls.js@1.6.13/dist/hls.min.js?a=1&amp;b=2"`,
			"script-src 'self' https://cdn.example/hls.js@1.6.13/dist/hls.min.js;"},
		{"/players/hls.min.js", `content="/players/hls.min.js"`, "script-src 'self';"},
	}
	for _, tt := range tests {
		t.Run(tt.player, func(t *testing.T) {
			h := pageHandler(fsys, tt.player)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			body, csp := w.Body.String(), w.Header().Get("Content-Security-Policy")
			if w.Code != 200 || !strings.Contains(body, tt.meta) || strings.Count(body, "reelcache-hls-player") != 1 {
				t.Errorf("GET / = %d %q, want the meta with %s", w.Code, body, tt.meta)
			}
			if !strings.Contains(csp, tt.script) {
				t.Errorf("CSP %q, want %q", csp, tt.script)
			}
			if blob := strings.Contains(csp, "media-src 'self' blob:;") && strings.Contains(csp, "worker-src blob:;"); blob != (tt.player != "") {
				t.Errorf("CSP %q: blob: media and worker allowed %v, want %v", csp, blob, tt.player != "")
			}
			w = httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/app.js", nil))
			if w.Code != 200 || w.Body.String() != "x" || w.Header().Get("Content-Security-Policy") != csp {
				t.Errorf("GET /app.js = %d %q (CSP %q)", w.Code, w.Body.String(), w.Header().Get("Content-Security-Policy"))
			}
		})
	}
}
