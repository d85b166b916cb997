package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/redistest"
)

// serveBinary is startServeBinary (memory_rss_test.go) for a test that
// needs only the URL.
func serveBinary(t *testing.T, bin string, args ...string) string {
	t.Helper()
	url, _ := startServeBinary(t, bin, args...)
	return url
}

// curlTimed is one download by the real curl: the body, the response
// headers, and how long curl itself says the transfer took (time_total,
// from before the connection to the last byte).
type curlTimed struct {
	body   []byte
	header string
	took   time.Duration
}

func curlTime(t *testing.T, args ...string) curlTimed {
	t.Helper()
	dir := t.TempDir()
	hdr, out := filepath.Join(dir, "h"), filepath.Join(dir, "body")
	// --fail: a 4xx/5xx is a non-zero exit; -w prints only the timing.
	cmd := exec.Command("curl", append([]string{"-sS", "--fail", "-D", hdr, "-o", out,
		"-w", "%{time_total}"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	w, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, stderr.Bytes())
	}
	secs, err := strconv.ParseFloat(strings.TrimSpace(string(w)), 64)
	if err != nil {
		t.Fatalf("curl -w %%{time_total} printed %q: %v", w, err)
	}
	body, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := os.ReadFile(hdr)
	return curlTimed{body: body, header: string(h), took: time.Duration(secs * float64(time.Second))}
}

// headerValue returns the value of the named header in curl's -D output.
func headerValue(raw, name string) string {
	for line := range strings.Lines(raw) {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestRateShapingCurl is issue 16's rate test as its text says it: the
// real binary (built without -race, so the pace is the product's), a real
// redis-server and real curl; a 12 MiB download with
// --http-limit-rate 2MiB and --http-limit-rate-after 4MiB takes 4 s
// (4 MiB at once, then 8 MiB at 2 MiB/s) within +-20%, 3.2 s to 4.8 s
// with no other slack, and is byte-exact: from Redis (warm, no local
// tier), from the local tier, and with the cache off (--redis-url "",
// sendfile). The paths run in parallel, each its own process.
//
// Each path is first warmed with three 4 MiB ranges, every one within
// limit_rate_after, so each must also come at full speed: under 1 s, where
// pacing from the first byte would take 2 s.
func TestRateShapingCurl(t *testing.T) {
	redistest.Require(t, "curl")
	const (
		size  = 12 << 20
		after = 4 << 20
		want  = 4 * time.Second
	)
	bin := buildBinary(t)
	if out, err := exec.Command("go", "version", "-m", bin).Output(); err != nil {
		t.Fatalf("go version -m: %v", err)
	} else if bytes.Contains(out, []byte("-race=true")) {
		t.Fatalf("the binary was built with -race (GOFLAGS=%q?): its pace would not be the product's", os.Getenv("GOFLAGS"))
	}
	rdb := redistest.Start(t)
	media := t.TempDir()
	data := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{16})
	rng.Read(data)
	if err := os.WriteFile(filepath.Join(media, "v.mp4"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	common := []string{"--media-root", media, "--cache-settle", "0",
		"--http-limit-rate", "2MiB", "--http-limit-rate-after", "4MiB"}

	for _, tt := range []struct {
		name    string
		args    []string
		xcache  string
		cs      string
		warmups int // passes of 4 MiB ranges before the paced download
	}{
		{"redis", []string{"--redis-url", rdb.URL(), "--redis-key-prefix", "shape-redis",
			"--cache-fill", "sync", "--cache-local-bytes", "0", "--cache-min-uses", "1"}, "HIT", "reelcache; hit", 1},
		// cache.fill off: nothing reaches Redis, and a chunk read from disk
		// enters the local tier when a second request reads it.
		{"local tier", []string{"--redis-url", rdb.URL(), "--redis-key-prefix", "shape-local",
			"--cache-fill", "off", "--cache-local-bytes", "32MiB"}, "HIT", "reelcache; hit; detail=local", 2},
		{"cache off, sendfile", []string{"--redis-url", ""}, "BYPASS", "reelcache; fwd=bypass", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := serveBinary(t, bin, append(common, tt.args...)...) + "/media/v.mp4"
			for range tt.warmups {
				for off := 0; off < size; off += after {
					r := curlTime(t, "-r", strconv.Itoa(off)+"-"+strconv.Itoa(off+after-1), url)
					if !bytes.Equal(r.body, data[off:off+after]) {
						t.Fatalf("range at %d: %d bytes, not the file's", off, len(r.body))
					}
					if r.took >= time.Second {
						t.Errorf("4 MiB within limit_rate_after took %v, want < 1s (paced, 2s)", r.took)
					}
				}
			}
			if tt.warmups == 2 {
				// The tier takes a chunk just after its readers have the
				// bytes: wait for the last one.
				base := strings.TrimSuffix(url, "/media/v.mp4")
				settle(func() bool { return metric(t, base, "reelcache_local_bytes") >= size })
			}
			start := time.Now()
			r := curlTime(t, url)
			wall := time.Since(start)
			if !bytes.Equal(r.body, data) {
				t.Fatalf("%d bytes, not the file's", len(r.body))
			}
			if x, cs := headerValue(r.header, "X-Cache"), headerValue(r.header, "Cache-Status"); x != tt.xcache || cs != tt.cs {
				t.Errorf("X-Cache %q, Cache-Status %q; want %q, %q (not the path under test)", x, cs, tt.xcache, tt.cs)
			}
			if r.took < want*8/10 || r.took > want*12/10 {
				t.Errorf("12 MiB at 2 MiB/s after 4 MiB took %v (curl's time_total), want %v +-20%%", r.took, want)
			}
			t.Logf("%s: 12 MiB in %v by curl (%v with curl's start and exit)", tt.name,
				r.took.Round(time.Millisecond), wall.Round(time.Millisecond))
		})
	}
}
