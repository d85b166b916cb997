package certs

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRedirect: a 308 to the same path and query over HTTPS, the port
// left out for 443; a Host that is not a plain name or address is refused,
// never echoed into a Location.
func TestRedirect(t *testing.T) {
	for _, tt := range []struct {
		port, host, target string
		status             int
		location           string
	}{
		{"443", "video.example.com", "/media/a.mp4?x=1", 308, "https://video.example.com/media/a.mp4?x=1"},
		{"443", "video.example.com:80", "/", 308, "https://video.example.com/"},
		{"8443", "video.example.com:8080", "/media/a.mp4", 308, "https://video.example.com:8443/media/a.mp4"},
		{"8443", "[::1]:8080", "/a", 308, "https://[::1]:8443/a"},
		{"443", "[::1]", "/a", 308, "https://[::1]/a"},
		{"443", "evil.example/x", "/", 400, ""},
		{"443", "a@b", "/", 400, ""},
		{"443", "", "/", 400, ""},
	} {
		req := httptest.NewRequest("GET", tt.target, nil)
		req.Host = tt.host
		rec := httptest.NewRecorder()
		Redirect(tt.port).ServeHTTP(rec, req)
		if rec.Code != tt.status || rec.Header().Get("Location") != tt.location {
			t.Errorf("Host %q %s: %d Location %q, want %d %q", tt.host, tt.target, rec.Code, rec.Header().Get("Location"), tt.status, tt.location)
		}
	}
	// A POST keeps its method through a 308.
	rec := httptest.NewRecorder()
	Redirect("443").ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "http://v.example/api", nil))
	if rec.Code != http.StatusPermanentRedirect {
		t.Errorf("POST: %d, want 308", rec.Code)
	}
}
