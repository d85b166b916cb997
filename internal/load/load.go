// Package load generates HTTP load like video players make it, for the
// load test and the benchmark (cmd/reelbench): random ranges, browser-like
// seeks, viewers reading at a fixed bitrate, and a long tail of files read
// once each. It can check every byte against the files on disk, and spread
// requests over several servers of one library, as a load balancer does.
package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// File is one file to request.
type File struct {
	Name string // path under /media/ (and under Config.Root)
	Size int64
}

// Scenario says what each client does.
type Scenario string

const (
	// Ranges: GET bytes=N-(N+RangeSize-1) at random N, read it all.
	Ranges Scenario = "ranges"
	// Seek: GET bytes=N- at random N, read ReadBytes, close, as a browser
	// seeking does.
	Seek Scenario = "seek"
	// Viewers: GET the file from a random point and read it at Bitrate,
	// reopening at the start when it ends, until the run ends.
	Viewers Scenario = "viewers"
	// Once: GET bytes=0- of each file exactly once, in order, shared out
	// among the clients; the run ends when every file has been read (a
	// long tail: nothing is asked for twice).
	Once Scenario = "once"
)

// Config describes a run. Duration and Requests bound it; at least one must
// be set.
type Config struct {
	BaseURL   string        // e.g. http://127.0.0.1:8080
	Mirrors   []string      // more servers of the same files: requests go round-robin over BaseURL and these
	Files     []File        //
	Scenario  Scenario      //
	Clients   int           // concurrent clients, each with its own connection
	Duration  time.Duration // stop after this long (0: no limit)
	Requests  int64         // stop after this many requests (0: no limit)
	RangeSize int64         // Ranges: bytes per request. Default 1 MiB.
	ReadBytes int64         // Seek: bytes read before closing. Default 2 MiB.
	Bitrate   int64         // Viewers: bits per second per viewer. Default 8 Mbit/s.
	Root      string        // when set, every body is checked against Root/Name
	Seed      uint64        // of the random choices, so servers see the same sequence
	// OnRead, when set, is called after each request with the bytes it
	// read (name, offset, length), from the clients' goroutines at once.
	OnRead func(name string, off, n int64)
}

// Result is what a run measured.
type Result struct {
	Requests   int64           `json:"requests"`
	Errors     int64           `json:"errors"`      // failed requests (transport errors, bad status, short bodies)
	WrongBytes int64           `json:"wrong_bytes"` // bodies that differ from the file (Root set)
	Bytes      int64           `json:"bytes"`
	Elapsed    time.Duration   `json:"elapsed_ns"`
	TTFB       Percentiles     `json:"ttfb"`  // time to first body byte
	Total      Percentiles     `json:"total"` // time to the last byte read
	Stalls     int64           `json:"stalls"`
	FirstError string          `json:"first_error,omitempty"`
	ttfb, tot  []time.Duration // raw samples
}

// Percentiles of a latency distribution.
type Percentiles struct {
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`
}

// Throughput returns bytes per second.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Bytes) / r.Elapsed.Seconds()
}

// Run runs cfg until its Duration or Requests are used up or ctx ends.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Clients <= 0 || len(cfg.Files) == 0 || (cfg.Duration <= 0 && cfg.Requests <= 0 && cfg.Scenario != Once) {
		return nil, errors.New("load: need clients, files, and a duration or a request count")
	}
	if cfg.RangeSize <= 0 {
		cfg.RangeSize = 1 << 20
	}
	if cfg.ReadBytes <= 0 {
		cfg.ReadBytes = 2 << 20
	}
	if cfg.Bitrate <= 0 {
		cfg.Bitrate = 8 << 20
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	var files map[string]*os.File
	if cfg.Root != "" {
		files = make(map[string]*os.File)
		for _, f := range cfg.Files {
			fh, err := os.Open(filepath.Join(cfg.Root, filepath.FromSlash(f.Name)))
			if err != nil {
				return nil, fmt.Errorf("load: %w", err)
			}
			defer fh.Close()
			files[f.Name] = fh
		}
	}
	var (
		res      Result
		mu       sync.Mutex
		nextFile atomic.Int64 // Once: the next file to read
		left     atomic.Int64
		requests atomic.Int64
		errs     atomic.Int64
		wrong    atomic.Int64
		nbytes   atomic.Int64
		stalls   atomic.Int64
	)
	left.Store(cfg.Requests)
	fail := func(err error) {
		errs.Add(1)
		mu.Lock()
		if res.FirstError == "" {
			res.FirstError = err.Error()
		}
		mu.Unlock()
	}
	start := time.Now()
	var wg sync.WaitGroup
	for c := range cfg.Clients {
		wg.Go(func() {
			tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			cl := &client{cfg: &cfg, tr: tr, files: files, r: rand.New(rand.NewPCG(cfg.Seed, uint64(c))), turn: c}
			var ttfb, tot []time.Duration
			for ctx.Err() == nil {
				if cfg.Requests > 0 && left.Add(-1) < 0 {
					break
				}
				f := -1
				if cfg.Scenario == Once {
					if f = int(nextFile.Add(1) - 1); f >= len(cfg.Files) {
						break
					}
				}
				o := cl.one(ctx, f)
				if o.err != nil && ctx.Err() != nil {
					break // the run ended under it
				}
				requests.Add(1)
				nbytes.Add(o.n)
				stalls.Add(o.stalls)
				switch {
				case o.wrong:
					wrong.Add(1)
					fail(fmt.Errorf("%s: wrong bytes", o.desc))
				case o.err != nil:
					fail(fmt.Errorf("%s: %w", o.desc, o.err))
				default:
					ttfb, tot = append(ttfb, o.ttfb), append(tot, o.total)
				}
			}
			mu.Lock()
			res.ttfb, res.tot = append(res.ttfb, ttfb...), append(res.tot, tot...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Requests, res.Errors, res.WrongBytes = requests.Load(), errs.Load(), wrong.Load()
	res.Bytes, res.Stalls = nbytes.Load(), stalls.Load()
	res.TTFB, res.Total = percentiles(res.ttfb), percentiles(res.tot)
	return &res, nil
}

func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return Percentiles{P50: at(0.50), P99: at(0.99)}
}

// FilesIn lists the regular files under root with the given extensions
// (all when none), skipping dotfiles.
func FilesIn(root string, exts ...string) ([]File, error) {
	var out []File
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name()[0] == '.' && p != root {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if len(exts) > 0 && !slices.Contains(exts, filepath.Ext(p)) {
			return nil
		}
		fi, err := d.Info()
		if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, File{Name: filepath.ToSlash(rel), Size: fi.Size()})
		return nil
	})
	return out, err
}

// String formats a result on one line.
func (r *Result) String() string {
	return fmt.Sprintf("%d requests, %d errors, %d wrong, %s in %v (%.0f MB/s), ttfb p50 %v p99 %v, total p50 %v p99 %v, %d stalls",
		r.Requests, r.Errors, r.WrongBytes, strconv.FormatInt(r.Bytes, 10)+" bytes", r.Elapsed.Round(time.Millisecond),
		r.Throughput()/1e6, r.TTFB.P50, r.TTFB.P99, r.Total.P50, r.Total.P99, r.Stalls)
}
