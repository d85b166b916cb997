package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/reelcache/reelcache/internal/load"
)

// comparison runs one scenario against several targets, rounds times,
// interleaved (A B C A B C ...), so that drift of the machine hits all
// alike.
type comparison struct {
	cfg     load.Config
	targets []target
	rounds  int
	label   string        // the scenario's name in the JSON lines
	settle  time.Duration // wait after each run before reading counters
	chunk   int64         // > 0: count distinct chunk bytes touched (of this size)
	jsonOut string        // append the medians here as JSON lines
	wrk     bool          // make the load with wrk (wrk.go) instead of internal/load
}

// row is one target's result in one scenario: of one round, or the
// median of the rounds.
type row struct {
	Scenario string  `json:"scenario"`
	Target   string  `json:"target"`
	Requests int64   `json:"requests"`
	MBps     float64 `json:"mb_per_s"`
	TTFB50   float64 `json:"ttfb_p50_ms"`
	TTFB99   float64 `json:"ttfb_p99_ms"`
	Total50  float64 `json:"total_p50_ms"`
	Total99  float64 `json:"total_p99_ms"`
	Errors   int64   `json:"errors"`
	Stalls   int64   `json:"stalls"`
	RSSMB    float64 `json:"rss_mb,omitempty"`
	CPUsPerG float64 `json:"cpu_s_per_gb,omitempty"`
	// Reelcache rows: body bytes served by source, from the server's
	// /metrics (reelcache_served_bytes_total), in MB. "disk" is the
	// origin, whatever it is.
	Reelcache bool    `json:"reelcache"`
	RedisMB   float64 `json:"served_redis_mb"`
	LocalMB   float64 `json:"served_local_mb"`
	DiskMB    float64 `json:"served_origin_mb"`
	// OriginMB is what the target read from its origin: the external
	// counter when there is one, else reelcache_origin_bytes_total
	// (OriginOwnMB, which is kept for reelcache rows either way).
	HasOrigin   bool    `json:"has_origin"`
	OriginMB    float64 `json:"origin_read_mb"`
	OriginOwnMB float64 `json:"origin_metric_mb,omitempty"`
	// With -distinct: chunk bytes the clients touched, and OriginMB per
	// DistinctMB.
	DistinctMB  float64 `json:"distinct_chunk_mb,omitempty"`
	PerDistinct float64 `json:"origin_per_distinct,omitempty"`
}

func (cmp *comparison) run(ctx context.Context, out io.Writer) error {
	if len(cmp.targets) == 0 {
		return fmt.Errorf("compare: no -target")
	}
	results := make([][]row, len(cmp.targets))
	for range cmp.rounds {
		for i, t := range cmp.targets {
			r, err := cmp.one(ctx, t)
			if err != nil {
				return err
			}
			results[i] = append(results[i], r)
		}
	}
	meds := make([]row, len(results))
	for i, rs := range results {
		meds[i] = median(rs)
	}
	if cmp.jsonOut != "" {
		f, err := os.OpenFile(cmp.jsonOut, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
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
	cmp.table(out, meds)
	return nil
}

// one runs one round against one target.
func (cmp *comparison) one(ctx context.Context, t target) (row, error) {
	if err := t.runReset(ctx); err != nil {
		return row{}, err
	}
	pids := t.pidsNow()
	c0, err := t.read()
	if err != nil {
		return row{}, err
	}
	cpu0 := cpuSeconds(pids)
	c := cmp.cfg
	c.BaseURL, c.Mirrors = t.urls[0], t.urls[1:]
	var tch *touched
	if cmp.chunk > 0 {
		tch = newTouched(cmp.chunk, c.Files)
		c.OnRead = tch.add
	}
	run := load.Run
	if cmp.wrk {
		run = wrkRun
	}
	res, err := run(ctx, c)
	if err != nil {
		return row{}, err
	}
	if cmp.settle > 0 {
		select {
		case <-time.After(cmp.settle):
		case <-ctx.Done():
			return row{}, ctx.Err()
		}
	}
	c1, err := t.read()
	if err != nil {
		return row{}, err
	}
	r := row{
		Scenario: cmp.label, Target: t.name, Requests: res.Requests, MBps: res.Throughput() / 1e6,
		TTFB50: ms(res.TTFB.P50), TTFB99: ms(res.TTFB.P99), Total50: ms(res.Total.P50), Total99: ms(res.Total.P99),
		Errors: res.Errors, Stalls: res.Stalls,
	}
	if len(pids) > 0 {
		r.RSSMB = rssMB(pids)
		if res.Bytes > 0 {
			r.CPUsPerG = (cpuSeconds(pids) - cpu0) / (float64(res.Bytes) / 1e9)
		}
	}
	if c1.reelcache {
		r.Reelcache = true
		r.RedisMB, r.LocalMB, r.DiskMB = (c1.redis-c0.redis)/1e6, (c1.local-c0.local)/1e6, (c1.disk-c0.disk)/1e6
		r.OriginOwnMB = (c1.originOwn - c0.originOwn) / 1e6
		r.HasOrigin, r.OriginMB = true, r.OriginOwnMB
	}
	if c1.hasOrigin {
		r.HasOrigin, r.OriginMB = true, (c1.origin-c0.origin)/1e6
		if r.Reelcache && !near(r.OriginMB, r.OriginOwnMB) {
			fmt.Fprintf(os.Stderr, "reelbench: %s: the origin counter says %.1f MB read, the server's metrics %.1f MB\n", t.name, r.OriginMB, r.OriginOwnMB)
		}
	}
	if tch != nil {
		r.DistinctMB = float64(tch.bytes()) / 1e6
		if r.DistinctMB > 0 && r.HasOrigin {
			r.PerDistinct = r.OriginMB / r.DistinctMB
		}
	}
	if res.Errors > 0 {
		fmt.Fprintf(os.Stderr, "reelbench: %s: %d errors, first: %s\n", t.name, res.Errors, res.FirstError)
	}
	return r, nil
}

// near reports whether two byte counts agree within 10% or 1 MB.
func near(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= 1 || d <= 0.1*max(a, b)
}

// table writes the medians as Markdown, each against the first row (the
// reference peer).
func (cmp *comparison) table(out io.Writer, meds []row) {
	ref := meds[0]
	head := fmt.Sprintf("| server | MB/s | vs %s | TTFB p50 ms | TTFB p99 ms | vs %s | total p50 ms | total p99 ms | errors | stalls | RSS MB | CPU s/GB | served MB: Redis / tier / origin | origin read MB |", ref.Target, ref.Target)
	sep := "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	if cmp.chunk > 0 {
		head += " distinct chunk MB | origin / distinct |"
		sep += "---|---|"
	}
	fmt.Fprintln(out, head)
	fmt.Fprintln(out, sep)
	for _, m := range meds {
		sources, origin := "-", "-"
		if m.Reelcache {
			sources = fmt.Sprintf("%s / %s / %s", mb(m.RedisMB), mb(m.LocalMB), mb(m.DiskMB))
		}
		if m.HasOrigin {
			origin = mb(m.OriginMB)
		}
		fmt.Fprintf(out, "| %s | %.0f | %s | %.2f | %.2f | %s | %.1f | %.1f | %d | %d | %s | %s | %s | %s |",
			m.Target, m.MBps, ratio(m.MBps, ref.MBps), m.TTFB50, m.TTFB99, ratio(m.TTFB99, ref.TTFB99),
			m.Total50, m.Total99, m.Errors, m.Stalls, opt(m.RSSMB, "%.0f"), opt(m.CPUsPerG, "%.2f"), sources, origin)
		if cmp.chunk > 0 {
			per := "-"
			if m.HasOrigin && m.DistinctMB > 0 {
				per = fmt.Sprintf("%.3f", m.PerDistinct)
			}
			fmt.Fprintf(out, " %s | %s |", mb(m.DistinctMB), per)
		}
		fmt.Fprintln(out)
	}
}

// mb formats megabytes: one decimal below 10, none above.
func mb(v float64) string {
	if v < 10 && v > -10 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
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

// median returns, field by field, the median of the rounds (of an even
// number, the mean of the middle two; requests, errors and stalls summed).
func median(rs []row) row {
	m := rs[0]
	med := func(get func(row) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = get(r)
		}
		slices.Sort(v)
		if n := len(v); n%2 == 0 {
			return (v[n/2-1] + v[n/2]) / 2
		}
		return v[len(v)/2]
	}
	m.MBps = med(func(r row) float64 { return r.MBps })
	m.TTFB50 = med(func(r row) float64 { return r.TTFB50 })
	m.TTFB99 = med(func(r row) float64 { return r.TTFB99 })
	m.Total50 = med(func(r row) float64 { return r.Total50 })
	m.Total99 = med(func(r row) float64 { return r.Total99 })
	m.RSSMB = med(func(r row) float64 { return r.RSSMB })
	m.CPUsPerG = med(func(r row) float64 { return r.CPUsPerG })
	m.RedisMB = med(func(r row) float64 { return r.RedisMB })
	m.LocalMB = med(func(r row) float64 { return r.LocalMB })
	m.DiskMB = med(func(r row) float64 { return r.DiskMB })
	m.OriginMB = med(func(r row) float64 { return r.OriginMB })
	m.OriginOwnMB = med(func(r row) float64 { return r.OriginOwnMB })
	m.DistinctMB = med(func(r row) float64 { return r.DistinctMB })
	m.PerDistinct = med(func(r row) float64 { return r.PerDistinct })
	m.Requests, m.Errors, m.Stalls = 0, 0, 0
	for _, r := range rs {
		m.Requests += r.Requests
		m.Errors += r.Errors
		m.Stalls += r.Stalls
	}
	return m
}
