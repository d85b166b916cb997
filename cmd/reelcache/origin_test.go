package main

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/faststarttest"
	"github.com/reelcache/reelcache/internal/nginxtest"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/s3test"
)

func randomData(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed^0xfeed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// s3Library starts versitygw with bucket "media" holding the sample videos
// and big.mp4 (8 MiB of random bytes) under lib/, and returns the server,
// the CLI flags that serve it, and big.mp4's bytes.
func s3Library(t *testing.T) (*s3test.Server, []string, []byte) {
	t.Helper()
	srv := s3test.Start(t)
	srv.Env(t)
	srv.Bucket("media")
	for _, name := range sampleNames {
		b, err := os.ReadFile(filepath.Join(samples(t), name))
		if err != nil {
			t.Fatal(err)
		}
		srv.Put("media", "lib/"+name, b)
	}
	big := randomData(8<<20, 9)
	srv.Put("media", "lib/big.mp4", big)
	flags := []string{"--media-origin", "s3://media/lib/", "--media-s3-endpoint", srv.Endpoint(), "--media-s3-path-style", "true"}
	return srv, flags, big
}

// TestServeFromS3: `serve` in front of a real S3 server: ranges byte-exact,
// the repeat a HIT from chunks in Redis, the listing, readiness, and warm,
// status and purge through the CLI.
func TestServeFromS3(t *testing.T) {
	rs := redistest.Start(t)
	media := samples(t) // before startServe changes the directory
	_, flags, big := s3Library(t)
	common := append([]string{"--redis-url", rs.URL(), "--chunk-size", "64KiB"}, flags...)
	srv := startServe(t, append([]string{"--cache-fill", "sync", "--cache-min-uses", "1"}, common...)...)
	url := srv.url + "/media/big.mp4"

	// Each range in chunks (64 KiB) of its own.
	for _, r := range [][2]int{{0, 1}, {200000, 200000}, {5 << 20, 1 << 20}, {len(big) - 10, 10}} {
		rng := "bytes=" + itoa(r[0]) + "-" + itoa(r[0]+r[1]-1)
		code, hdr, body := httpGet(t, url, "Range: "+rng)
		if code != 206 || !bytes.Equal(body, big[r[0]:r[0]+r[1]]) {
			t.Fatalf("%s: %d, %d bytes; want 206 and the object's bytes", rng, code, len(body))
		}
		if x := hdr.Get("X-Cache"); x != "MISS" {
			t.Errorf("%s first: X-Cache %s, want MISS", rng, x)
		}
		code, hdr, body = httpGet(t, url, "Range: "+rng)
		if code != 206 || !bytes.Equal(body, big[r[0]:r[0]+r[1]]) || hdr.Get("X-Cache") != "HIT" {
			t.Fatalf("%s again: %d, X-Cache %s, %d bytes; want a HIT with the same bytes", rng, code, hdr.Get("X-Cache"), len(body))
		}
	}
	if keys := rs.Keys(t.Context(), "reelcache:c:*"); len(keys) != 22 {
		t.Errorf("%d chunks in Redis, want the 22 the ranges touched", len(keys))
	}
	code, _, body := httpGet(t, srv.url+"/api/media")
	for _, name := range append([]string{"big.mp4"}, sampleNames...) {
		if code != 200 || !bytes.Contains(body, []byte(`"path":"`+name+`"`)) {
			t.Errorf("/api/media: %d %s: want %s listed", code, body, name)
		}
	}
	if code, _, body := httpGet(t, srv.url+"/readyz"); code != 200 || !bytes.Contains(body, []byte(`"status":"ready"`)) {
		t.Errorf("/readyz: %d %s", code, body)
	}
	if code, _, _ := httpGet(t, srv.url+"/media/missing.mp4"); code != 404 {
		t.Errorf("missing object: %d, want 404", code)
	}

	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(t.Context(), append(args, common...), &out, io.Discard)
		return out.String(), err
	}
	out, err := cli("warm", "sample*")
	if err != nil || !strings.Contains(out, "3 files") || !strings.Contains(out, "failed 0") {
		t.Fatalf("warm 'sample*': %v\n%s", err, out)
	}
	out, err = cli("cache", "status")
	if err != nil || !strings.Contains(out, "sample.webm") || !strings.Contains(out, "big.mp4") {
		t.Fatalf("cache status: %v\n%s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "sample") && !strings.Contains(line, strings.Repeat("#", 10)) {
			t.Errorf("a warmed sample is not all cached: %q", line)
		}
	}
	for _, name := range sampleNames {
		code, hdr, body := httpGet(t, srv.url+"/media/"+name, "Range: bytes=0-")
		want, _ := os.ReadFile(filepath.Join(media, name))
		if name == "sample-moov-at-end.mp4" {
			want = faststarttest.Reference(t, want) // media.faststart is on by default
		}
		if code != 206 || hdr.Get("X-Cache") != "HIT" || !bytes.Equal(body, want) {
			t.Errorf("%s after warm: %d X-Cache %s, %d bytes of %d", name, code, hdr.Get("X-Cache"), len(body), len(want))
		}
	}
	before := len(rs.Keys(t.Context(), "reelcache:c:*"))
	out, err = cli("cache", "purge", "big.mp4")
	if err != nil || !strings.Contains(out, "purged ") || len(rs.Keys(t.Context(), "reelcache:c:*")) >= before {
		t.Fatalf("cache purge big.mp4: %v\n%s", err, out)
	}
	if _, err := cli("warm", "nope*"); exitCode(err) != 2 {
		t.Errorf("warm of a glob that matches nothing: %v, want exit status 2", err)
	}
}

// TestS3ObjectReplacedMidStream: an object replaced under its key while a
// response streams it from the origin cuts that response (never a byte of
// the new object in it); the next request gets the new object, exactly.
func TestS3ObjectReplacedMidStream(t *testing.T) {
	rs := redistest.Start(t)
	s3srv, flags, big := s3Library(t)
	srv := startServe(t, append([]string{"--redis-url", rs.URL(), "--chunk-size", "64KiB", "--cache-min-uses", "1"}, flags...)...)
	url := srv.url + "/media/big.mp4"

	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 64<<10)
	if _, err := io.ReadFull(res.Body, head); err != nil {
		t.Fatal(err)
	}
	big2 := randomData(len(big), 10)
	s3srv.Put("media", "lib/big.mp4", big2)
	rest, err := io.ReadAll(res.Body)
	res.Body.Close()
	got := append(head, rest...)
	if err == nil && len(got) == len(big) {
		t.Fatal("the response ran to its end across the replacement; want it cut")
	}
	if !bytes.Equal(got, big[:len(got)]) {
		t.Fatal("the cut response holds bytes that are not the old object's")
	}
	settle(func() bool { return strings.Contains(srv.stderr.String(), "object changed at the origin") })
	if !strings.Contains(srv.stderr.String(), "object changed at the origin") {
		t.Errorf("log does not say the object changed:\n%s", srv.stderr)
	}
	code, _, body := httpGet(t, url)
	if code != 200 || !bytes.Equal(body, big2) {
		t.Fatalf("next request: %d, %d bytes; want 200 and the new object", code, len(body))
	}
}

// TestRemoteOriginFailures: an origin that refuses reelcache's
// credentials, answers 500 or hangs gives viewers 502 or 504 within the
// timeout; nothing is cached, /readyz is degraded, and the log names the
// cause without the secret.
func TestRemoteOriginFailures(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.mp4"), randomData(1000, 11), 0o644)
	broken := nginxtest.Start(t, nginxtest.Options{Root: dir, Location: "return 500;"})
	s3srv, s3flags, _ := s3Library(t)
	for _, tt := range []struct {
		name   string
		flags  []string
		before func()
		want   int
		health string
		log    string
	}{
		{"credentials refused", s3flags, func() { t.Setenv("AWS_SECRET_ACCESS_KEY", "hunter2-wrong-secret") }, 502, "denied", "status 403"},
		{"server error", []string{"--media-origin", broken.URL() + "?token=hunter2"}, func() {}, 502, "unavailable", "status 500"},
		{"hung", s3flags, func() { s3srv.Pause(); t.Cleanup(s3srv.Resume) }, 504, "timeout", "origin timed out"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs := redistest.Start(t)
			tt.before()
			srv := startServe(t, append([]string{"--redis-url", rs.URL(), "--media-origin-timeout", "1s"}, tt.flags...)...)
			start := time.Now()
			code, _, _ := httpGet(t, srv.url+"/media/big.mp4")
			if took := time.Since(start); took > 1500*time.Millisecond {
				t.Errorf("answered after %s, past the 1s origin timeout", took)
			}
			if code != tt.want {
				t.Errorf("status %d, want %d", code, tt.want)
			}
			if keys := rs.Keys(t.Context(), "reelcache:c:*"); len(keys) != 0 {
				t.Errorf("%d chunks cached from a failing origin", len(keys))
			}
			if code, _, body := httpGet(t, srv.url+"/readyz"); code != 200 || !bytes.Contains(body, []byte(`"status":"degraded"`)) || !bytes.Contains(body, []byte(tt.health)) {
				t.Errorf("/readyz: %d %s, want 200 degraded %s", code, body, tt.health)
			}
			// The origin probe behind /readyz logs from the background.
			settle(func() bool {
				l := srv.stderr.String()
				return strings.Contains(l, tt.log) && strings.Contains(l, "origin unreachable")
			})
			logs := srv.stderr.String()
			if !strings.Contains(logs, tt.log) || !strings.Contains(logs, "origin unreachable") {
				t.Errorf("log does not name the cause (%q):\n%s", tt.log, logs)
			}
			if strings.Contains(logs, "hunter2") {
				t.Errorf("a secret leaked into the log:\n%s", logs)
			}
		})
	}
}

// TestRedisKilledWhileServingFromS3: with Redis gone, bytes stream from the
// origin's ranged GETs, still exact.
func TestRedisKilledWhileServingFromS3(t *testing.T) {
	rs := redistest.Start(t)
	_, flags, big := s3Library(t)
	srv := startServe(t, append([]string{"--redis-url", rs.URL(), "--chunk-size", "64KiB", "--cache-fill", "sync", "--cache-min-uses", "1"}, flags...)...)
	url := srv.url + "/media/big.mp4"
	if code, _, body := httpGet(t, url, "Range: bytes=0-999999"); code != 206 || !bytes.Equal(body, big[:1000000]) {
		t.Fatalf("before: %d", code)
	}
	rs.Kill()
	for _, r := range [][2]int{{0, 1000000}, {3 << 20, 2 << 20}, {100, 5}} {
		rng := "bytes=" + itoa(r[0]) + "-" + itoa(r[0]+r[1]-1)
		code, _, body := httpGet(t, url, "Range: "+rng)
		if code != 206 || !bytes.Equal(body, big[r[0]:r[0]+r[1]]) {
			t.Fatalf("%s with Redis killed: %d, %d bytes; want 206 and the object's bytes", rng, code, len(body))
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
