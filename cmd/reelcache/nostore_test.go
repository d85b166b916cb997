package main

import (
	"net/http"
	"testing"

	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/internal/redistest"
)

// TestErrorsAreNoStore: every error the server answers through Echo is
// Cache-Control: no-store, those no route's middleware sees included: 405
// for a method a route does not take, the page's 404 (issue 21, "also
// seen"). (A request line net/http itself refuses, such as a path with a
// bad %-escape, gets net/http's bare 400 before any handler runs.)
func TestErrorsAreNoStore(t *testing.T) {
	rs := redistest.Start(t)
	base, _ := serveWith(t, config.Redis{URL: rs.URL()})
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"POST", "/media/sample.webm", 405},
		{"PUT", "/api/media", 405},
		{"DELETE", "/api/chunks/sample.webm", 405},
		{"POST", "/nope", 405},
		{"DELETE", "/metrics", 405},
		{"POST", "/readyz", 405},
		{"GET", "/nope.html", 404},
		{"GET", "/media/nope.webm", 404},
		{"GET", "/api/chunks/nope.webm", 404},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want || res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: %d, Cache-Control %q; want %d, no-store", tc.method, tc.path, res.StatusCode, res.Header.Get("Cache-Control"), tc.want)
		}
	}
}
