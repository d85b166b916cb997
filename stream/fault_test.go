package stream

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/poll"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// slowGet reads url (with an optional Range) pausing between 64 KiB reads,
// as a client streaming video does, and calls midway once after the first
// midwayAt bytes. It returns what it got and the read error, if any.
func slowGet(t *testing.T, url, rng string, pause time.Duration, midwayAt int, midway func()) ([]byte, *http.Response, error) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	res, err := tr.RoundTrip(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	var got bytes.Buffer
	buf := make([]byte, 64<<10)
	for {
		n, err := res.Body.Read(buf)
		got.Write(buf[:n])
		if midway != nil && got.Len() >= midwayAt {
			midway()
			midway = nil
		}
		if err == io.EOF {
			return got.Bytes(), res, nil
		}
		if err != nil {
			return got.Bytes(), res, err
		}
		time.Sleep(pause)
	}
}

// TestRedisKilledDuringStreams: SIGKILL Redis while 20 clients stream; every
// stream completes with the file's bytes.
func TestRedisKilledDuringStreams(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync, timeout: 200 * time.Millisecond})
	const size = 3 << 20
	data := s.write(t, "v.mp4", size, 21)
	get(t, "GET", s.url("v.mp4"), "Range: bytes=0-1572863") // first half cached
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	started := make(chan struct{}, 20)
	for i := range 20 {
		wg.Go(func() {
			off := i * 50_000
			got, res, err := slowGet(t, s.url("v.mp4"), fmt.Sprintf("bytes=%d-", off), 3*time.Millisecond, 128<<10, func() { started <- struct{}{} })
			switch {
			case err != nil:
				errs <- fmt.Errorf("stream %d: %v after %d bytes", i, err, len(got))
			case res.StatusCode != 206 || !bytes.Equal(got, data[off:]):
				errs <- fmt.Errorf("stream %d: status %d, %d bytes, not the file's", i, res.StatusCode, len(got))
			}
		})
	}
	for range 20 {
		<-started
	}
	s.redis.Kill()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestRedisHung: with Redis stopped (SIGSTOP), requests still complete,
// from disk, within the Redis timeout plus a margin; after SIGCONT the
// breaker closes and hits return.
func TestRedisHung(t *testing.T) {
	const timeout = 100 * time.Millisecond
	s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync, timeout: timeout})
	data := s.write(t, "v.mp4", 1<<20, 22)
	get(t, "GET", s.url("v.mp4")) // everything cached
	if r := get(t, "GET", s.url("v.mp4"), "Range: bytes=0-99"); r.header.Get("X-Cache") != "HIT" {
		t.Fatalf("before: X-Cache %q", r.header.Get("X-Cache"))
	}
	s.redis.Pause()
	defer s.redis.Resume()
	// The margin is generous because the race detector and a 2-core
	// machine slow everything; a hung request would take forever.
	const limit = timeout + time.Second
	for i := range 10 {
		a := int64(i * 70_000)
		start := time.Now()
		r := get(t, "GET", s.url("v.mp4"), fmt.Sprintf("Range: bytes=%d-%d", a, a+200_000))
		took := time.Since(start)
		if r.status != 206 || !bytes.Equal(r.body, data[a:a+200_001]) {
			t.Fatalf("request %d with Redis hung: status %d, wrong bytes", i, r.status)
		}
		if took > limit {
			t.Errorf("request %d with Redis hung took %v, want under %v", i, took, limit)
		}
	}
	s.redis.Resume()
	poll.Until(t, 10*time.Second, func() bool {
		r := get(t, "GET", s.url("v.mp4"), "Range: bytes=0-99")
		return r.header.Get("X-Cache") == "HIT" && bytes.Equal(r.body, data[:100])
	}, "no HIT with the file's bytes once Redis answered again")
}

// TestRedisRefusingIsBypass: a Redis whose port refuses connections fails
// fast, and a response whose chunks it could not be asked about says
// BYPASS, not MISS (nothing was missed: the cache was unavailable), while
// what the local tier holds still says HIT.
func TestRedisRefusingIsBypass(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync, timeout: 5 * time.Second, local: 1 << 20})
	data := s.write(t, "v.mp4", 500_000, 24)
	// Until the cache has read the purge count, Redis failing empties
	// the tier (a purge may have been missed).
	select {
	case <-s.cache.PurgesWatched():
	case <-time.After(10 * time.Second):
		t.Fatal("the cache never subscribed to purge announcements")
	}
	if r := get(t, "GET", s.url("v.mp4"), "Range: bytes=0-99"); r.header.Get("X-Cache") != "MISS" {
		t.Fatalf("first request: X-Cache %q, want MISS", r.header.Get("X-Cache"))
	}
	// A second request for chunk 0, reading at least half of it: the
	// local tier takes it from Redis.
	if r := get(t, "GET", s.url("v.mp4"), "Range: bytes=0-49999"); r.header.Get("X-Cache") != "HIT" {
		t.Fatalf("second request: X-Cache %q, want HIT", r.header.Get("X-Cache"))
	}
	// The tier takes the chunk just after the response has its bytes.
	poll.Until(t, 10*time.Second, func() bool { return s.cache.Stats().LocalHeld > 0 }, "the local tier did not take chunk 0")
	s.redis.Kill()
	for _, tt := range []struct {
		from int
		want string
	}{
		{100, "HIT"},        // chunk 0, in the local tier
		{200_000, "BYPASS"}, // chunk 3: Redis cannot be asked
	} {
		rng := fmt.Sprintf("bytes=%d-%d", tt.from, tt.from+99)
		r := get(t, "GET", s.url("v.mp4"), "Range: "+rng)
		if r.status != 206 || !bytes.Equal(r.body, data[tt.from:tt.from+100]) {
			t.Fatalf("%s with Redis down: status %d, wrong bytes", rng, r.status)
		}
		if x := r.header.Get("X-Cache"); x != tt.want {
			t.Errorf("%s with Redis down: X-Cache %q, want %q", rng, x, tt.want)
		}
	}
}

// TestRedisRestarted: with Redis down (its port refusing connections, so
// every call fails fast) responses are exact and say BYPASS, not MISS: the
// cache was not asked. Redis restarted (empty) on the same port is used
// again without restarting the server.
func TestRedisRestarted(t *testing.T) {
	// A timeout long enough for go-redis's retries of a refused
	// connection to give up before it: the calls fail fast, not slow.
	s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync, timeout: 5 * time.Second})
	data := s.write(t, "v.mp4", 500_000, 23)
	s.redis.Kill()
	for i := range 5 {
		r := get(t, "GET", s.url("v.mp4"))
		if !bytes.Equal(r.body, data) {
			t.Fatal("wrong bytes with Redis down")
		}
		if x, cs := r.header.Get("X-Cache"), r.header.Get("Cache-Status"); x != "BYPASS" || cs != "reelcache; fwd=bypass" {
			t.Errorf("request %d with Redis down: X-Cache %q, Cache-Status %q; want BYPASS", i, x, cs)
		}
	}
	s.redis.Restart()
	poll.Until(t, 10*time.Second, func() bool {
		r := get(t, "GET", s.url("v.mp4"), "Range: bytes=1000-1999")
		return r.header.Get("X-Cache") == "HIT" && bytes.Equal(r.body, data[1000:2000])
	}, "no HIT with the file's bytes from the restarted Redis")
}

// TestColdStampede: 50 concurrent requests for the same cold range read
// each chunk from disk once.
func TestColdStampede(t *testing.T) {
	s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillAsync})
	data := s.write(t, "v.mp4", 1<<20, 24)
	const a, b = 100_000, 400_000 // chunks 1..6
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			r := get(t, "GET", s.url("v.mp4"), fmt.Sprintf("Range: bytes=%d-%d", a, b))
			if !bytes.Equal(r.body, data[a:b+1]) {
				t.Error("wrong bytes")
			}
		})
	}
	wg.Wait()
	if st := s.cache.Stats(); st.Misses != 6 || st.DiskBytes != 6*64<<10 {
		t.Errorf("stats %+v: want 6 chunks read from disk, once each", st)
	}
}

// TestFileChangedMidStream: a file rewritten in place, truncated or replaced
// by rename while a response streams is cut off, and what was sent is the
// old version's bytes; a deleted one is 404 next time. With the cache on
// (chunk path) and off (sendfile).
func TestFileChangedMidStream(t *testing.T) {
	for _, cacheOn := range []bool{true, false} {
		for _, change := range []string{"rewrite", "truncate", "rename"} {
			t.Run(fmt.Sprintf("cache=%v/%s", cacheOn, change), func(t *testing.T) {
				s := newServer(t, serverOptions{chunkSize: 64 << 10, noRedis: !cacheOn, fill: chunker.FillSync})
				const size = 24 << 20 // far more than socket buffers hold
				old := s.write(t, "v.mp4", size, 25)
				p := filepath.Join(s.dir, "v.mp4")
				if cacheOn {
					get(t, "GET", s.url("v.mp4"), "Range: bytes=0-1048575") // some chunks from Redis
				}
				got, _, err := slowGet(t, s.url("v.mp4"), "", 0, 1<<20, func() {
					fi, _ := os.Stat(p)
					switch change {
					case "rewrite":
						f, _ := os.OpenFile(p, os.O_WRONLY, 0)
						f.Write(testmedia.Bytes(size, 26))
						f.Close()
						os.Chtimes(p, fi.ModTime(), fi.ModTime())
					case "truncate":
						os.Truncate(p, size/2)
					case "rename":
						os.WriteFile(p+".new", testmedia.Bytes(size, 27), 0o644)
						os.Rename(p+".new", p)
					}
				})
				if err == nil || len(got) == size {
					t.Fatalf("%s: got all %d bytes without error, want a cut-off response", change, len(got))
				}
				// What came is the old version's bytes, except on the
				// sendfile path after an in-place rewrite: sendfile hands
				// the socket references to page-cache pages, so bytes
				// still in socket buffers change with the file (as with
				// any sendfile server). That is cut off, not prevented.
				if cacheOn || change != "rewrite" {
					if !bytes.Equal(got, old[:len(got)]) {
						t.Fatalf("got %d bytes that are not a prefix of the old version", len(got))
					}
				}
			})
		}
	}
	s := newServer(t, serverOptions{chunkSize: 64 << 10})
	s.write(t, "v.mp4", 1000, 28)
	get(t, "GET", s.url("v.mp4"))
	os.Remove(filepath.Join(s.dir, "v.mp4"))
	if r := get(t, "GET", s.url("v.mp4")); r.status != 404 {
		t.Errorf("deleted: status %d, want 404", r.status)
	}
}

// TestRedisFull: with Redis at maxmemory, allkeys-lru evictions are partial
// hits and noeviction write errors leave disk serving going, with the
// failures logged at most once a minute; every byte is right either way.
func TestRedisFull(t *testing.T) {
	for _, policy := range []string{"allkeys-lru", "noeviction"} {
		t.Run(policy, func(t *testing.T) {
			s := newServerWith(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync},
				"maxmemory", "4mb", "maxmemory-policy", policy)
			const size = 8 << 20 // four times maxmemory
			data := s.write(t, "v.mp4", size, 31)
			seen := map[string]int{}
			for round := range 2 {
				for j := range 16 {
					i := j
					if round == 1 {
						i = 15 - j // most recently cached first
					}
					a := int64(i) * (size / 16)
					r := get(t, "GET", s.url("v.mp4"), fmt.Sprintf("Range: bytes=%d-%d", a, a+300_000))
					if r.status != 206 || !bytes.Equal(r.body, data[a:a+300_001]) {
						t.Fatalf("round %d, range %d: status %d, wrong bytes", round, i, r.status)
					}
					if round == 1 {
						seen[r.header.Get("X-Cache")]++
					}
				}
			}
			st := s.cache.Stats()
			t.Logf("%s: second round X-Cache %v; stats %+v", policy, seen, st)
			switch policy {
			case "allkeys-lru":
				if st.FillErrors != 0 || st.Fills == 0 {
					t.Errorf("allkeys-lru: %d fill errors, %d fills; want writes to succeed", st.FillErrors, st.Fills)
				}
				if seen["HIT"]+seen["PARTIAL"] == 0 || seen["MISS"] == 0 {
					t.Errorf("allkeys-lru: X-Cache %v; want recent ranges (partly) cached and old ones evicted", seen)
				}
			case "noeviction":
				if st.FillErrors == 0 {
					t.Error("noeviction: no fill errors with Redis full")
				}
				if n := strings.Count(s.logs.String(), "caching chunks failed"); n != 1 {
					t.Errorf("noeviction: %d log lines about failed fills, want 1 (rate-limited)", n)
				}
			}
			if seen["BYPASS"] != 0 {
				t.Errorf("%s: X-Cache %v: a full Redis must not open the breaker", policy, seen)
			}
		})
	}
}
