package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/testmedia"
)

func TestSlowProxy(t *testing.T) {
	dir := testmedia.Dir(t, map[string]int{"a.mp4": 300_000})
	file, _ := os.ReadFile(filepath.Join(dir, "a.mp4"))
	var seen http.Header
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		w.Header().Set("ETag", `"v1"`)
		http.FileServer(http.Dir(dir)).ServeHTTP(w, r)
	}))
	defer origin.Close()
	up, _ := url.Parse(origin.URL + "/")
	l := &link{latency: 30 * time.Millisecond, rate: 10e6}
	proxy := httptest.NewServer(newSlowProxy(up, l))
	defer proxy.Close()

	tests := []struct {
		rng        string
		status     int
		start, end int64
	}{
		{"bytes=1000-100999", 206, 1000, 100999},
		{"bytes=250000-", 206, 250000, 299999},
		{"", 200, 0, 299999},
	}
	var sent int64
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", proxy.URL+"/a.mp4", nil)
		if tt.rng != "" {
			req.Header.Set("Range", tt.rng)
		}
		req.Header.Set("If-Match", `"v1"`)
		start := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		took := time.Since(start)
		if err != nil || res.StatusCode != tt.status || !bytes.Equal(body, file[tt.start:tt.end+1]) {
			t.Errorf("Range %q: status %d, %d bytes, %v; want %d and the file's bytes %d-%d", tt.rng, res.StatusCode, len(body), err, tt.status, tt.start, tt.end)
		}
		if res.Header.Get("ETag") != `"v1"` || seen.Get("Range") != tt.rng || seen.Get("If-Match") != `"v1"` {
			t.Errorf("Range %q: headers not passed through: ETag %q, origin saw Range %q If-Match %q", tt.rng, res.Header.Get("ETag"), seen.Get("Range"), seen.Get("If-Match"))
		}
		if least := l.latency + time.Duration(float64(len(body))/l.rate*1e9); took < least-5*time.Millisecond {
			t.Errorf("Range %q: %d bytes in %v, want at least %v (latency + bytes/rate)", tt.rng, len(body), took, least)
		}
		sent += int64(len(body))
	}
	m, err := scrape(proxy.URL + metricsPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := m["reelbench_origin_bytes_total"]; got != float64(sent) {
		t.Errorf("reelbench_origin_bytes_total %v, want %d (the body bytes sent)", got, sent)
	}
	if got := m["reelbench_origin_requests_total"]; got != float64(len(tests)) {
		t.Errorf("reelbench_origin_requests_total %v, want %d", got, len(tests))
	}
}
