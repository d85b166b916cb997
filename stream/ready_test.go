package stream

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/origin"
)

// TestReadyzProbesTheOriginInTheBackground: /readyz answers from a probe
// of the origin made at most once every readyInterval, not one origin
// request per call (issue 21 item 7): 200 anonymous calls cost a handful of
// origin requests, and while the origin hangs the calls still answer
// (degraded, from the last result) without each waiting on it.
func TestReadyzProbesTheOriginInTheBackground(t *testing.T) {
	var requests atomic.Int64
	var hung atomic.Bool
	release := make(chan struct{})
	var once sync.Once
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if hung.Load() {
			<-release
		}
	}))
	t.Cleanup(func() { once.Do(func() { close(release) }); ts.Close() })
	remote := func(*os.Root) chunker.Origin {
		o, err := origin.NewHTTP(origin.HTTPOptions{URL: ts.URL + "/", Options: origin.Options{Logger: slog.New(slog.DiscardHandler), Timeout: time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	s := newServer(t, serverOptions{chunkSize: 64 << 10, origin: remote, metrics: true})
	ready := func() (int, map[string]string) {
		r := get(t, "GET", s.srv.URL+"/readyz")
		var body map[string]string
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatalf("/readyz: %d %q: %v", r.status, r.body, err)
		}
		return r.status, body
	}

	start := time.Now()
	const calls = 200
	for range calls {
		if code, body := ready(); code != 200 || body["status"] != "ready" || body["media"] != "ok" {
			t.Fatalf("/readyz: %d %v, want 200 ready", code, body)
		}
	}
	// One probe at the start and at most one per interval since, each at
	// most two requests (one retry).
	max := 2 * (1 + int64(time.Since(start)/readyInterval) + 1)
	if n := requests.Load(); n > max || n == 0 {
		t.Fatalf("%d /readyz calls made %d origin requests, want 1 to %d", calls, n, max)
	}

	// The origin hangs: calls keep answering from the last result; once a
	// probe has timed out, they say so. Only probes reach the origin.
	hung.Store(true)
	before := requests.Load()
	start = time.Now()
	var last map[string]string
	for i := 0; i < calls || last["media"] != "timeout"; i++ {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("/readyz never said the origin times out: %v", last)
		}
		_, last = ready()
		time.Sleep(5 * time.Millisecond)
	}
	if last["status"] != "degraded" {
		t.Errorf("hung origin: %v, want degraded", last)
	}
	max = 2 * (1 + int64(time.Since(start)/readyInterval) + 1)
	if n := requests.Load() - before; n > max {
		t.Fatalf("with the origin hung, /readyz calls made %d origin requests, want at most %d", n, max)
	}
}
