package stream

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/faststarttest"
	"github.com/reelcache/reelcache/stream/faststart"
)

// withFaststart turns on fast-start views, as media.faststart does.
func withFaststart(o *Options) {
	fs := faststart.New(faststart.Options{Meta: o.Files.(*chunker.Cache)})
	o.Views = func(ctx context.Context, f *chunker.File) (View, error) {
		v, err := fs.View(ctx, f)
		if v == nil {
			return nil, err
		}
		return v, err
	}
}

// TestFaststartDifferential compares reelcache's fast-start view of an
// ffmpeg moov-at-end MP4 with http.ServeContent over the rewritten bytes
// built independently (faststarttest.Reference, with another MP4
// library), for many Range, If-Range, If-None-Match and HEAD requests,
// cold and warm, at a chunk size that puts the file in many chunks.
func TestFaststartDifferential(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync, opts: withFaststart})
	path := faststarttest.Movie(t, s.dir, "end.mp4", 8)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data := faststarttest.Reference(t, orig)
	size := int64(len(data))
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	fileETag := `"` + chunker.VersionOf(fi) + `"`
	head := get(t, "HEAD", s.url("end.mp4"))
	etag := head.header.Get("ETag")
	if head.status != 200 || etag == "" || etag == fileETag || len(etag) < 3 || etag[0] != '"' {
		t.Fatalf("HEAD: %d, ETag %q; want 200 and a strong ETag other than the file's %q", head.status, etag, fileETag)
	}
	p0, err := faststart.Build(t.Context(), bytes.NewReader(orig), size, faststart.DefaultMaxMoov)
	if err != nil || p0 == nil {
		t.Fatalf("Build: %v", err)
	}
	ref := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("ETag", etag)
		http.ServeContent(w, r, "", fi.ModTime(), bytes.NewReader(data))
	}))
	t.Cleanup(ref.Close)
	lastMod := fi.ModTime().UTC().Format(http.TimeFormat)

	g := rangeGen{rand.New(rand.NewPCG(22, 5)), size}
	xcache := map[string]int{}
	for i := range 400 {
		method := "GET"
		header := []string{"Range: " + g.header()}
		switch i % 10 {
		case 5:
			header = nil // the whole file
		case 6:
			// HEAD: reelcache ignores Range on it (TestRangeFixes), so
			// none is sent.
			method, header = "HEAD", nil
		case 7:
			header = append(header, "If-Range: "+etag)
		case 8:
			header = append(header, "If-Range: "+fileETag) // the file's own: not this view's
		case 9:
			header = append(header, "If-Range: "+lastMod)
		}
		if i%40 == 3 {
			header = append(header, "If-None-Match: "+etag)
		}
		got := get(t, method, s.url("end.mp4"), header...)
		want := get(t, method, ref.URL, header...)
		if len(header) > 0 && ignoredByPolicy(header[0], size) && want.status == http.StatusPartialContent {
			if got.status != http.StatusOK || (method == "GET" && !bytes.Equal(got.body, data)) {
				t.Fatalf("%q: status %d, want 200 and the whole view (overlap policy)", header, got.status)
			}
			continue
		}
		compare(t, header, got, want, data)
		if method == "GET" && got.status == 200 && !bytes.Equal(got.body, data) {
			t.Fatalf("%q: 200 body is not the view", header)
		}
		xcache[got.header.Get("X-Cache")]++
	}
	t.Logf("X-Cache counts: %v", xcache)
	if xcache["HIT"] == 0 || xcache["MISS"]+xcache["PARTIAL"] == 0 {
		t.Errorf("X-Cache counts %v: want both cached and uncached answers compared", xcache)
	}
	// A range inside the moov: the view's own bytes, from memory.
	in := fmt.Sprintf("Range: bytes=%d-%d", p0.At+10, p0.At+20)
	if got := get(t, "GET", s.url("end.mp4"), in); got.status != 206 || !bytes.Equal(got.body, data[p0.At+10:p0.At+21]) ||
		got.header.Get("X-Cache") != "HIT" || got.header.Get("Cache-Status") != "reelcache; hit; detail=local" {
		t.Errorf("%s: %d, X-Cache %q, Cache-Status %q; want 206 with the moov's bytes, a local HIT", in, got.status, got.header.Get("X-Cache"), got.header.Get("Cache-Status"))
	}
	// Redis holds the file's chunks once and the patched moov once: no copy
	// of the mdat, no chunks of the view.
	if n, most := len(s.redis.Keys(t.Context(), "reelcache:c:*")), int((size+64<<10-1)/(64<<10)); n == 0 || n > most {
		t.Errorf("%d chunk keys in Redis, want 1 to the file's %d", n, most)
	}
	meta := s.redis.Keys(t.Context(), "reelcache:m:*")
	val, err := s.cache.Meta(t.Context(), chunker.VersionOf(fi), "faststart")
	if len(meta) != 1 || err != nil || len(val) < len(p0.Moov) || len(val) > len(p0.Moov)+64 {
		t.Errorf("metadata keys %q, value of %d bytes (%v); want one, about the moov's %d bytes", meta, len(val), err, len(p0.Moov))
	}
	// The view decodes to the original's frames, read over HTTP.
	if a, b := faststarttest.FrameHashes(t, path), faststarttest.FrameHashes(t, s.url("end.mp4")); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("the view decodes to %d frames differing from the original's %d", len(b), len(a))
	}
}

// TestFaststartOff: without Views, the same file is served as it is,
// under the file's own ETag.
func TestFaststartOff(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 64 << 10})
	path := faststarttest.Movie(t, s.dir, "end.mp4", 2)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(s.dir, "end.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	got := get(t, "GET", s.url("end.mp4"))
	if got.status != 200 || !bytes.Equal(got.body, orig) || got.header.Get("ETag") != `"`+chunker.VersionOf(fi)+`"` {
		t.Fatalf("status %d, ETag %q, body equal %v; want 200, the file's ETag and bytes", got.status, got.header.Get("ETag"), bytes.Equal(got.body, orig))
	}
}

// TestFaststartServedBytes: with Redis and without, the view is served
// whole (BYPASS without Redis), and the served-bytes metric counts the
// file bytes of the body only: not the moov, which comes from memory, nor
// the reads that built the plan.
func TestFaststartServedBytes(t *testing.T) {
	for _, noRedis := range []bool{false, true} {
		t.Run(fmt.Sprintf("noRedis=%v", noRedis), func(t *testing.T) {
			s := newServer(t, serverOptions{chunkSize: 64 << 10, noRedis: noRedis, metrics: true, opts: withFaststart})
			path := faststarttest.Movie(t, s.dir, "end.mp4", 3)
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data := faststarttest.Reference(t, orig)
			p, err := faststart.Build(t.Context(), bytes.NewReader(orig), int64(len(orig)), faststart.DefaultMaxMoov)
			if err != nil || p == nil {
				t.Fatalf("Build: %v", err)
			}
			got := get(t, "GET", s.url("end.mp4"))
			if got.status != 200 || !bytes.Equal(got.body, data) {
				t.Fatalf("status %d, body equal to the rewrite %v", got.status, bytes.Equal(got.body, data))
			}
			if x := got.header.Get("X-Cache"); noRedis != (x == "BYPASS") {
				t.Errorf("X-Cache %q with noRedis %v", x, noRedis)
			}
			var total int64
			for _, n := range scrapeServed(t, s) {
				total += n
			}
			if want := int64(len(data) - len(p.Moov)); total != want {
				t.Errorf("served bytes %d, want %d (the file's bytes of the body)", total, want)
			}
		})
	}
}

// rangeFails is a remote-like origin whose ranged reads past from fail
// with err.
type rangeFails struct {
	remoteLike
	from int64
	err  error
}

func (r rangeFails) ReadRange(ctx context.Context, name, version string, off, n int64) (io.ReadCloser, error) {
	if off+n > r.from {
		return nil, r.err
	}
	return r.remoteLike.ReadRange(ctx, name, version, off, n)
}

// TestFaststartOriginFails: an origin that fails while the view is being
// found (reading the moov at the file's end) gets the viewer the error
// status the body would have got (504 for a timeout, a JSON body, no
// ETag), even for a range the origin could serve: the file's own bytes
// under its own validator would mix, in a player that sends no If-Range,
// with the view's bytes once the origin is back.
func TestFaststartOriginFails(t *testing.T) {
	const chunk = 64 << 10
	s := newServer(t, serverOptions{chunkSize: chunk, opts: withFaststart, origin: func(root *os.Root) chunker.Origin {
		return rangeFails{remoteLike{chunker.NewDir(root, chunker.DirOptions{})}, chunk, fmt.Errorf("test: %w", chunker.ErrOriginTimeout)}
	}})
	path := faststarttest.Movie(t, s.dir, "end.mp4", 6)
	if fi, err := os.Stat(path); err != nil || fi.Size() < 3*chunk {
		t.Fatalf("the movie must span chunks: %v", err)
	}
	got := get(t, "GET", s.url("end.mp4"), "Range: bytes=0-99")
	if got.status != http.StatusGatewayTimeout || got.header.Get("ETag") != "" || !bytes.HasPrefix(got.body, []byte(`{"message":`)) {
		t.Errorf("%d, ETag %q, body %.60q; want 504 with a JSON error and no ETag", got.status, got.header.Get("ETag"), got.body)
	}
}

// BenchmarkFaststart reads random 1 MiB ranges of a warm moov-at-end MP4
// (made by ffmpeg) over loopback HTTP from two reelcache servers in the
// same run: "view" with fast start on (the view's bytes) and "file" with it
// off (the file's own), so that MB/s and cpu-µs/op compare what the view
// costs a response.
func BenchmarkFaststart(b *testing.B) {
	view := newServer(b, serverOptions{chunkSize: 1 << 20, fill: chunker.FillSync, opts: withFaststart})
	path := faststarttest.Movie(b, view.dir, "end.mp4", 10, "-crf", "1", "-vf", "scale=1280:720") // near-lossless 720p: tens of MB
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	file := newServer(b, serverOptions{chunkSize: 1 << 20, fill: chunker.FillSync})
	if err := os.Link(path, filepath.Join(file.dir, "end.mp4")); err != nil {
		b.Fatal(err)
	}
	size := fi.Size()
	for _, s := range []*server{view, file} {
		if r := get(b, "GET", s.url("end.mp4")); int64(len(r.body)) != size {
			b.Fatal("warm-up failed")
		}
	}
	if e := get(b, "HEAD", view.url("end.mp4")).header.Get("ETag"); !strings.HasSuffix(e, `-fs1"`) {
		b.Fatalf("view's ETag %s: not a view", e)
	}
	b.Logf("%d MB file", size>>20)
	for _, conc := range []int{1, 8} {
		for _, tc := range []struct{ name, url string }{{"file", file.url("end.mp4")}, {"view", view.url("end.mp4")}} {
			b.Run(fmt.Sprintf("%s/c=%d", tc.name, conc), func(b *testing.B) {
				benchRanges(b, tc.url, size, 1<<20, conc)
			})
		}
	}
}
