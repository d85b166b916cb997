package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/poll"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testlog"
	"github.com/reelcache/reelcache/internal/testmedia"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// running is `reelcache serve` run in-process.
type running struct {
	url    string
	stderr *testlog.Buffer
	cancel context.CancelFunc
	done   chan error
}

// startServe runs `reelcache serve args...` until the test ends and waits
// for it to print its URL. The working directory is a temp dir, so no
// reelcache.yaml of the developer's is read.
func startServe(t *testing.T, args ...string) *running {
	t.Helper()
	t.Chdir(t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	r := &running{stderr: &testlog.Buffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		// Media files are copied in just before they are served: no settle
		// window (cache.settle), or their first reads would not be cached.
		err := run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--cache-settle", "0"}, args...), pw, r.stderr)
		pw.Close()
		r.done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop within 15s of cancel")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr)
	if err != nil {
		var runErr error
		select {
		case runErr = <-r.done:
			r.done <- runErr // for the cleanup
		case <-time.After(time.Second):
		}
		err = fmt.Errorf("%w (serve: %v)", err, runErr)
	}
	r.url = servedURL(t, line, err, r.stderr)
	return r
}

// TestServeQuickStart is the README's promise: a ranged curl returns the
// file's bytes; the same request again caches its chunk (cache.min_uses
// 2), and the third is a cache hit with no byte from disk.
func TestServeQuickStart(t *testing.T) {
	media := testmedia.SamplesDir(t)
	want := testmedia.Sample(t, "sample-faststart.mp4")
	for _, tt := range []struct {
		name   string
		args   []string
		source string // of the repeat's bytes, in reelcache_served_bytes_total
	}{
		// The second request's miss fills Redis and the local tier
		// (both count misses of two requests): the third is a hit from
		// the tier, or from Redis without one.
		{"default", nil, "local"},
		{"local tier off", []string{"--cache-local-bytes", "0"}, "redis"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs := redistest.Start(t)
			srv := startServe(t, append([]string{"--media-root", media, "--redis-url", rs.URL()}, tt.args...)...)
			url := srv.url + "/media/sample-faststart.mp4"
			body, hdr := curl(t, "-r", "1000-2000", url)
			if !bytes.Equal(body, want[1000:2001]) {
				t.Fatalf("curl -r 1000-2000: %d bytes, not the file's", len(body))
			}
			if !strings.Contains(hdr, "X-Cache: MISS") || !strings.Contains(hdr, "206 Partial Content") {
				t.Errorf("first response headers:\n%s", hdr)
			}
			served := func(source string) float64 {
				return metric(t, srv.url, `reelcache_served_bytes_total{source="`+source+`"}`)
			}
			poll.Wait(5*time.Second, func() bool { return served("disk") >= 1001 })
			// cache.min_uses is 2: the first miss is not cached, the
			// second is.
			body, hdr = curl(t, "-r", "1000-2000", url)
			if !bytes.Equal(body, want[1000:2001]) || !strings.Contains(hdr, "X-Cache: MISS") {
				t.Errorf("second response: %d bytes, headers:\n%s", len(body), hdr)
			}
			poll.Wait(5*time.Second, func() bool { return served("disk") >= 2002 })
			disk0, src0 := served("disk"), served(tt.source)
			// The fill is asynchronous: wait for the chunk to land.
			poll.Wait(10*time.Second, func() bool {
				body, hdr = curl(t, "-r", "1000-2000", url)
				return strings.Contains(hdr, "X-Cache: HIT")
			})
			if !strings.Contains(hdr, "X-Cache: HIT") || !bytes.Equal(body, want[1000:2001]) {
				t.Errorf("repeat: want X-Cache: HIT and the same bytes; headers:\n%s", hdr)
			}
			poll.Wait(5*time.Second, func() bool { return served(tt.source)-src0 >= 1001 })
			if d := served(tt.source) - src0; d != 1001 {
				t.Errorf("repeat: %v bytes from %s, want 1001", d, tt.source)
			}
			if d := served("disk") - disk0; d != 0 {
				t.Errorf("repeat: %v bytes from disk, want 0", d)
			}
			if !strings.Contains(srv.stderr.String(), "redis connected") {
				t.Errorf("log does not say Redis is connected:\n%s", srv.stderr)
			}
			page, _ := curl(t, srv.url+"/")
			if !bytes.Contains(page, []byte("<video")) {
				t.Error("page has no <video>")
			}
		})
	}
}

// TestServeWithoutRedis: with nothing listening at redis.url, the server
// still serves from disk and says so.
func TestServeWithoutRedis(t *testing.T) {
	media := testmedia.SamplesDir(t)
	srv := startServe(t, "--media-root", media, "--redis-url", "redis://127.0.0.1:1/0")
	want := testmedia.Sample(t, "sample.webm")
	for range 5 {
		body, hdr := curl(t, "-r", "100-", srv.url+"/media/sample.webm")
		if !bytes.Equal(body, want[100:]) {
			t.Fatal("wrong bytes without Redis")
		}
		if !strings.Contains(hdr, "X-Cache: BYPASS") && !strings.Contains(hdr, "X-Cache: MISS") {
			t.Errorf("headers without Redis:\n%s", hdr)
		}
	}
	if !strings.Contains(srv.stderr.String(), "serving from disk") {
		t.Errorf("log does not say it serves from disk:\n%s", srv.stderr)
	}
}

// TestConfigErrors: bad configuration exits with status 2 and a message
// naming the key, the value and the file.
func TestConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		want       []string
	}{
		{"unknown key", "media:\n  rot: /srv\n", []string{"media.rot", "unknown key", "bad.yaml"}},
		{"chunk too small", "chunk:\n  size: 3KB\n", []string{"chunk.size", `"3KB"`, "bad.yaml"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.yaml")
			os.WriteFile(p, []byte(tt.file), 0o644)
			serveRefuses(t, []string{"--config", p}, tt.want)
		})
	}
}

// serveRefuses runs `serve` with args and checks that it fails as a
// configuration error: exit status 2, with a message that mentions each
// of want.
func serveRefuses(t *testing.T, args, want []string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), append([]string{"serve"}, args...), &stdout, &stderr)
	if err == nil {
		t.Fatalf("serve %q succeeded", args)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if c := exitCode(err); c != 2 {
		t.Errorf("exit code %d, want 2", c)
	}
}

// TestShutdown: cancelling the context (SIGINT in main) stops serve cleanly.
func TestShutdown(t *testing.T) {
	srv := startServe(t, "--media-root", testmedia.SamplesDir(t), "--redis-url", "")
	srv.cancel()
	select {
	case err := <-srv.done:
		if err != nil {
			t.Fatalf("serve returned %v after cancel, want nil", err)
		}
		srv.done <- nil // for the cleanup
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"version"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "reelcache ") {
		t.Errorf("version printed %q", out.String())
	}
	err := run(t.Context(), []string{"serve", "--no-such-flag"}, io.Discard, io.Discard)
	var ue usageError
	if !errors.As(err, &ue) {
		t.Errorf("unknown flag: error %v, want a usage error", err)
	}
}

// TestWarmCommand: warm, status and purge through the CLI, with their exit
// statuses.
func TestWarmCommand(t *testing.T) {
	rs := redistest.Start(t)
	common := []string{"--media-root", testmedia.SamplesDir(t), "--redis-url", rs.URL()}
	t.Chdir(t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(t.Context(), append(args, common...), &out, io.Discard)
		return out.String(), err
	}
	out, err := cli("warm", "--mode", "head", "--head", "1MiB")
	if err != nil || !strings.Contains(out, "written 4, skipped 0, failed 0") {
		t.Fatalf("warm --mode head: %v\n%s", err, out)
	}
	out, err = cli("cache", "status")
	if err != nil || !strings.Contains(out, "sample-moov-at-end.mp4      2/2") || !strings.Contains(out, "sample.webm                 1/2") {
		t.Fatalf("cache status: %v\n%s", err, out)
	}
	out, err = cli("warm", "--json", "sample.webm")
	if err != nil || !strings.Contains(out, `"written": 1`) || !strings.Contains(out, `"skipped": 1`) {
		t.Fatalf("warm --json sample.webm: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{"warm", "../etc/passwd"},
		{"warm", "--mode", "middle"},
		{"cache", "purge"},
	} {
		if _, err := cli(args...); exitCode(err) != 2 {
			t.Errorf("%v: error %v, want exit status 2", args, err)
		}
	}
	// 5 chunks, and the indexes of the two MP4s that warm stores for
	// HLS/DASH (packaging.enabled is on by default), which purge removes
	// with them.
	if n := len(rs.Keys(t.Context(), "reelcache:m:*:mp4index")); n != 2 {
		t.Errorf("warm stored %d MP4 indexes, want 2", n)
	}
	out, err = cli("cache", "purge", "--yes")
	if err != nil || !strings.Contains(out, "purged 7 chunks") {
		t.Fatalf("purge --yes: %v\n%s", err, out)
	}
	// What is left is the purge generation that tells serving instances
	// to empty their local tiers (chunker/purge.go).
	if keys := rs.Keys(t.Context(), "*"); len(keys) != 1 || keys[0] != "reelcache:purge:gen" {
		t.Errorf("keys left after purge: %v, want only reelcache:purge:gen", keys)
	}
}
