package stream

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/poll"
)

// TestRateShaping: with limit_rate 2 MiB/s after 4 MiB, a 12 MiB download
// through Go's http.Client from an in-process server is byte-exact, comes
// from the path under test (X-Cache and Cache-Status), and takes at least
// 3.2 s (the pace's 4 s less 20%); it may take 4.8 s plus 12 times what an
// unpaced 1 MiB took just before, so under -race and load its upper bound
// is loose. It covers four paths: from Redis, from the local tier, from
// disk with sendfile (cache off), and, which TestRateShapingCurl does not
// run, through the chunk reader of an origin without a local file (issue
// 16). A download within limit_rate_after is not slowed. The issue's "4 s
// +-20%" with a real client is TestRateShapingCurl in cmd/reelcache: the
// binary built without -race, real curl, 3.2 s to 4.8 s with no slack.
// The paths run in parallel: about 4 s in all.
func TestRateShaping(t *testing.T) {
	const (
		size  = 12 << 20
		rate  = 2 << 20
		after = 4 << 20
		want  = 4 * time.Second
	)
	shaped := func(o *Options) { o.LimitRate, o.LimitRateAfter = rate, after }
	for _, tt := range []struct {
		name   string
		o      serverOptions
		warm   bool // read the file through the cache first (at full speed)
		xcache string
		cs     string
	}{
		{"redis", serverOptions{chunkSize: 1 << 20, fill: chunker.FillSync, opts: shaped}, true, "HIT", "reelcache; hit"},
		{"local tier", serverOptions{chunkSize: 1 << 20, fill: chunker.FillOff, local: 16 << 20, opts: shaped}, true, "HIT", "reelcache; hit; detail=local"},
		{"cache off, sendfile", serverOptions{noRedis: true, opts: shaped}, false, "BYPASS", "reelcache; fwd=bypass"},
		{"no local file", serverOptions{noRedis: true, origin: remoteOrigin, opts: shaped}, false, "BYPASS", "reelcache; fwd=bypass"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, tt.o)
			data := s.write(t, "v.mp4", size, 7)
			// Warm up: one read fills Redis; a second fills the local
			// tier, which keeps what two requests read. The tier takes a
			// chunk just after its readers have the bytes, and a chunk a
			// read met while another was filling it may need one more
			// request: read until the tier holds the file (at most 5).
			read := func() {
				f, err := s.cache.Open(t.Context(), "v.mp4")
				if err != nil {
					t.Fatal(err)
				}
				n, err := f.ReadAt(make([]byte, size), 0)
				f.Close()
				if n != size || err != nil {
					t.Fatalf("warm-up read %d bytes: %v", n, err)
				}
				poll.Until(t, 10*time.Second, func() bool { return s.cache.Stats().Inflight == 0 }, "the cache still holds chunk bytes")
			}
			for range warmUps(tt.warm, tt.o.local) {
				read()
			}
			for i := 0; tt.o.local > 0 && s.cache.Stats().LocalHeld < size; i++ {
				if i == 3 {
					t.Fatalf("after 5 reads the local tier holds %d bytes of %d", s.cache.Stats().LocalHeld, size)
				}
				read()
			}
			// Within limit_rate_after: full speed, far faster than the
			// 0.5 s that 1 MiB at 2 MiB/s would take.
			start := time.Now()
			r := get(t, "GET", s.url("v.mp4"), "Range: bytes=0-1048575")
			fast := time.Since(start)
			if fast >= 500*time.Millisecond || !bytes.Equal(r.body, data[:1<<20]) {
				t.Errorf("1 MiB within limit_rate_after took %v (%d bytes)", fast, len(r.body))
			}

			client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
			start = time.Now()
			res, err := client.Get(s.url("v.mp4"))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			took := time.Since(start)
			if err != nil || !bytes.Equal(body, data) {
				t.Fatalf("%d bytes, %v: not the file's", len(body), err)
			}
			if res.Header.Get("X-Cache") != tt.xcache || res.Header.Get("Cache-Status") != tt.cs {
				t.Errorf("X-Cache %q, Cache-Status %q; want %q, %q (not the path under test)",
					res.Header.Get("X-Cache"), res.Header.Get("Cache-Status"), tt.xcache, tt.cs)
			}
			// Never faster than the pace allows; slower only by what moving
			// 12 MiB costs this machine now (12 x the unpaced 1 MiB above:
			// milliseconds when it is quiet, more under -race and load).
			if took < want*8/10 || took > want*12/10+12*fast {
				t.Errorf("12 MiB at 2 MiB/s after 4 MiB took %v, want %v to %v + %v", took, want*8/10, want*12/10, 12*fast)
			}
			t.Logf("%s: 12 MiB in %v", tt.name, took.Round(time.Millisecond))
		})
	}
}

// warmUps is how many whole reads warm a server up: none without a cache,
// one to fill Redis, two to fill a local tier too.
func warmUps(warm bool, local int64) int {
	switch {
	case !warm:
		return 0
	case local > 0:
		return 2
	}
	return 1
}
