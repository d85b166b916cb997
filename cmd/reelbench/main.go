// Command reelbench drives video-player load at HTTP servers, for the
// benchmark (scripts/bench.sh) and by hand.
//
//	reelbench run -url http://127.0.0.1:8080 -root DIR -scenario seek -clients 64 -duration 10s
//	reelbench compare -root DIR -target nginx=http://... -target reelcache=http://... -rounds 3
//	reelbench plain -root DIR -listen 127.0.0.1:8081   (http.ServeContent on *os.File, the peer)
//
// compare runs each scenario against every target in turn, interleaved
// (A B A B ...), so that drift of the machine hits all alike, and prints
// the median of the rounds as JSON lines and a Markdown table.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/reelcache/reelcache/internal/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "reelbench:", err)
		os.Exit(1)
	}
}

type targets []string

func (t *targets) String() string     { return strings.Join(*t, ",") }
func (t *targets) Set(v string) error { *t = append(*t, v); return nil }

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: reelbench run|compare|plain [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	root := fs.String("root", "", "media directory (files to request; bodies checked against it with -verify)")
	base := fs.String("url", "", "run: server base URL")
	scenario := fs.String("scenario", "ranges", "ranges, seek or viewers")
	clients := fs.Int("clients", 8, "concurrent clients")
	dur := fs.Duration("duration", 5*time.Second, "length of each run")
	rangeSize := fs.Int64("range", 1<<20, "ranges: bytes per request")
	readBytes := fs.Int64("read", 2<<20, "seek: bytes read per request")
	bitrate := fs.Int64("bitrate", 8_000_000, "viewers: bits per second each")
	verify := fs.Bool("verify", false, "check every body against the file")
	rounds := fs.Int("rounds", 3, "compare: rounds per scenario")
	listen := fs.String("listen", "127.0.0.1:0", "plain: address")
	jsonOut := fs.String("json", "", "compare: append the medians as JSON lines to this file")
	chunk := fs.Int64("chunk", 1<<20, "cold: the server's chunk size")
	nfiles := fs.Int("files", 10, "cold: how many files the clients share")
	var tg targets
	fs.Var(&tg, "target", "compare: NAME=URL (repeat); NAME=URL@PID also reports the server's RSS and CPU")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *root == "" {
		return errors.New("-root is required")
	}
	switch args[0] {
	case "plain":
		return plain(ctx, *root, *listen, out)
	}
	files, err := load.FilesIn(*root)
	if err != nil {
		return err
	}
	cfg := load.Config{
		Files: files, Scenario: load.Scenario(*scenario), Clients: *clients, Duration: *dur,
		RangeSize: *rangeSize, ReadBytes: *readBytes, Bitrate: *bitrate / 8 * 8, Seed: 1,
	}
	if *verify {
		cfg.Root = *root
	}
	switch args[0] {
	case "cold":
		cfg.BaseURL = *base
		return cold(ctx, cfg, *chunk, *nfiles, out)
	case "run":
		cfg.BaseURL = *base
		res, err := load.Run(ctx, cfg)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, res)
		return nil
	case "compare":
		return compare(ctx, cfg, tg, *rounds, *jsonOut, out)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// cold runs seeks of many clients over a few files against a server whose
// cache was just emptied, and compares the bytes it read from disk
// (reelcache_origin_bytes_total on its /metrics) with the distinct chunk
// bytes the clients touched: stampede protection makes them equal.
func cold(ctx context.Context, cfg load.Config, chunk int64, nfiles int, out io.Writer) error {
	slices.SortFunc(cfg.Files, func(a, b load.File) int { return strings.Compare(a.Name, b.Name) })
	cfg.Files = cfg.Files[:min(nfiles, len(cfg.Files))]
	sizes := map[string]int64{}
	for _, f := range cfg.Files {
		sizes[f.Name] = f.Size
	}
	type key struct {
		name string
		i    int64
	}
	var mu sync.Mutex
	touched := map[key]bool{}
	cfg.OnRead = func(name string, off, n int64) {
		if n <= 0 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for i := off / chunk; i <= (off+n-1)/chunk; i++ {
			touched[key{name, i}] = true
		}
	}
	before, err := scrape(cfg.BaseURL, "reelcache_origin_bytes_total")
	if err != nil {
		return err
	}
	res, err := load.Run(ctx, cfg)
	if err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond) // reads still finishing for clients that left
	after, err := scrape(cfg.BaseURL, "reelcache_origin_bytes_total")
	if err != nil {
		return err
	}
	var distinct int64
	for k := range touched {
		distinct += min(chunk, sizes[k.name]-k.i*chunk)
	}
	origin := after - before
	fmt.Fprintln(out, "| clients | files | requests | bytes served | distinct chunk bytes touched | origin bytes read | origin / distinct |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|")
	fmt.Fprintf(out, "| %d | %d | %d | %d | %d | %.0f | %.3f |\n", cfg.Clients, len(cfg.Files), res.Requests, res.Bytes, distinct, origin, origin/float64(max(1, distinct)))
	return nil
}

// scrape reads one unlabelled counter from a Prometheus endpoint.
func scrape(base, name string) (float64, error) {
	res, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("%s: no %s", base, name)
}

// plain serves root with http.ServeContent on *os.File: the peer that
// reelcache's disk path is measured against.
func plain(ctx context.Context, root, addr string, out io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "http://%s\n", ln.Addr())
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/media/")
		if !ok || strings.Contains(name, "..") {
			http.NotFound(w, r)
			return
		}
		f, err := os.Open(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "video/mp4")
		http.ServeContent(w, r, "", fi.ModTime(), f)
	})}
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// row is one target's median result in one scenario.
type row struct {
	Scenario string  `json:"scenario"`
	Target   string  `json:"target"`
	MBps     float64 `json:"mb_per_s"`
	TTFB50   float64 `json:"ttfb_p50_ms"`
	TTFB99   float64 `json:"ttfb_p99_ms"`
	Total50  float64 `json:"total_p50_ms"`
	Total99  float64 `json:"total_p99_ms"`
	Errors   int64   `json:"errors"`
	Stalls   int64   `json:"stalls"`
	RSSMB    float64 `json:"rss_mb,omitempty"`
	CPUsPerG float64 `json:"cpu_s_per_gb,omitempty"`
}

// compare runs cfg against each target, rounds times, interleaved.
func compare(ctx context.Context, cfg load.Config, tg targets, rounds int, jsonOut string, out io.Writer) error {
	type target struct{ name, url, pid string }
	var ts []target
	for _, t := range tg {
		name, u, ok := strings.Cut(t, "=")
		if !ok {
			return fmt.Errorf("-target %q: want NAME=URL", t)
		}
		u, pid, _ := strings.Cut(u, "@")
		ts = append(ts, target{name, u, pid})
	}
	results := make([][]row, len(ts))
	for range rounds {
		for i, t := range ts {
			c := cfg
			c.BaseURL = t.url
			cpu0 := cpuSeconds(t.pid)
			res, err := load.Run(ctx, c)
			if err != nil {
				return err
			}
			r := row{
				Scenario: string(cfg.Scenario), Target: t.name, MBps: res.Throughput() / 1e6,
				TTFB50: ms(res.TTFB.P50), TTFB99: ms(res.TTFB.P99), Total50: ms(res.Total.P50), Total99: ms(res.Total.P99),
				Errors: res.Errors, Stalls: res.Stalls,
			}
			if t.pid != "" {
				r.RSSMB = rssMB(t.pid)
				if res.Bytes > 0 {
					r.CPUsPerG = (cpuSeconds(t.pid) - cpu0) / (float64(res.Bytes) / 1e9)
				}
			}
			results[i] = append(results[i], r)
			if res.Errors > 0 {
				fmt.Fprintf(os.Stderr, "reelbench: %s: %d errors, first: %s\n", t.name, res.Errors, res.FirstError)
			}
		}
	}
	meds := make([]row, len(results))
	for i, rs := range results {
		meds[i] = median(rs)
	}
	if jsonOut != "" {
		f, err := os.OpenFile(jsonOut, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		enc := json.NewEncoder(f)
		for _, m := range meds {
			if err := enc.Encode(m); err != nil {
				return err
			}
		}
	}
	// Markdown, each target against the first (the reference peer).
	ref := meds[0]
	fmt.Fprintf(out, "| server | MB/s | vs %s | TTFB p50 ms | TTFB p99 ms | vs %s | total p50 ms | total p99 ms | errors | stalls | RSS MB | CPU s/GB |\n", ref.Target, ref.Target)
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, m := range meds {
		fmt.Fprintf(out, "| %s | %.0f | %s | %.2f | %.2f | %s | %.1f | %.1f | %d | %d | %s | %s |\n",
			m.Target, m.MBps, ratio(m.MBps, ref.MBps), m.TTFB50, m.TTFB99, ratio(m.TTFB99, ref.TTFB99),
			m.Total50, m.Total99, m.Errors, m.Stalls, opt(m.RSSMB, "%.0f"), opt(m.CPUsPerG, "%.2f"))
	}
	return nil
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*a/b)
}

func opt(v float64, format string) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// median returns, field by field, the median of the rounds (errors and
// stalls summed).
func median(rs []row) row {
	m := rs[0]
	med := func(get func(row) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = get(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	m.MBps = med(func(r row) float64 { return r.MBps })
	m.TTFB50 = med(func(r row) float64 { return r.TTFB50 })
	m.TTFB99 = med(func(r row) float64 { return r.TTFB99 })
	m.Total50 = med(func(r row) float64 { return r.Total50 })
	m.Total99 = med(func(r row) float64 { return r.Total99 })
	m.RSSMB = med(func(r row) float64 { return r.RSSMB })
	m.CPUsPerG = med(func(r row) float64 { return r.CPUsPerG })
	m.Errors, m.Stalls = 0, 0
	for _, r := range rs {
		m.Errors += r.Errors
		m.Stalls += r.Stalls
	}
	return m
}

// rssMB reads a process's resident set from /proc (Linux), in MB.
func rssMB(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuSeconds reads a process's user+system CPU time from /proc (Linux),
// including its children (nginx workers).
func cpuSeconds(pid string) float64 {
	if pid == "" {
		return 0
	}
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the ")" that ends the command name: utime is the 12th,
	// stime 13th, cutime 14th, cstime 15th.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 15 {
		return 0
	}
	var ticks float64
	for _, i := range []int{11, 12, 13, 14} {
		v, _ := strconv.ParseFloat(f[i], 64)
		ticks += v
	}
	hz := 100.0
	if out, err := exec.Command("getconf", "CLK_TCK").Output(); err == nil {
		if v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil {
			hz = v
		}
	}
	return ticks / hz
}
