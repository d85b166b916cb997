package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/cachewarm"
	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/internal/redistest"
	"github.com/reelcache/reelcache/internal/testlog"
)

// metric returns the value of one sample line of /metrics ("name{labels}").
func metric(t *testing.T, base, sample string) float64 {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	t.Fatalf("no %s in /metrics", sample)
	return 0
}

func httpGet(t *testing.T, url string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for _, h := range header {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// settle polls cond for up to 5 s and returns, met or not: responses are
// counted after they are sent, and the assertions after it say what was
// wrong.
func settle(cond func() bool) {
	for deadline := time.Now().Add(5 * time.Second); !cond() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMetricsAndReadiness: counters move by exactly what a known sequence
// of requests served; /readyz stays ready (degraded) with Redis down.
func TestMetricsAndReadiness(t *testing.T) {
	rs := redistest.Start(t)
	base, _ := serveWith(t, config.Redis{URL: rs.URL()})
	media := base + "/media/sample.webm"
	if code, _, _ := httpGet(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz: %d", code)
	}
	if code, _, b := httpGet(t, base+"/readyz"); code != 200 || !bytes.Contains(b, []byte(`"redis":"up"`)) {
		t.Fatalf("/readyz: %d %s", code, b)
	}
	hits0 := metric(t, base, `reelcache_served_bytes_total{source="redis"}`)
	disk0 := metric(t, base, `reelcache_served_bytes_total{source="disk"}`)
	httpGet(t, media, "Range: bytes=0-99999") // from disk, filled (sync)
	for range 3 {
		httpGet(t, media, "Range: bytes=1000-1999") // 1000 bytes from Redis each
	}
	// Responses are counted after they are sent: wait for the last one.
	settle(func() bool {
		return metric(t, base, `reelcache_served_bytes_total{source="redis"}`)-hits0 >= 3000 &&
			metric(t, base, `reelcache_http_requests_total{code="206",method="GET",route="/media/*"}`) >= 4
	})
	if d := metric(t, base, `reelcache_served_bytes_total{source="disk"}`) - disk0; d != 100000 {
		t.Errorf("disk bytes moved by %v, want 100000", d)
	}
	if d := metric(t, base, `reelcache_served_bytes_total{source="redis"}`) - hits0; d != 3000 {
		t.Errorf("redis bytes moved by %v, want 3000", d)
	}
	if n := metric(t, base, `reelcache_http_requests_total{code="206",method="GET",route="/media/*"}`); n != 4 {
		t.Errorf("206 media requests: %v, want 4", n)
	}
	if n := metric(t, base, `reelcache_chunk_misses_total`); n != 2 { // 64 KiB chunks 0 and 1
		t.Errorf("chunk misses: %v, want 2", n)
	}
	rs.Kill()
	code, _, b := httpGet(t, base+"/readyz")
	if code != 200 || !bytes.Contains(b, []byte(`"status":"degraded"`)) || !bytes.Contains(b, []byte(`"redis":"down"`)) {
		t.Errorf("/readyz with Redis down: %d %s, want 200 degraded", code, b)
	}
	for range 4 {
		httpGet(t, media, "Range: bytes=5000-5999")
	}
	if v := metric(t, base, "reelcache_redis_breaker_open"); v != 1 {
		t.Errorf("breaker gauge %v with Redis down, want 1", v)
	}
}

// TestLocalTierMetrics: with cache.local_bytes, chunks read from disk are
// kept in the process and later ranges of them are served from there, not
// from Redis; the metrics say so to the byte.
func TestLocalTierMetrics(t *testing.T) {
	rs := redistest.Start(t)
	base, _ := serveWith(t, config.Redis{URL: rs.URL()}, func(c *config.Config) { c.Cache.LocalBytes = 1 << 20 })
	media := base + "/media/sample.webm"
	want, _ := os.ReadFile(filepath.Join(samples(t), "sample.webm"))
	httpGet(t, media, "Range: bytes=0-99999") // chunks 0 and 1 from disk, into Redis
	// The fill is asynchronous: wait for both chunks to land.
	settle(func() bool { return metric(t, base, `reelcache_fills_total`) >= 2 })
	httpGet(t, media, "Range: bytes=0-99999") // a second request for them: from Redis, into the tier
	for range 3 {
		_, h, b := httpGet(t, media, "Range: bytes=1000-1999")
		if !bytes.Equal(b, want[1000:2000]) || h.Get("X-Cache") != "HIT" {
			t.Fatalf("range from the local tier: X-Cache %q, bytes equal %v", h.Get("X-Cache"), bytes.Equal(b, want[1000:2000]))
		}
	}
	settle(func() bool { return metric(t, base, `reelcache_served_bytes_total{source="local"}`) >= 3000 })
	for _, m := range []struct {
		sample string
		want   float64
	}{
		{`reelcache_served_bytes_total{source="local"}`, 3000},
		{`reelcache_served_bytes_total{source="redis"}`, 100000},
		{`reelcache_served_bytes_total{source="disk"}`, 100000},
		{`reelcache_local_hits_total`, 3},
		{`reelcache_local_bytes`, 2 << 16}, // two 64 KiB chunks held
		{`reelcache_chunk_misses_total`, 2},
	} {
		if got := metric(t, base, m.sample); got != m.want {
			t.Errorf("%s = %v, want %v", m.sample, got, m.want)
		}
	}
}

// TestTwoInstancesOneRedis: what one instance warms, the other serves as
// HIT.
func TestTwoInstancesOneRedis(t *testing.T) {
	rs := redistest.Start(t)
	cfgA := &config.Config{
		Media:     config.Media{Root: samples(t), Extensions: []string{"mp4", "webm"}},
		ChunkSize: 64 << 10,
		Redis:     config.Redis{URL: rs.URL(), KeyPrefix: "reelcache", Timeout: time.Second, Mode: "single"},
		Cache:     config.Cache{Settle: time.Nanosecond, Fill: "off", Readahead: 2, MaxInflightBytes: 64 << 20},
	}
	a, err := newApp(t.Context(), cfgA, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rep, err := cachewarm.Warm(t.Context(), sampleNames, cachewarm.Options{Cache: a.cache, Logger: slog.New(slog.DiscardHandler)})
	if err != nil || rep.Failed != 0 || rep.Written == 0 {
		t.Fatalf("warm through A: %+v %v", rep, err)
	}
	base, _ := serveWith(t, config.Redis{URL: rs.URL(), Mode: "single"}) // instance B
	for _, name := range sampleNames {
		want, _ := os.ReadFile(filepath.Join(samples(t), name))
		_, h, body := httpGet(t, base+"/media/"+name, "Range: bytes=300000-")
		if h.Get("X-Cache") != "HIT" || !bytes.Equal(body, want[300000:]) {
			t.Errorf("%s from B: X-Cache %q, bytes equal %v", name, h.Get("X-Cache"), bytes.Equal(body, want[300000:]))
		}
	}
}

// TestRedisCluster: a real 3-master Redis Cluster. Chunks spread over all
// masters; every response is right; with one master killed, its chunks come
// from disk, the rest still hit, and no request fails.
func TestRedisCluster(t *testing.T) {
	cli := redistest.Require(t, "redis-cli")
	var nodes []*redistest.Server
	var addrs []string
	for range 3 {
		// cluster-require-full-coverage no: with a master down, the others
		// keep answering for their slots (what a cache wants; see README).
		n := redistest.Start(t, "cluster-enabled", "yes", "cluster-config-file", "nodes.conf", "cluster-node-timeout", "2000",
			"cluster-require-full-coverage", "no")
		nodes = append(nodes, n)
		addrs = append(addrs, n.Addr())
	}
	out, err := exec.Command(cli, append([]string{"--cluster", "create"}, append(addrs, "--cluster-yes")...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	waitFor := func(what string, cond func() bool) {
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("cluster_state:ok", func() bool {
		for _, n := range nodes {
			info, err := n.Client().ClusterInfo(context.Background()).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
		}
		return true
	})

	dir := t.TempDir()
	data := make([]byte, 3<<20+777)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	os.WriteFile(filepath.Join(dir, "big.mp4"), data, 0o644)
	cfg := &config.Config{
		Media:     config.Media{Root: dir, Extensions: []string{"mp4"}},
		ChunkSize: 64 << 10,
		Redis: config.Redis{URL: "redis://" + addrs[0], Mode: "cluster", Addrs: addrs[1:],
			KeyPrefix: "reelcache", Timeout: 500 * time.Millisecond},
		Cache: config.Cache{Settle: time.Nanosecond, Fill: "off", Readahead: 2, MaxInflightBytes: 64 << 20},
	}
	logs := &testlog.Buffer{}
	a, err := newApp(t.Context(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// The log names the seed nodes used, not the URL alone (issue 21).
	if want := `redis="cluster seeds ` + strings.Join(addrs, ",") + `"`; !strings.Contains(logs.String(), want) {
		t.Errorf("log does not say %s:\n%s", want, logs.String())
	}
	defer a.Close()
	srv := httptest.NewServer(a.echo)
	defer srv.Close()
	rep, err := cachewarm.Warm(t.Context(), []string{"big.mp4"}, cachewarm.Options{Cache: a.cache, Logger: slog.New(slog.DiscardHandler)})
	if err != nil || rep.Failed != 0 || rep.Written != 49 {
		t.Fatalf("warm on the cluster: %+v %v", rep, err)
	}
	perNode := make([]int, 3)
	for i, n := range nodes {
		perNode[i] = len(n.Keys(context.Background(), "reelcache:c:*"))
		if perNode[i] == 0 {
			t.Errorf("master %s holds no chunks", n.Addr())
		}
	}
	t.Logf("chunks per master: %v", perNode)

	check := func(phase string) map[string]int {
		seen := map[string]int{}
		for i := range 30 {
			a := int64(i) * 100_000
			b := a + 150_000
			code, h, body := httpGet(t, srv.URL+"/media/big.mp4", fmt.Sprintf("Range: bytes=%d-%d", a, b))
			if code != 206 || !bytes.Equal(body, data[a:b+1]) {
				t.Fatalf("%s: bytes=%d-%d: status %d, wrong bytes", phase, a, b, code)
			}
			seen[h.Get("X-Cache")]++
		}
		return seen
	}
	if seen := check("all masters up"); seen["HIT"] != 30 {
		t.Errorf("all masters up: X-Cache %v, want all HIT", seen)
	}
	nodes[2].Kill()
	seen := check("one master down")
	t.Logf("one master down: X-Cache %v", seen)
	if seen["HIT"]+seen["PARTIAL"] < 15 {
		t.Errorf("one master down: X-Cache %v, want most responses still (partly) from Redis", seen)
	}
}

// TestWarmMetrics: warm's progress gauges are served while it runs.
func TestWarmMetrics(t *testing.T) {
	var logs testlog.Buffer
	observe, stop, err := warmMetrics("127.0.0.1:0", slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	observe(cachewarm.Progress{Chunks: 10, ChunksDone: 4, Bytes: 10 << 20, BytesDone: 4 << 20})
	i := strings.Index(logs.String(), "url=")
	if i < 0 {
		t.Fatalf("no URL logged: %s", logs.String())
	}
	u := strings.Fields(logs.String()[i+4:])[0]
	base := strings.TrimSuffix(u, "/metrics")
	if v := metric(t, base, "reelcache_warm_chunks_done"); v != 4 {
		t.Errorf("reelcache_warm_chunks_done %v, want 4", v)
	}
	if v := metric(t, base, "reelcache_warm_bytes"); v != 10<<20 {
		t.Errorf("reelcache_warm_bytes %v, want %d", v, 10<<20)
	}
}

// TestRedisSentinel: redis.mode sentinel finds the master through a real
// sentinel (redis-server --sentinel) and caches there.
func TestRedisSentinel(t *testing.T) {
	bin := redistest.Require(t, "redis-server")
	master := redistest.Start(t)
	dir := t.TempDir()
	_, mport, _ := strings.Cut(master.Addr(), ":")
	var addr string
	var cmd *exec.Cmd
	for range 5 {
		port := freeTCPPort(t)
		conf := filepath.Join(dir, "sentinel.conf")
		os.WriteFile(conf, []byte(fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor mymaster 127.0.0.1 %s 1\n", port, dir, mport)), 0o644)
		cmd = exec.Command(bin, conf, "--sentinel")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		addr = fmt.Sprintf("127.0.0.1:%d", port)
		if waitTCP(addr) {
			break
		}
		cmd.Process.Kill()
		cmd.Wait()
		cmd = nil
	}
	if cmd == nil {
		t.Fatal("redis-server --sentinel did not start")
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	base, logs := serveWith(t, config.Redis{URL: "redis://" + addr, Mode: "sentinel", MasterName: "mymaster"})
	// The log names what is used: the master's name and the sentinel, not
	// a URL (issue 21, "also seen").
	if want := `redis="sentinel master mymaster via ` + addr + `"`; !strings.Contains(logs.String(), want) {
		t.Errorf("log does not say %s:\n%s", want, logs.String())
	}
	if a, b := xcacheTwice(t, base); a != "MISS" || b != "HIT" {
		t.Errorf("through the sentinel: X-Cache %s then %s, want MISS then HIT", a, b)
	}
	if keys := master.Keys(context.Background(), "reelcache:c:*"); len(keys) == 0 {
		t.Error("no chunks on the master the sentinel names")
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitTCP(addr string) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return true
		}
	}
	return false
}
