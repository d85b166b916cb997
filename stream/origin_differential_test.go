package stream

import (
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/origin"
	"github.com/reelcache/reelcache/internal/nginxtest"
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
	org, err := origin.NewHTTP(origin.HTTPOptions{URL: ng.URL(), Options: origin.Options{Logger: slog.New(slog.DiscardHandler)}})
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync,
		origin: func(*os.Root) chunker.Origin { return org }})

	obj, err := org.Open(t.Context(), "v.mp4")
	if err != nil {
		t.Fatal(err)
	}
	info := obj.Info()
	ref := referenceServerWith(t, dir, func(fs.FileInfo) string { return info.Version })
	etag := `"` + info.Version + `"`
	lastMod := info.ModTime.UTC().Format(http.TimeFormat)
	differential(t, http.DefaultTransport, 200, 77, s.url("v.mp4"), ref.URL+"/media/v.mp4", etag, lastMod, data)
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
