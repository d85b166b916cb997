package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/load"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testmedia"
)

func TestParseTarget(t *testing.T) {
	checkParse(t, "parseTarget", parseTarget, []parseCase[target]{
		{"nginx=http://a", target{name: "nginx", urls: []string{"http://a"}}, false},
		{"three=http://a,http://b;pid=1,@/run/b.pid", target{name: "three", urls: []string{"http://a", "http://b"}, pids: []string{"1", "@/run/b.pid"}}, false},
		{"cold=http://a;origin=http://o/m;reset=x a; y b", target{name: "cold", urls: []string{"http://a"}, origin: "http://o/m", reset: "x a; y b"}, false},
		{"http://a", target{}, true},
		{"x=", target{}, true},
		{"x=http://a;color=red", target{}, true},
	})
}

func TestMedian(t *testing.T) {
	tests := []struct {
		mbps       []float64
		want       float64
		wantErrors int64
	}{
		{[]float64{5}, 5, 1},
		{[]float64{9, 1, 5}, 5, 3},
		{[]float64{9, 1}, 5, 2},
		{[]float64{4, 1, 9, 2}, 3, 4},
	}
	for _, tt := range tests {
		var rs []row
		for _, v := range tt.mbps {
			rs = append(rs, row{MBps: v, TTFB99: 2 * v, Errors: 1})
		}
		m := median(rs)
		if m.MBps != tt.want || m.TTFB99 != 2*tt.want || m.Errors != tt.wantErrors {
			t.Errorf("median of %v: MB/s %v, TTFB p99 %v, errors %d; want %v, %v, %d", tt.mbps, m.MBps, m.TTFB99, m.Errors, tt.want, 2*tt.want, tt.wantErrors)
		}
	}
}

// TestCompareSourcesOriginAndResets runs compare against reelcache (in
// process, on a real Redis) and the ServeContent peer: a row that empties
// Redis before each round reads every byte from the origin, once per
// chunk touched; the row after it is served from Redis; the peer has no
// sources to report.
func TestCompareSourcesOriginAndResets(t *testing.T) {
	rs := redistest.Start(t)
	cli := redistest.Require(t, "redis-cli")
	const mib = 1 << 20
	dir := testmedia.Dir(t, map[string]int{"a.mp4": 2*mib + 5, "b.mp4": mib / 2})
	rc := startReelcache(t, dir, rs, chunker.FillSync)
	peer := httptest.NewServer(plain(dir))
	defer peer.Close()
	files, err := load.FilesIn(dir)
	if err != nil {
		t.Fatal(err)
	}
	resets := filepath.Join(t.TempDir(), "resets")
	host, port, _ := strings.Cut(rs.Addr(), ":")
	jsonOut := filepath.Join(t.TempDir(), "out.jsonl")
	cmp := comparison{
		cfg:    load.Config{Files: files, Scenario: load.Once, Clients: 2, Duration: 10 * time.Second, Root: dir},
		rounds: 2, label: "tail", chunk: mib, jsonOut: jsonOut, settle: 50 * time.Millisecond,
		targets: []target{
			{name: "servecontent", urls: []string{peer.URL}},
			{name: "reelcache-cold", urls: []string{rc.URL}, reset: fmt.Sprintf("echo x >>%s && %s -h %s -p %s flushall >/dev/null", resets, cli, host, port)},
			{name: "reelcache-warm", urls: []string{rc.URL}},
		},
	}
	var table strings.Builder
	if err := cmp.run(context.Background(), &table); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + table.String())
	if b, _ := os.ReadFile(resets); strings.Count(string(b), "x") != 2 {
		t.Errorf("reset ran %d times, want once a round (2)", strings.Count(string(b), "x"))
	}
	if !strings.Contains(table.String(), "served MB: Redis / tier / origin") || !strings.Contains(table.String(), "origin / distinct") {
		t.Errorf("table lacks the source and distinct columns:\n%s", table.String())
	}
	f, err := os.Open(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]row{}
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var r row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		rows[r.Target] = r
	}
	total := float64(2*mib+5+mib/2) / 1e6
	close := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	if r := rows["servecontent"]; r.Reelcache || r.HasOrigin || r.Errors != 0 || r.Requests != 4 {
		t.Errorf("servecontent: %+v; want no sources, no origin, 2 requests a round", r)
	}
	// Cold: every chunk is read from the origin once; the later windows
	// of a chunk may come from Redis, where the miss just put it.
	if r := rows["reelcache-cold"]; !r.Reelcache || !close(r.RedisMB+r.LocalMB+r.DiskMB, total) || r.DiskMB == 0 ||
		!close(r.OriginMB, total) || !close(r.DistinctMB, total) || !close(r.PerDistinct, 1) || r.Errors != 0 {
		t.Errorf("reelcache-cold: %+v; want %.6f MB served, some from the origin, and every chunk read from it once", r, total)
	}
	if r := rows["reelcache-warm"]; !r.Reelcache || !close(r.RedisMB, total) || r.DiskMB != 0 || r.OriginMB != 0 || r.Errors != 0 {
		t.Errorf("reelcache-warm: %+v; want all %.6f MB from Redis, nothing from the origin", r, total)
	}
}
