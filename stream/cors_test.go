package stream

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/textproto"
	"os/exec"
	"strings"
	"testing"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/redistest"
)

// curlHeaders runs the real curl and returns the status and the headers of
// the (last) response; the body is discarded.
func curlHeaders(t *testing.T, args ...string) (int, http.Header) {
	t.Helper()
	redistest.Require(t, "curl")
	out, err := exec.Command("curl", append([]string{"-sS", "-o", "/dev/null", "-D", "-"}, args...)...).Output()
	if err != nil {
		t.Fatalf("curl %v: %v", args, err)
	}
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(out)))
	line, err := r.ReadLine()
	if err != nil {
		t.Fatalf("curl %v: %q", args, out)
	}
	var proto string
	var status int
	if _, err := fmt.Sscan(line, &proto, &status); err != nil {
		t.Fatalf("status line %q: %v", line, err)
	}
	h, err := r.ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		t.Fatalf("curl %v: headers %q: %v", args, out, err)
	}
	return status, http.Header(h)
}

// TestCORS: with http.cors.allowed_origins set, an allowed origin gets the
// CORS headers a player needs on GET, HEAD, Range and preflight requests,
// on /media/, /api/media and /api/chunks/ only; a disallowed origin gets
// none, and still its bytes. With CORS off, nothing. (Issue 16; this is
// also what was checked of Echo's CORS middleware.)
func TestCORS(t *testing.T) {
	const site, evil = "http://127.0.0.1:9000", "http://evil.example"
	on := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync, metrics: true,
		opts: func(o *Options) { o.CORSOrigins = []string{site, "https://other.example"} }})
	on.write(t, "v.mp4", 200_000, 1)
	star := newServer(t, serverOptions{noRedis: true, opts: func(o *Options) { o.CORSOrigins = []string{"*"} }})
	star.write(t, "v.mp4", 200_000, 1)
	off := newServer(t, serverOptions{noRedis: true})
	off.write(t, "v.mp4", 200_000, 1)

	const expose = "Content-Range, Accept-Ranges, Content-Length, ETag, X-Cache, Cache-Status"
	norm := func(s string) string { return strings.ReplaceAll(s, " ", "") }
	for _, tt := range []struct {
		name   string
		s      *server
		path   string
		args   []string
		status int
		allow  string // Access-Control-Allow-Origin wanted; "" none
	}{
		{"GET", on, "/media/v.mp4", []string{"-H", "Origin: " + site}, 200, site},
		{"HEAD", on, "/media/v.mp4", []string{"-I", "-H", "Origin: " + site}, 200, site},
		{"Range", on, "/media/v.mp4", []string{"-r", "100-199", "-H", "Origin: " + site}, 206, site},
		{"the other allowed origin", on, "/media/v.mp4", []string{"-r", "0-0", "-H", "Origin: https://other.example"}, 206, "https://other.example"},
		{"listing", on, "/api/media", []string{"-H", "Origin: " + site}, 200, site},
		{"chunk map", on, "/api/chunks/v.mp4", []string{"-H", "Origin: " + site}, 200, site},
		{"a 404 is readable too", on, "/media/nope.mp4", []string{"-H", "Origin: " + site}, 404, site},
		{"disallowed origin", on, "/media/v.mp4", []string{"-r", "0-9", "-H", "Origin: " + evil}, 206, ""},
		{"an allowed origin's prefix", on, "/media/v.mp4", []string{"-H", "Origin: " + site + "0"}, 200, ""},
		{"no origin", on, "/media/v.mp4", []string{"-r", "0-9"}, 206, ""},
		{"not on the page", on, "/", []string{"-H", "Origin: " + site}, 200, ""},
		{"not on metrics", on, "/metrics", []string{"-H", "Origin: " + site}, 200, ""},
		{"star", star, "/media/v.mp4", []string{"-r", "0-9", "-H", "Origin: " + evil}, 206, "*"},
		{"off", off, "/media/v.mp4", []string{"-r", "0-9", "-H", "Origin: " + site}, 206, ""},
	} {
		status, h := curlHeaders(t, append(tt.args, tt.s.srv.URL+tt.path)...)
		if status != tt.status || h.Get("Access-Control-Allow-Origin") != tt.allow {
			t.Errorf("%s: status %d, Access-Control-Allow-Origin %q; want %d, %q", tt.name, status, h.Get("Access-Control-Allow-Origin"), tt.status, tt.allow)
		}
		if tt.allow != "" && norm(h.Get("Access-Control-Expose-Headers")) != norm(expose) {
			t.Errorf("%s: Access-Control-Expose-Headers %q, want %q", tt.name, h.Get("Access-Control-Expose-Headers"), expose)
		}
		if tt.allow == "" {
			for k := range h {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("%s: %s: %q, want no CORS headers", tt.name, k, h.Get(k))
				}
			}
		}
		if tt.s != off && strings.HasPrefix(tt.path, "/media/") && !strings.Contains(h.Get("Vary"), "Origin") {
			t.Errorf("%s: Vary %q, want Origin (responses differ by Origin)", tt.name, h.Get("Vary"))
		}
	}

	// Preflights: what a player asks before a ranged fetch.
	for _, tt := range []struct {
		name, path, origin string
		allowed            bool
	}{
		{"media", "/media/v.mp4", site, true},
		{"listing", "/api/media", site, true},
		{"chunk map", "/api/chunks/v.mp4", site, true},
		{"disallowed", "/media/v.mp4", evil, false},
	} {
		status, h := curlHeaders(t, "-X", "OPTIONS", "-H", "Origin: "+tt.origin,
			"-H", "Access-Control-Request-Method: GET", "-H", "Access-Control-Request-Headers: range, if-range",
			on.srv.URL+tt.path)
		if status != http.StatusNoContent {
			t.Errorf("preflight %s: status %d, want 204", tt.name, status)
		}
		if !tt.allowed {
			if h.Get("Access-Control-Allow-Origin") != "" || h.Get("Access-Control-Allow-Headers") != "" {
				t.Errorf("preflight %s: CORS headers %v for a disallowed origin", tt.name, h)
			}
			continue
		}
		allowHeaders := strings.ToLower(h.Get("Access-Control-Allow-Headers"))
		if h.Get("Access-Control-Allow-Origin") != site || !strings.Contains(allowHeaders, "range") ||
			!strings.Contains(allowHeaders, "if-range") || norm(h.Get("Access-Control-Allow-Methods")) != "GET,HEAD" ||
			h.Get("Access-Control-Max-Age") == "" {
			t.Errorf("preflight %s: headers %v", tt.name, h)
		}
	}
}
