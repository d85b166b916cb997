package cachewarm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/testmedia"
	"github.com/reelcache/reelcache/stream"
)

// TestWarmThenServeAllHits: after warming a directory, random ranges of
// every file are X-Cache: HIT with zero bytes read from disk.
func TestWarmThenServeAllHits(t *testing.T) {
	fx := newFixture(t)
	files := map[string][]byte{
		"a.mp4":          testmedia.Bytes(1_000_003, 1),
		"dir/b.webm":     testmedia.Bytes(64<<10, 2),
		"dir/sub/c.mkv":  testmedia.Bytes(5, 3),
		"dir/sub/d.mp4":  testmedia.Bytes(300_000, 4),
		".hidden/e.mp4":  testmedia.Bytes(100, 5),
		"dir/.f.mp4":     testmedia.Bytes(100, 6),
		"dir/empty.webm": nil,
	}
	for n, b := range files {
		fx.write(t, n, b)
	}
	rep := fx.warm(t, Options{Concurrency: 3, Depth: 3})
	if rep.Files != 5 || rep.Failed != 0 || rep.Written != rep.Chunks || rep.Written != 16+1+1+5 {
		t.Fatalf("report %+v: want 5 files, 23 chunks written", rep)
	}

	// A server with its own Cache (and stats) on the same Redis and root.
	srvCache := fx.newCache(t, chunker.Options{ChunkSize: chunkSize})
	url := serve(t, srvCache)

	r := rand.New(rand.NewPCG(9, 9))
	for name, data := range files {
		if strings.Contains(name, "/.") || strings.HasPrefix(name, ".") || len(data) == 0 {
			continue
		}
		for range 20 {
			a := r.IntN(len(data))
			b := a + r.IntN(len(data)-a)
			req, _ := http.NewRequest("GET", url+stream.MediaURL(name), nil)
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", a, b))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if !bytes.Equal(body, data[a:b+1]) {
				t.Fatalf("%s bytes=%d-%d: wrong bytes", name, a, b)
			}
			if x := res.Header.Get("X-Cache"); x != "HIT" {
				t.Fatalf("%s bytes=%d-%d: X-Cache %q, want HIT", name, a, b, x)
			}
		}
	}
	if s := srvCache.Stats(); s.DiskBytes != 0 || s.RedisBytes == 0 {
		t.Errorf("server stats %+v: want zero disk bytes", s)
	}
}

// moovChunks finds the moov box by scanning for its type bytes (not with
// lateMoov, which it checks) and returns the chunks holding it.
func moovChunks(t *testing.T, data []byte) []int64 {
	t.Helper()
	i := bytes.LastIndex(data, []byte("moov"))
	if i < 4 {
		t.Fatal("no moov in sample")
	}
	off := int64(i - 4)
	size := int64(binary.BigEndian.Uint32(data[off:]))
	var idx []int64
	for c := off / chunkSize; c <= (off+size-1)/chunkSize; c++ {
		idx = append(idx, c)
	}
	return idx
}

// TestWarmModes: head warms exactly the head chunks, plus moov's for an MP4
// whose moov is at the end; edges adds the tail.
func TestWarmModes(t *testing.T) {
	fx := newFixture(t)
	late := fx.copySample(t, "sample-moov-at-end.mp4")
	fx.copySample(t, "sample-faststart.mp4")
	fx.copySample(t, "sample.webm")
	last := func(n int) int64 { return int64((n - 1) / chunkSize) }

	fx.warm(t, Options{Mode: Head, Head: 150_000}) // bytes 0..149999: chunks 0-2
	head := []int64{0, 1, 2}
	want := slices.Concat(head, moovChunks(t, late))
	slices.Sort(want)
	want = slices.Compact(want)
	if got := fx.cachedChunks(t, "sample-moov-at-end.mp4"); !slices.Equal(got, want) {
		t.Errorf("moov at end, head: cached %v, want %v (head and moov)", got, want)
	}
	if !slices.Contains(want, last(len(late))) {
		t.Errorf("moov chunks %v do not reach the last chunk %d: sample not moov-at-end?", want, last(len(late)))
	}
	for _, n := range []string{"sample-faststart.mp4", "sample.webm"} {
		if got := fx.cachedChunks(t, n); !slices.Equal(got, head) {
			t.Errorf("%s, head: cached %v, want %v", n, got, head)
		}
	}

	fx.warm(t, Options{Mode: Edges, Head: 100_000}, "sample.webm")
	size := 1233649
	wantEdges := []int64{0, 1, 2, last(size) - 1, last(size)} // tail 100000 bytes span two chunks
	if got := fx.cachedChunks(t, "sample.webm"); !slices.Equal(got, wantEdges) {
		t.Errorf("webm, edges: cached %v, want %v", got, wantEdges)
	}
}

// TestWarmSkipForceDryRun: a second warm writes nothing, --force rewrites,
// --dry-run writes nothing.
func TestWarmSkipForceDryRun(t *testing.T) {
	fx := newFixture(t)
	fx.write(t, "a.mp4", testmedia.Bytes(500_000, 1))
	if rep := fx.warm(t, Options{DryRun: true}); rep.Written != 0 || rep.Chunks != 8 || rep.Bytes != 500_000 {
		t.Fatalf("dry run: %+v", rep)
	}
	if keys := fx.redis.Keys(t.Context(), "*"); len(keys) != 0 {
		t.Fatalf("dry run wrote %d keys", len(keys))
	}
	if rep := fx.warm(t, Options{}); rep.Written != 8 {
		t.Fatalf("first warm: %+v", rep)
	}
	if rep := fx.warm(t, Options{}); rep.Written != 0 || rep.Skipped != 8 {
		t.Fatalf("second warm: %+v, want all skipped", rep)
	}
	if rep := fx.warm(t, Options{Force: true}); rep.Written != 8 || rep.Skipped != 0 {
		t.Fatalf("forced warm: %+v, want all written", rep)
	}
}

// TestChangedAfterWarm: status shows a changed file uncached, and the server
// serves its new bytes.
func TestChangedAfterWarm(t *testing.T) {
	fx := newFixture(t)
	fx.write(t, "a.mp4", testmedia.Bytes(200_000, 1))
	fx.warm(t, Options{})
	st, err := Status(t.Context(), fx.cache, []string{"a.mp4"})
	if err != nil || st[0].Cached != 4 {
		t.Fatalf("status after warm: %+v %v", st, err)
	}
	next := testmedia.Bytes(200_000, 2)
	p := filepath.Join(fx.dir, "a.mp4")
	fi, _ := os.Stat(p)
	os.WriteFile(p, next, 0o644)
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	st, _ = Status(t.Context(), fx.cache, []string{"a.mp4"})
	if st[0].Cached != 0 {
		t.Errorf("status after change: %d cached, want 0", st[0].Cached)
	}
	var out bytes.Buffer
	WriteStatus(&out, st, 10)
	if !strings.Contains(out.String(), "0/4") || !strings.Contains(out.String(), "[....]") {
		t.Errorf("status line %q", out.String())
	}
	f, _ := fx.cache.Open(t.Context(), "a.mp4")
	defer f.Close()
	got := make([]byte, 200_000)
	f.PrepareSources(0, 200_000, true).Status()
	if _, err := f.ReadAt(got, 0); err != nil || !bytes.Equal(got, next) {
		t.Errorf("read after change: err %v, new bytes %v", err, bytes.Equal(got, next))
	}
}

// TestWarmNoEviction: with Redis full and noeviction, warm names the failed
// chunks, and what fits is written.
func TestWarmNoEviction(t *testing.T) {
	fx := newFixture(t, "maxmemory", "3mb", "maxmemory-policy", "noeviction")
	fx.write(t, "big.mp4", testmedia.Bytes(8<<20, 1))
	rep := fx.warm(t, Options{Concurrency: 1, Depth: 1})
	if rep.Failed == 0 || len(rep.Failures) != int(rep.Failed) || rep.Written+rep.Failed != rep.Chunks {
		t.Fatalf("report %+v: want some failures, each named", rep)
	}
	if !strings.Contains(rep.Failures[0].Err, "OOM") {
		t.Errorf("failure %+v: want Redis's OOM error", rep.Failures[0])
	}
	if len(rep.Warnings) < 2 {
		t.Errorf("warnings %q: want maxmemory and noeviction warnings", rep.Warnings)
	}
	if got := int64(len(fx.cachedChunks(t, "big.mp4"))); got != rep.Written {
		t.Errorf("%d chunks in Redis, report says %d written", got, rep.Written)
	}
}

// TestPurge removes exactly the targeted keys.
func TestPurge(t *testing.T) {
	fx := newFixture(t)
	fx.write(t, "a.mp4", testmedia.Bytes(200_000, 1))
	fx.write(t, "b.mp4", testmedia.Bytes(100_000, 2))
	fx.warm(t, Options{})
	other := fx.redis.Client()
	other.Set(t.Context(), "otherapp:c:x:1:0", "keep", 0)
	other.Set(t.Context(), "reelcachex:c:x:1:0", "keep", 0)

	n, err := PurgeFiles(t.Context(), fx.cache, []string{"a.mp4"})
	if err != nil || n != 4 {
		t.Fatalf("purge a.mp4: %d, %v; want 4", n, err)
	}
	if got := fx.cachedChunks(t, "b.mp4"); len(got) != 2 {
		t.Errorf("b.mp4 after purging a.mp4: %v cached", got)
	}
	n, err = PurgeAll(t.Context(), fx.cache.Store())
	if err != nil || n != 2 {
		t.Fatalf("purge all: %d, %v; want 2", n, err)
	}
	keys := fx.redis.Keys(t.Context(), "*")
	slices.Sort(keys)
	// Left: the other prefixes' keys, and the purge generation that tells
	// serving instances to empty their local tiers (chunker/purge.go).
	if !slices.Equal(keys, []string{"otherapp:c:x:1:0", "reelcache:purge:gen", "reelcachex:c:x:1:0"}) {
		t.Errorf("keys left %v, want only the other prefixes' and reelcache:purge:gen", keys)
	}
}

func TestLateMoov(t *testing.T) {
	for _, tt := range []struct {
		name string
		late bool
	}{
		{"sample-moov-at-end.mp4", true},
		{"sample-faststart.mp4", false},
		{"sample.webm", false},
	} {
		f, err := os.Open(filepath.Join(testmedia.SamplesDir(t), tt.name))
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		off, n, ok := lateMoov(f, fi.Size())
		f.Close()
		if ok != tt.late {
			t.Errorf("%s: late moov %v, want %v", tt.name, ok, tt.late)
		}
		if ok && off+n != fi.Size() {
			t.Errorf("%s: moov at %d+%d, want it to end the file (%d)", tt.name, off, n, fi.Size())
		}
	}
	// Garbage never panics or loops.
	for seed := range uint64(200) {
		b := testmedia.Bytes(int(seed*7), seed)
		lateMoov(bytes.NewReader(b), int64(len(b)))
	}
}

func TestChunkMap(t *testing.T) {
	for _, tt := range []struct {
		found []bool
		width int
		want  string
	}{
		{[]bool{true, false, true}, 10, "#.#"},
		{[]bool{true, true, false, false, true, false}, 3, "#.+"},
		{nil, 10, ""},
	} {
		if got := ChunkMap(tt.found, tt.width); got != tt.want {
			t.Errorf("ChunkMap(%v, %d) = %q, want %q", tt.found, tt.width, got, tt.want)
		}
	}
}

// TestWarmWaitsForAFreshFile: a file copied in a moment ago is warmed once
// the settle window has passed, as the server would cache it, not before
// (its bytes may still be those of an in-place rewrite).
func TestWarmWaitsForAFreshFile(t *testing.T) {
	fx := newFixture(t)
	const settle = 700 * time.Millisecond
	c := fx.newCache(t, chunker.Options{ChunkSize: chunkSize, Fill: chunker.FillOff, Settle: settle})
	fx.write(t, "fresh.mp4", bytes.Repeat([]byte("0123456789abcdef"), 20_000))
	written := time.Now()
	rep, err := Warm(t.Context(), []string{"fresh.mp4"}, Options{Cache: c, Logger: slog.New(slog.DiscardHandler)})
	if err != nil || rep.Failed != 0 || rep.Written != 5 {
		t.Fatalf("warm: %v, %+v", err, rep)
	}
	if waited := time.Since(written); waited < settle-50*time.Millisecond {
		t.Errorf("warm wrote a file changed %v before: want it to wait out the %v settle window", waited, settle)
	}
}
