package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/poll"
	"github.com/reelcache/reelcache/internal/redistest"
)

// rssBinaryEnv names a reelcache binary to run instead of building this
// tree's, to show that TestSlowViewersRSS fails on a binary without the
// fix (issue 13 item 7; e.g. one built from d983f96^). Such a binary
// predates cache.settle, so the test does not pass --cache-settle to it.
const rssBinaryEnv = "REELCACHE_TEST_RSS_BINARY"

// TestSlowViewersRSS is issue 13's seventh item run the way it was found,
// stricter than TestSlowViewersStayWithinTheBudget: the real binary (built
// without -race, so its memory is the product's) with a real redis-server,
// 16 MiB chunks, a 16 MiB in-flight budget and the default local tier;
// 100 viewers, each reading a different 16 MiB chunk of a sparse file at
// 50 KB/s for 3 s through a 32 KiB receive buffer (set before connect, so
// the kernel does not grow it). The process's peak RSS (VmHWM) must stay
// within 200 MB, and with cache.fill off the origin must not be read more
// than twice what the server wrote.
//
// Twice what the server wrote, not what the viewers read: the socket's
// send buffer is a slow viewer's read-ahead (stream/writable.go), and the
// kernel grows it towards net.ipv4.tcp_wmem's maximum (4 MiB here) however
// small the receive buffer, which is not the process's memory and no
// re-read. On loopback, whose 64 KiB MSS makes even the first congestion
// window megabytes, the server wrote 2.9 MB per viewer for 0.15 MB read;
// the viewers set a 1460-byte MSS, as over Ethernet, and it writes about
// 0.85 MB. Both ratios are logged.
//
// With the budget exactly one chunk, no chunk is kept (cached or put in the
// tier): the first window already holds part of the budget, so a chunk
// never has room to be read whole. fill=async then reads directly like
// fill=off; its subtest checks the memory bound on that configuration.
func TestSlowViewersRSS(t *testing.T) {
	const (
		chunk   = 16 << 20
		viewers = 100
		rate    = 50 << 10 // bytes/s each
		watch   = 3 * time.Second
		rcvbuf  = 32 << 10 // SO_RCVBUF; Linux doubles it
		mss     = 1460     // TCP_MAXSEG: Ethernet's, not loopback's 64 KiB
		maxRSS  = 200e6    // bytes: the item's bound
	)
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/PID/status")
	}
	bin := os.Getenv(rssBinaryEnv)
	if bin == "" {
		bin = buildBinary(t)
	} else if abs, err := filepath.Abs(bin); err != nil {
		t.Fatal(err)
	} else {
		bin = abs
		t.Logf("running %s from $%s, not this tree", bin, rssBinaryEnv)
	}
	requireNoRace(t, bin)
	rs := redistest.Start(t)
	media := t.TempDir()
	sparseFile(t, filepath.Join(media, "big.mp4"), viewers*chunk)

	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			if serr == nil {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, mss)
			}
		}); err != nil {
			return err
		}
		return serr
	}}
	client := &http.Client{Transport: &http.Transport{
		DialContext:        dialer.DialContext,
		DisableKeepAlives:  true,
		DisableCompression: true,
	}}

	for _, fill := range []string{"off", "async"} {
		t.Run("fill="+fill, func(t *testing.T) {
			args := []string{"--media-root", media, "--redis-url", rs.URL(), "--redis-key-prefix", "rss-" + fill,
				"--chunk-size", "16MiB", "--cache-max-inflight-bytes", "16MiB", "--cache-fill", fill}
			if os.Getenv(rssBinaryEnv) == "" {
				args = append(args, "--cache-settle", "0") // the file was just created; cache it anyway
			}
			srv := startServeBinary(t, bin, args...)
			base, pid := srv.url, srv.cmd.Process.Pid
			idle := procStatusBytes(t, pid, "VmHWM")

			var received atomic.Int64
			var wg sync.WaitGroup
			for v := range viewers {
				wg.Go(func() {
					req, _ := http.NewRequest("GET", base+"/media/big.mp4", nil)
					req.Header.Set("Range", fmt.Sprintf("bytes=%d-", int64(v)*chunk+12345))
					res, err := client.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					defer res.Body.Close() // before the end: the server stops at a write
					if res.StatusCode != http.StatusPartialContent {
						t.Errorf("viewer %d: status %d, want 206", v, res.StatusCode)
						return
					}
					got, err := readPaced(res.Body, rate, watch)
					if err != nil {
						t.Errorf("viewer %d after %d bytes: %v", v, got, err)
					}
					received.Add(got)
				})
			}
			wg.Wait()
			// The windows being read when the viewers left are counted
			// once their reads end; wait for them.
			poll.Wait(10*time.Second, func() bool {
				return metric(t, base, "reelcache_streams_in_flight") == 0 && metric(t, base, "reelcache_inflight_bytes") == 0
			})
			hwm := procStatusBytes(t, pid, "VmHWM")
			origin := int64(metric(t, base, "reelcache_origin_bytes_total"))
			var written int64
			for _, source := range []string{"disk", "redis", "local"} {
				written += int64(metric(t, base, `reelcache_served_bytes_total{source="`+source+`"}`))
			}
			fills := int64(metric(t, base, "reelcache_fills_total"))
			tier := int64(metric(t, base, "reelcache_local_bytes"))
			got := received.Load()
			t.Logf("fill=%s, %d viewers for %v: VmHWM %.1f MB (idle %.1f MB); origin %.1f MB, written %.1f MB (%.2fx), received %.1f MB (%.2fx); %d chunks written to Redis, %.1f MB in the local tier",
				fill, viewers, watch, float64(hwm)/1e6, float64(idle)/1e6, float64(origin)/1e6,
				float64(written)/1e6, float64(origin)/float64(max(written, 1)),
				float64(got)/1e6, float64(origin)/float64(max(got, 1)), fills, float64(tier)/1e6)

			// A server that held the viewers back by not sending would
			// pass the bounds below without meaning anything, and the
			// bytes it says it wrote must at least cover what arrived.
			if want := int64(viewers * rate * watch.Seconds() / 2); got < want {
				t.Errorf("viewers received %d bytes in %v, want at least %d (half of %d B/s each)", got, watch, want, rate)
			}
			if written < got {
				t.Errorf("reelcache_served_bytes_total says %d bytes, but the viewers received %d", written, got)
			}
			if hwm > maxRSS {
				t.Errorf("peak RSS (VmHWM) %.1f MB with %d viewers, 16 MiB chunks and a 16 MiB in-flight budget: want at most %.0f MB",
					float64(hwm)/1e6, viewers, maxRSS/1e6)
			}
			if fill == "off" && origin > 2*written {
				t.Errorf("fill=off: origin read %d bytes for %d written (%.2fx): want at most 2x",
					origin, written, float64(origin)/float64(written))
			}
		})
	}
}

// procStatusBytes returns a "kB" field of /proc/pid/status (VmHWM, VmRSS)
// in bytes.
func procStatusBytes(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("/proc/%d/status: %q: %v", pid, line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
