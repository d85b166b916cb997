package stream

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/poll"
)

// BenchmarkRandomRanges reads random 1 MiB ranges of a 64 MiB file over
// loopback HTTP, one connection per client goroutine, from:
//
//   - warm: reelcache with every chunk in Redis;
//   - local: reelcache with every chunk in its local tier
//     (cache.local_bytes) as well;
//   - off: reelcache with the cache off (ServeContent on the *os.File,
//     sendfile);
//   - servecontent: plain http.ServeContent on the *os.File, the peer the
//     other two are compared with in the same run;
//   - warm-shaped, off-shaped: warm and off with rate shaping on
//     (http.limit_rate) but every response within limit_rate_after, so
//     that they show what Shape costs a response it does not slow down
//     (and that sendfile survives it).
//
// Compare MB/s between sub-benchmarks of one run; `make bench` prints them.
// cpu-µs/op is the CPU time (user and system, client and server, all in
// this process) per request: steadier than MB/s on a busy machine.
func BenchmarkRandomRanges(b *testing.B) {
	const size = 64 << 20
	warm := newServer(b, serverOptions{chunkSize: 1 << 20, fill: chunker.FillSync})
	warm.write(b, "v.mp4", size, 1)
	if r := get(b, "GET", warm.url("v.mp4")); len(r.body) != size {
		b.Fatal("warm-up failed")
	}
	if n := len(warm.redis.Keys(b.Context(), "reelcache:c:*")); n != size>>20 {
		b.Fatalf("%d chunks in Redis after warm-up, want %d", n, size>>20)
	}
	// The local tier keeps what a second request reads: two reads make
	// it hot, once the last chunk has landed in it.
	local := newServer(b, serverOptions{chunkSize: 1 << 20, fill: chunker.FillSync, local: size})
	local.write(b, "v.mp4", size, 1)
	for range 2 {
		if r := get(b, "GET", local.url("v.mp4")); len(r.body) != size {
			b.Fatal("warm-up failed")
		}
	}
	poll.Until(b, 10*time.Second, func() bool { return local.cache.Stats().LocalHeld >= size }, "the local tier never held the file")
	// What the warm-up read, so that the checks below see only the
	// benchmark's reads (a read-ahead window of the warm-up itself may go
	// to Redis while the chunk it asks for is on its way to the tier).
	warmUp := local.cache.Stats()
	off := newServer(b, serverOptions{noRedis: true})
	off.write(b, "v.mp4", size, 1)
	ref := referenceServer(b, off.dir)
	shaped := func(o *Options) { o.LimitRate, o.LimitRateAfter = 1<<20, 1<<40 }
	warmShaped := newServer(b, serverOptions{chunkSize: 1 << 20, fill: chunker.FillSync, opts: shaped})
	warmShaped.write(b, "v.mp4", size, 1)
	if r := get(b, "GET", warmShaped.url("v.mp4")); len(r.body) != size {
		b.Fatal("warm-up failed")
	}
	offShaped := newServer(b, serverOptions{noRedis: true, opts: shaped})
	offShaped.write(b, "v.mp4", size, 1)

	for _, tc := range []struct{ name, url string }{
		{"warm", warm.url("v.mp4")},
		{"warm-shaped", warmShaped.url("v.mp4")}, // next to its peer, so that load drift hits both alike
		{"local", local.url("v.mp4")},
		{"off", off.url("v.mp4")},
		{"off-shaped", offShaped.url("v.mp4")},
		{"servecontent", ref.URL + "/media/v.mp4"},
	} {
		for _, conc := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/c=%d", tc.name, conc), func(b *testing.B) {
				benchRanges(b, tc.url, size, 1<<20, conc)
			})
		}
	}
	if s := warm.cache.Stats(); s.DiskBytes != size {
		b.Errorf("warm server read %d bytes from disk, want only the %d of the warm-up", s.DiskBytes, size)
	}
	if s := local.cache.Stats(); s.DiskBytes != warmUp.DiskBytes || s.RedisBytes != warmUp.RedisBytes {
		b.Errorf("local-tier server read %d bytes from disk and %d from Redis after its warm-up, want none",
			s.DiskBytes-warmUp.DiskBytes, s.RedisBytes-warmUp.RedisBytes)
	}
}

func benchRanges(b *testing.B, url string, size, n int64, conc int) {
	tr := &http.Transport{MaxIdleConnsPerHost: conc, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	b.SetBytes(n)
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	cpu0 := cpuTime()
	b.ResetTimer()
	for w := range conc {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			buf := make([]byte, 64<<10)
			for left.Add(-1) >= 0 {
				start := r.Int64N(size - n)
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", start, start+n-1))
				res, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				got, err := io.CopyBuffer(io.Discard, res.Body, buf)
				res.Body.Close()
				if err != nil || got != n || res.StatusCode != 206 {
					b.Errorf("status %d, %d bytes, %v", res.StatusCode, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
