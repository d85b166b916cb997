package stream

import (
	"bytes"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/origin"
	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/internal/nginxtest"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// TestDifferentialRangesHTTPOrigin is TestDifferentialRanges with the media
// behind a real nginx (an HTTP origin) instead of in a local directory:
// reelcache in front of it must answer the same random Range headers as
// http.ServeContent on the same file, cold (chunks read by ranged GETs from
// nginx) and warm (from Redis).
func TestDifferentialRangesHTTPOrigin(t *testing.T) {
	dir := t.TempDir()
	const size = 1<<20 + 3<<16 + 12345
	data := testmedia.Bytes(size, 21)
	p := filepath.Join(dir, "v.mp4")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour) // settled: its chunks are cached
	os.Chtimes(p, old, old)
	ng := nginxtest.Start(t, nginxtest.Options{Root: dir})

	rs := redistest.Start(t)
	rdb, err := store.NewRedisClient(rs.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	log := slog.New(slog.DiscardHandler)
	org, err := origin.NewHTTP(origin.HTTPOptions{URL: ng.URL(), Options: origin.Options{Logger: log}})
	if err != nil {
		t.Fatal(err)
	}
	store := store.New(store.Options{Client: rdb, Timeout: 10 * time.Second, WriteTimeout: 5 * time.Second, Logger: log})
	cache, err := chunker.New(chunker.Options{Origin: org, Store: store, ChunkSize: 64 << 10, Fill: chunker.FillSync, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cache.Close() })
	h, err := New(Options{Files: cache, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	h.Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	obj, err := org.Open(t.Context(), "v.mp4")
	if err != nil {
		t.Fatal(err)
	}
	info := obj.Info()
	etag := `"` + info.Version + `"`
	ref := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(p)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("ETag", etag)
		http.ServeContent(w, r, "", info.ModTime, f)
	}))
	t.Cleanup(ref.Close)
	lastMod := info.ModTime.UTC().Format(http.TimeFormat)

	g := rangeGen{rand.New(rand.NewPCG(77, 7)), size}
	xcache := map[string]int{}
	for i := range 200 {
		header := []string{"Range: " + g.header()}
		switch i % 10 {
		case 7:
			header = append(header, "If-Range: "+etag)
		case 8:
			header = append(header, `If-Range: "other"`)
		case 9:
			header = append(header, "If-Range: "+lastMod)
		}
		if i%50 == 3 {
			header = append(header, "If-None-Match: "+etag)
		}
		got := get(t, "GET", srv.URL+"/media/v.mp4", header...)
		want := get(t, "GET", ref.URL+"/media/v.mp4", header...)
		if ignoredByPolicy(header[0], size) && want.status == http.StatusPartialContent {
			if got.status != http.StatusOK || !bytes.Equal(got.body, data) {
				t.Fatalf("%q: status %d, want 200 and the whole file", header, got.status)
			}
			continue
		}
		compare(t, header, got, want, data)
		xcache[got.header.Get("X-Cache")]++
	}
	t.Logf("X-Cache counts: %v", xcache)
	if xcache["HIT"] == 0 || xcache["MISS"]+xcache["PARTIAL"] == 0 {
		t.Errorf("X-Cache counts %v: want both cached and uncached answers compared", xcache)
	}
	gets := 0
	for _, l := range ng.AccessLog() {
		if strings.HasPrefix(l, "GET /v.mp4") {
			gets++
		}
	}
	// Every chunk is read from nginx once, then served from Redis.
	if chunks := (size + 64<<10 - 1) / (64 << 10); gets > chunks {
		t.Errorf("%d ranged GETs to the origin for %d chunks", gets, chunks)
	}
	t.Logf("%d ranged GETs to the origin", gets)
}
