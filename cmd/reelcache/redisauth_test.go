package main

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testlog"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// serveWith builds the app on redis (URL and TLS files) and returns its URL
// and log.
func serveWith(t *testing.T, r config.Redis, change ...func(*config.Config)) (string, *testlog.Buffer) {
	t.Helper()
	logs := &testlog.Buffer{}
	r.KeyPrefix, r.Timeout = "reelcache", 500*time.Millisecond
	cfg := &config.Config{
		Media:     config.Media{Root: testmedia.SamplesDir(t), Extensions: []string{"mp4", "webm"}},
		ChunkSize: 64 << 10, Redis: r,
		Cache: config.Cache{Settle: time.Nanosecond, Fill: "sync", Readahead: 2, MaxInflightBytes: 64 << 20},
		Log:   config.Log{Level: "info", Format: "text"},
	}
	for _, f := range change {
		f(cfg)
	}
	a := testApp(t, cfg, slog.New(slog.NewTextHandler(logs, nil)))
	srv := httptest.NewServer(a.echo)
	t.Cleanup(srv.Close)
	return srv.URL, logs
}

// xcacheTwice requests a range twice and returns both X-Cache values,
// checking the bytes.
func xcacheTwice(t *testing.T, base string) (string, string) {
	t.Helper()
	want := testmedia.Sample(t, "sample.webm")
	var xs []string
	for range 2 {
		body, hdr := curl(t, "-r", "70000-140000", base+"/media/sample.webm")
		if !bytes.Equal(body, want[70000:140001]) {
			t.Fatal("wrong bytes")
		}
		for line := range strings.SplitSeq(hdr, "\r\n") {
			if v, ok := strings.CutPrefix(line, "X-Cache: "); ok {
				xs = append(xs, v)
			}
		}
	}
	return xs[0], xs[1]
}

// TestRedisPassword: a password in redis.url authenticates; a wrong one
// leaves the server serving from disk.
func TestRedisPassword(t *testing.T) {
	rs := redistest.Start(t, "requirepass", "s3cret-pass-123")
	base, _ := serveWith(t, config.Redis{URL: "redis://:s3cret-pass-123@" + rs.Addr() + "/0"})
	if a, b := xcacheTwice(t, base); a != "MISS" || b != "HIT" {
		t.Errorf("with the password: X-Cache %s then %s, want MISS then HIT", a, b)
	}
	base, logs := serveWith(t, config.Redis{URL: "redis://:wrong@" + rs.Addr() + "/0"})
	if a, b := xcacheTwice(t, base); a == "HIT" || b == "HIT" {
		t.Errorf("with a wrong password: X-Cache %s, %s", a, b)
	}
	if !strings.Contains(logs.String(), "serving from disk") {
		t.Errorf("log does not say it serves from disk:\n%s", logs)
	}
}

// TestRedisTLS: rediss:// with the server's CA file; without it the
// certificate is refused and the server serves from disk.
func TestRedisTLS(t *testing.T) {
	rs, ca := redistest.StartTLS(t)
	base, _ := serveWith(t, config.Redis{URL: rs.URL(), TLSCA: ca})
	if a, b := xcacheTwice(t, base); a != "MISS" || b != "HIT" {
		t.Errorf("over TLS: X-Cache %s then %s, want MISS then HIT", a, b)
	}
	base, logs := serveWith(t, config.Redis{URL: rs.URL()})
	if a, b := xcacheTwice(t, base); a == "HIT" || b == "HIT" {
		t.Errorf("untrusted certificate: X-Cache %s, %s", a, b)
	}
	if !strings.Contains(logs.String(), "certificate") {
		t.Errorf("log does not name the certificate problem:\n%s", logs)
	}
}
