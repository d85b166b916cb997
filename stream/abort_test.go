package stream

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/origin"
	"github.com/reelcache/reelcache/internal/testlog"
)

// TestAbortedResponsesLogged: every media request gets one access-log line
// and one count in reelcache_http_requests_total, however it ended (issue
// 21 item 6): viewers who close mid-body ("client-gone"), a response cut
// because the origin failed mid-stream ("cut", with the cause), and a
// complete one ("ok"), each line with the bytes actually sent.
func TestAbortedResponsesLogged(t *testing.T) {
	const size = 8 << 20
	org := &splitOrigin{data: randomBytes(size, 9), etag: `"v1"`}
	ts := httptest.NewServer(org)
	t.Cleanup(ts.Close)
	remote := func(*os.Root) chunker.Origin {
		o, err := origin.NewHTTP(origin.HTTPOptions{URL: ts.URL + "/", Options: origin.Options{Logger: slog.New(slog.DiscardHandler)}})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	s := newServer(t, serverOptions{chunkSize: 64 << 10, fill: chunker.FillSync, origin: remote, metrics: true,
		opts: func(o *Options) { o.LimitRate, o.LimitRateAfter = 256<<10, 128<<10 }}) // slow enough to leave mid-body
	access := &testlog.Buffer{}
	s.srv.Config.Handler.(*echo.Echo).Use(middleware.RequestID(), AccessLog(slog.New(slog.NewTextHandler(access, nil))),
		s.metrics.Middleware(), middleware.Recover())

	// Five viewers who leave mid-body.
	for i := range 5 {
		res, err := http.Get(s.url("v.mp4"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(res.Body, make([]byte, 10_000+i)); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	// One complete, small request.
	if r := get(t, "GET", s.url("v.mp4"), "Range: bytes=0-999"); r.status != 206 || len(r.body) != 1000 {
		t.Fatalf("complete request: %d, %d bytes", r.status, len(r.body))
	}
	// One cut by the origin: its first chunk is fine, the next ones 412.
	org.mu.Lock()
	org.failFrom = 64 << 10
	org.mu.Unlock()
	res, err := http.Get(s.url("v.mp4") + "?cut")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if got >= size {
		t.Fatalf("the response the origin fails was not cut: %d bytes", got)
	}

	lines := func() []string {
		var out []string
		for l := range strings.Lines(access.String()) {
			if strings.Contains(l, "path=/media/v.mp4") {
				out = append(out, l)
			}
		}
		return out
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(lines()) < 7 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	ls := lines()
	if len(ls) != 7 {
		t.Fatalf("%d access lines, want 7 (5 left, 1 complete, 1 cut):\n%s", len(ls), access.String())
	}
	ends := map[string]int{}
	endRE := regexp.MustCompile(`end=(\S+)`)
	bytesRE := regexp.MustCompile(`bytes=(\d+)`)
	for _, l := range ls {
		m := endRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("access line without end=: %s", l)
		}
		ends[m[1]]++
		b := bytesRE.FindStringSubmatch(l)
		if b == nil {
			t.Fatalf("access line without bytes=: %s", l)
		}
		n, _ := strconv.ParseInt(b[1], 10, 64)
		if m[1] != "ok" && (n == 0 || n >= size) {
			t.Errorf("a cut response logged %d bytes sent, want some and not all: %s", n, l)
		}
		if m[1] == "cut" && !strings.Contains(l, "err=") {
			t.Errorf("a cut response's line does not say why: %s", l)
		}
	}
	if ends["client-gone"] != 5 || ends["ok"] != 1 || ends["cut"] != 1 {
		t.Fatalf("ends %v, want 5 client-gone, 1 ok, 1 cut:\n%s", ends, strings.Join(ls, ""))
	}
	// And counted: 7 media requests, 6 of them 200s (the 206 is the seventh).
	metrics := get(t, "GET", s.srv.URL+"/metrics").body
	count := func(code string) string {
		m := regexp.MustCompile(`reelcache_http_requests_total\{code="` + code + `",method="GET",route="/media/\*"\} (\d+)`).FindSubmatch(metrics)
		if m == nil {
			return "0"
		}
		return string(m[1])
	}
	if count("200") != "6" || count("206") != "1" {
		t.Fatalf("requests_total for /media/*: 200 %s, 206 %s; want 6 and 1", count("200"), count("206"))
	}
	aborted := regexp.MustCompile(`reelcache_http_responses_cut_total\{end="(\S+)"\} (\d+)`).FindAllSubmatch(metrics, -1)
	cut := map[string]string{}
	for _, m := range aborted {
		cut[string(m[1])] = string(m[2])
	}
	if cut["client-gone"] != "5" || cut["cut"] != "1" {
		t.Fatalf("reelcache_http_responses_cut_total %v, want client-gone 5 and cut 1", cut)
	}
}
