package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/stream"
)

// playerServer is the whole app behind a test server that records the
// path of every request it answers.
type playerServer struct {
	*httptest.Server
	paths hitLog[string]
}

// count returns how many requests had a path starting with prefix.
func (s *playerServer) count(prefix string) int {
	n := 0
	for _, p := range s.paths.hits() {
		if strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}

// newPlayerServer serves the whole app (newApp, packaging on, over a real
// Redis) with a two-rendition title, plus the test's page at
// /test/player.html and the player's script at /test/SCRIPT.
func newPlayerServer(t *testing.T, script, js, page string, hlsAudio ...string) *playerServer {
	return newPlayerServerWith(t, script, js, page, func(c *config.Config) { c.Packaging.HLSAudio = strings.Join(hlsAudio, "") })
}

// newPlayerServerWith is newPlayerServer with the config changed by edit.
func newPlayerServerWith(t *testing.T, script, js, page string, edit func(*config.Config)) *playerServer {
	t.Helper()
	dir := makeRenditions(t)
	rs := redistest.Start(t)
	cfg := &config.Config{
		Media:     config.Media{Root: dir, Extensions: []string{"mp4"}},
		ChunkSize: 64 << 10,
		Redis:     config.Redis{URL: rs.URL(), KeyPrefix: "reelcache", Timeout: time.Second},
		Cache:     config.Cache{Settle: time.Nanosecond, Fill: "async"},
		Packaging: config.Packaging{Enabled: true, SegmentDuration: 6 * time.Second},
		Log:       config.Log{Level: "info", Format: "text"},
	}
	edit(cfg)
	a := testApp(t, cfg, slog.New(slog.DiscardHandler))
	srv := &playerServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("/test/"+script, func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, js) })
	mux.HandleFunc("/test/player.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(page))
	})
	mux.Handle("/", a.echo)
	srv.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.paths.add(r.URL.Path)
		mux.ServeHTTP(w, r)
	}))
	srv.Config.ConnContext = stream.ConnContext
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}
