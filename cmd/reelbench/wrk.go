package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/reelcache/reelcache/internal/load"
)

// The second load generator (issue 20: one of two generators disagreed on
// the hot video). wrk, a C program with one event loop per thread, makes
// the same requests as the "ranges" scenario of internal/load: random
// ranges of cfg.RangeSize in random files, on cfg.Clients keep-alive
// connections for cfg.Duration. It reports no time to first byte, so a
// wrk row's TTFB columns hold its whole-response latency, like its total
// columns; its byte count includes response headers (a few hundred bytes
// per MiB body).

// wrkScript is the Lua script wrk runs: the file list, a request function
// picking ranges, and a done function printing one line the Go side
// parses. wrk's status errors count answers >= 400; a 200 to a range
// request would be a wrong answer, which the byte count would show.
const wrkScript = `
local paths = {%s}
local sizes = {%s}
local rs = %d
math.randomseed(%d)
request = function()
  local i = math.random(#paths)
  local off = 0
  if sizes[i] > rs then off = math.random(0, sizes[i] - rs) end
  local hi = math.min(off + rs, sizes[i]) - 1
  return wrk.format("GET", paths[i], {["Range"] = "bytes=" .. off .. "-" .. hi})
end
done = function(s, latency, requests)
  local e = s.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d\n", s.requests, s.bytes, s.duration,
    latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
`

// wrkRun runs wrk against cfg.BaseURL with cfg's files, clients, range
// size and duration. Only the ranges scenario is supported.
func wrkRun(ctx context.Context, cfg load.Config) (*load.Result, error) {
	if cfg.Scenario != load.Ranges {
		return nil, fmt.Errorf("wrk: only the %q scenario, not %q", load.Ranges, cfg.Scenario)
	}
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return nil, errors.New("wrk: not installed (apt-get install wrk)")
	}
	rs := cfg.RangeSize
	if rs <= 0 {
		rs = 1 << 20
	}
	var paths, sizes []string
	for _, f := range cfg.Files {
		paths = append(paths, strconv.Quote((&url.URL{Path: "/media/" + f.Name}).EscapedPath()))
		sizes = append(sizes, strconv.FormatInt(f.Size, 10))
	}
	dir, err := os.MkdirTemp("", "reelbench-wrk-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "ranges.lua")
	lua := fmt.Sprintf(wrkScript, strings.Join(paths, ","), strings.Join(sizes, ","), rs, time.Now().UnixNano()%1e9)
	if err := os.WriteFile(script, []byte(lua), 0o600); err != nil {
		return nil, err
	}
	secs := max(1, int(cfg.Duration.Round(time.Second)/time.Second))
	cmd := exec.CommandContext(ctx, bin, "-t1", "-c"+strconv.Itoa(cfg.Clients), "-d"+strconv.Itoa(secs)+"s",
		"--timeout", "10s", "-s", script, cfg.BaseURL)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("wrk: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return parseWrk(out.String())
}

// parseWrk reads the RESULT line wrkScript's done function prints.
func parseWrk(out string) (*load.Result, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 8 || f[0] != "RESULT" {
			continue
		}
		var v [7]int64
		for i := range v {
			n, err := strconv.ParseInt(f[i+1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("wrk: bad result line %q", sc.Text())
			}
			v[i] = n
		}
		us := func(n int64) time.Duration { return time.Duration(n) * time.Microsecond }
		r := &load.Result{
			Requests: v[0], Bytes: v[1], Elapsed: us(v[2]),
			TTFB:   load.Percentiles{P50: us(v[3]), P99: us(v[4])},
			Total:  load.Percentiles{P50: us(v[3]), P99: us(v[4])},
			Errors: v[5] + v[6],
		}
		if r.Errors > 0 {
			r.FirstError = fmt.Sprintf("wrk: %d answers >= 400, %d socket errors", v[5], v[6])
		}
		return r, nil
	}
	return nil, fmt.Errorf("wrk: no result line in its output: %q", out)
}
