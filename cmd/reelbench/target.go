package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

const targetSyntax = "NAME=URL[,URL...][;pid=PID|@PIDFILE[,...]][;origin=METRICS_URL][;reset=SHELL COMMAND]"

// target is one server (or several serving one library, taken in turn) in
// a comparison.
type target struct {
	name string
	urls []string
	// pids are the processes whose RSS and CPU the row reports (summed):
	// a number, or @FILE naming a file that holds one, read before each
	// round (for servers that reset restarts).
	pids []string
	// origin is a metrics URL whose reelbench_origin_bytes_total counts
	// the bytes this target read from its origin (slowfs, slowproxy);
	// without it, a reelcache target's own reelcache_origin_bytes_total.
	origin string
	// reset runs (sh -c) before each round: a cold row empties its cache.
	reset string
}

// parseTarget parses targetSyntax. reset, when present, is the last
// option and takes the rest of the string.
func parseTarget(s string) (target, error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return target{}, fmt.Errorf("-target %q: want %s", s, targetSyntax)
	}
	t := target{name: name}
	urls, opts, _ := strings.Cut(rest, ";")
	if urls == "" {
		return target{}, fmt.Errorf("-target %q: no URL", s)
	}
	t.urls = strings.Split(urls, ",")
	for opts != "" {
		var opt string
		if strings.HasPrefix(opts, "reset=") {
			opt, opts = opts, ""
		} else {
			opt, opts, _ = strings.Cut(opts, ";")
		}
		k, v, _ := strings.Cut(opt, "=")
		switch k {
		case "pid":
			t.pids = strings.Split(v, ",")
		case "origin":
			t.origin = v
		case "reset":
			t.reset = v
		default:
			return target{}, fmt.Errorf("-target %q: unknown option %q; want %s", s, k, targetSyntax)
		}
	}
	return t, nil
}

// runReset runs the target's reset command, its output on stderr.
func (t target) runReset(ctx context.Context) error {
	if t.reset == "" {
		return nil
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", t.reset)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: reset %q: %w", t.name, t.reset, err)
	}
	return nil
}

// counters are a target's byte counters at one moment.
type counters struct {
	reelcache bool // the target exposes reelcache's counters
	// Served bytes by source (reelcache_served_bytes_total), and bytes
	// read from the origin (reelcache_origin_bytes_total), summed over
	// the target's servers.
	redis, local, disk, originOwn float64
	hasOrigin                     bool    // an external origin counter was read
	origin                        float64 // reelbench_origin_bytes_total at t.origin
}

// read scrapes the target's counters. A server without reelcache's
// metrics (nginx, the peers) is not an error.
func (t target) read() (counters, error) {
	var c counters
	for _, u := range t.urls {
		m, err := scrape(u + "/metrics")
		if err != nil {
			continue
		}
		v, ok := m[`reelcache_served_bytes_total{source="redis"}`]
		if !ok {
			continue
		}
		c.reelcache = true
		c.redis += v
		c.local += m[`reelcache_served_bytes_total{source="local"}`]
		c.disk += m[`reelcache_served_bytes_total{source="disk"}`]
		c.originOwn += m["reelcache_origin_bytes_total"]
	}
	if t.origin != "" {
		m, err := scrape(t.origin)
		if err != nil {
			return c, fmt.Errorf("%s: origin counter: %w", t.name, err)
		}
		v, ok := m["reelbench_origin_bytes_total"]
		if !ok {
			return c, fmt.Errorf("%s: no reelbench_origin_bytes_total at %s", t.name, t.origin)
		}
		c.hasOrigin, c.origin = true, v
	}
	return c, nil
}

// scrapeClient bounds a scrape: a server that hangs fails the round
// rather than the whole benchmark.
var scrapeClient = &http.Client{Timeout: 5 * time.Second}

// scrape reads a Prometheus text page into a map from series (name and
// labels, as written) to value.
func scrape(url string) (map[string]float64, error) {
	res, err := scrapeClient.Get(url)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: status %d", url, res.StatusCode)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	m := map[string]float64{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m, nil
}

// pidsNow resolves the target's pids (@FILE read now); unreadable ones
// are left out.
func (t target) pidsNow() []string {
	var out []string
	for _, p := range t.pids {
		if f, ok := strings.CutPrefix(p, "@"); ok {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			p = strings.TrimSpace(string(b))
		}
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// rssMB reads the processes' resident sets from /proc (Linux), in MB,
// summed.
func rssMB(pids []string) float64 {
	return sumProc(pids, "status", func(status string) float64 {
		for line := range strings.SplitSeq(status, "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
				return kb / 1024
			}
		}
		return 0
	})
}

// sumProc sums value of the text of /proc/PID/file over the processes
// (Linux); one whose file cannot be read counts for nothing.
func sumProc(pids []string, file string, value func(string) float64) float64 {
	var sum float64
	for _, pid := range pids {
		if b, err := os.ReadFile("/proc/" + pid + "/" + file); err == nil {
			sum += value(string(b))
		}
	}
	return sum
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat times.
var clockTicks = sync.OnceValue(func() float64 {
	if out, err := exec.Command("getconf", "CLK_TCK").Output(); err == nil {
		if v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil {
			return v
		}
	}
	return 100
})

// cpuSeconds reads the processes' user+system CPU time from /proc
// (Linux), including their reaped children, summed.
func cpuSeconds(pids []string) float64 {
	ticks := sumProc(pids, "stat", func(s string) float64 {
		// Fields after the ")" that ends the command name: utime is the
		// 12th, stime 13th, cutime 14th, cstime 15th.
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 15 {
			return 0
		}
		var ticks float64
		for _, i := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseFloat(f[i], 64)
			ticks += v
		}
		return ticks
	})
	return ticks / clockTicks()
}

type targets []string

func (t *targets) String() string     { return strings.Join(*t, " ") }
func (t *targets) Set(v string) error { *t = append(*t, v); return nil }
