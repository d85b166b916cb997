package main

import (
	"log/slog"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/internal/load"
	"github.com/reelcache/reelcache/internal/poll"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testlog"
	"github.com/reelcache/reelcache/internal/testmedia"
)

// TestLoadWithRedisOutage runs browser-like seeks from many clients while
// Redis is killed and later restarted, checking every byte against the
// files. Bounded: REELCACHE_LOAD_CLIENTS (default 24) clients for
// REELCACHE_LOAD_DURATION (default 6s); `make loadtest` runs it bigger.
func TestLoadWithRedisOutage(t *testing.T) {
	clients, _ := strconv.Atoi(os.Getenv("REELCACHE_LOAD_CLIENTS"))
	if clients <= 0 {
		clients = 24
	}
	dur, _ := time.ParseDuration(os.Getenv("REELCACHE_LOAD_DURATION"))
	if dur <= 0 {
		dur = 6 * time.Second
	}
	rs := redistest.Start(t)
	dir := t.TempDir()
	for i, size := range []int{16<<20 + 1, 8<<20 + 12345, 3 << 20, 777_777} {
		testmedia.WriteRandom(t, dir, "f"+strconv.Itoa(i)+".mp4", size, uint64(i))
	}
	logs := &testlog.Buffer{}
	cfg := &config.Config{
		Media:     config.Media{Root: dir, Extensions: []string{"mp4"}},
		ChunkSize: 256 << 10,
		Redis:     config.Redis{URL: rs.URL(), KeyPrefix: "reelcache", Timeout: 100 * time.Millisecond},
		Cache:     config.Cache{Settle: time.Nanosecond, Fill: "async", Readahead: 2, MaxInflightBytes: 256 << 20},
		Log:       config.Log{Level: "info", Format: "text"},
	}
	a := testApp(t, cfg, slog.New(slog.NewTextHandler(logs, nil)))
	var mu sync.Mutex
	status := map[int]int{}
	xcache := map[string]int{}
	a.echo.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			mu.Lock()
			status[c.Response().Status]++
			xcache[c.Response().Header().Get("X-Cache")]++
			mu.Unlock()
			return nil
		}
	})
	srv := httptest.NewServer(a.echo)
	defer srv.Close()

	files, err := load.FilesIn(dir)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		// The outage starts a third of the way in, or once a HIT has been
		// served if that takes longer (the race detector and the other
		// test packages share the cores), but by half way at the latest.
		time.Sleep(dur / 3)
		poll.Wait(dur/2-dur/3, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return xcache["HIT"] > 0
		})
		rs.Kill()
		time.Sleep(dur / 3)
		rs.Restart()
	}()
	res, err := load.Run(t.Context(), load.Config{
		BaseURL: srv.URL, Files: files, Scenario: load.Seek, Clients: clients,
		Duration: dur, ReadBytes: 2 << 20, Root: dir, Seed: 7,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close() // waits for the handlers still finishing
	mu.Lock()
	defer mu.Unlock()
	t.Logf("load: %v", res)
	t.Logf("server: status %v, X-Cache %v", status, xcache)
	if res.Requests < int64(clients) || res.WrongBytes != 0 || res.Errors != 0 {
		t.Errorf("want many requests, no errors, no wrong bytes; first error: %s", res.FirstError)
	}
	for code, n := range status {
		if code >= 500 {
			t.Errorf("%d responses with status %d", n, code)
		}
	}
	if l := logs.String(); strings.Contains(l, "response cut short") {
		t.Errorf("server cut responses short:\n%s", l)
	}
	if xcache["HIT"] == 0 || xcache["BYPASS"]+xcache["MISS"] == 0 {
		t.Errorf("X-Cache %v: want hits before the outage and disk answers during it", xcache)
	}
}
