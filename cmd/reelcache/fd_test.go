package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/poll"
	"github.com/reelcache/reelcache/internal/redistest"
)

// childEnv, when set in the environment, makes the test binary run
// `reelcache` with the JSON-encoded arguments it holds instead of the
// tests: a server in a process of its own, whose limits a test may change.
const childEnv = "TEST_REELCACHE_CHILD_ARGS" // not REELCACHE_*, which config checks

func init() {
	if args := os.Getenv(childEnv); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			fmt.Fprintln(os.Stderr, "bad", childEnv, err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, argv, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "reelcache:", err)
			os.Exit(exitCode(err))
		}
		os.Exit(0)
	}
}

// child is `reelcache serve` in a subprocess (this test binary, see init).
type child struct{ *serveProc }

func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	b, _ := json.Marshal(append([]string{"serve", "--listen", "127.0.0.1:0"}, args...))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), childEnv+"="+string(b), "XDG_CONFIG_HOME="+t.TempDir())
	c := &child{startServeProc(t, cmd)}
	t.Cleanup(func() {
		c.cmd.Process.Signal(syscall.SIGTERM)
		if exited, _ := c.wait(15 * time.Second); !exited {
			c.cmd.Process.Kill()
			c.wait(time.Hour)
			t.Error("the server did not stop within 15 s of SIGTERM")
		}
	})
	return c
}

// fds returns how many descriptors the child has open.
func (c *child) fds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", c.cmd.Process.Pid))
	if err != nil {
		t.Skipf("cannot count the server's descriptors: %v", err)
	}
	return len(ents)
}

// TestOutOfDescriptors: a server out of file descriptors answers a request
// for a file that exists with 503 and Retry-After, never 404 (which a CDN
// caches), logs it at most once a second, and serves again once
// descriptors are free (issue 13 item 9). The server runs in a process of
// its own whose open-files limit is cut with prlimit to what it has open
// plus room for 12 files, and 40 clients hold connections and streams.
func TestOutOfDescriptors(t *testing.T) {
	redistest.Require(t, "prlimit")
	media := t.TempDir()
	big := filepath.Join(media, "big.mp4")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 256<<20); err != nil { // sparse: streams that never end on their own
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(media, "small.mp4"), []byte("small"), 0o644)
	c := startChild(t, "--media-root", media, "--redis-url", "")

	const clients, room = 40, 12
	// Connections first, each kept alive after a small request, so that
	// the descriptors run out when the files are opened, not at accept.
	trs := make([]*http.Transport, clients)
	for i := range trs {
		trs[i] = &http.Transport{MaxConnsPerHost: 1, DisableCompression: true}
		defer trs[i].CloseIdleConnections()
	}
	limit := 0
	for i, tr := range trs {
		if i == 1 {
			// The server is up and one connection in: cut the limit.
			limit = c.fds(t) + clients - 1 + room
			if out, err := exec.Command("prlimit", "--pid", strconv.Itoa(c.cmd.Process.Pid), fmt.Sprintf("--nofile=%d:%d", limit, limit)).CombinedOutput(); err != nil {
				t.Fatalf("prlimit: %v: %s", err, out)
			}
		}
		res, err := (&http.Client{Transport: tr}).Head(c.url + "/media/small.mp4")
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("connection %d: %v %v", i, res, err)
		}
		res.Body.Close()
	}

	// Every client asks for the big file at once and reads nothing: each
	// stream holds its file open.
	statuses := make([]int, clients)
	retry := make([]string, clients)
	var open []*http.Response
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, tr := range trs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			req, _ := http.NewRequestWithContext(ctx, "GET", c.url+"/media/big.mp4", nil)
			res, err := tr.RoundTrip(req)
			if err != nil {
				cancel()
				t.Errorf("client %d: %v", i, err)
				return
			}
			statuses[i], retry[i] = res.StatusCode, res.Header.Get("Retry-After")
			if res.StatusCode != 200 {
				res.Body.Close()
				cancel()
				return
			}
			mu.Lock()
			open = append(open, res)
			mu.Unlock()
			context.AfterFunc(t.Context(), cancel)
		})
	}
	wg.Wait()
	count := map[int]int{}
	for i, s := range statuses {
		count[s]++
		if s == 503 && retry[i] == "" {
			t.Errorf("client %d: 503 without Retry-After", i)
		}
	}
	t.Logf("limit %d descriptors: %v", limit, count)
	if count[404] > 0 || count[200]+count[503] != clients {
		t.Errorf("statuses %v: want only 200 and 503, never 404 for a file that exists", count)
	}
	if count[503] == 0 {
		t.Errorf("statuses %v: the descriptors never ran out (limit %d)", count, limit)
	}
	logged := strings.Count(c.stderr.String(), "out of file descriptors")
	if logged == 0 || logged > 3 {
		t.Errorf("%d failures logged %d times, want 1 to 3 (once a second):\n%s", count[503], logged, c.stderr)
	}

	// Streams end; the server serves again.
	for _, res := range open {
		res.Body.Close()
	}
	poll.Until(t, 10*time.Second, func() bool { return answers200(c.url + "/media/small.mp4") },
		"no 200 once the streams ended")
}
