package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"
)

// link is a slow path to an origin (a network disk, a remote server):
// every request waits a fixed latency before its first byte, and the bytes
// of all requests share one throughput cap, sent in the order they were
// asked for. It counts what crosses it. It is safe for concurrent use.
type link struct {
	latency time.Duration
	rate    float64 // bytes per second; 0: no cap

	mu   sync.Mutex
	free time.Time // when the link has sent all that was queued; protected by mu

	requests atomic.Int64
	bytes    atomic.Int64
}

// request counts a request and waits the latency.
func (l *link) request(ctx context.Context) error {
	l.requests.Add(1)
	return sleepUntil(ctx, time.Now().Add(l.latency))
}

// transfer counts n bytes and waits until they have crossed the link:
// after the bytes queued before them, at the link's rate.
func (l *link) transfer(ctx context.Context, n int) error {
	l.bytes.Add(int64(n))
	if l.rate <= 0 || n <= 0 {
		return nil
	}
	d := time.Duration(float64(n) / l.rate * float64(time.Second))
	l.mu.Lock()
	now := time.Now()
	if l.free.Before(now) {
		l.free = now
	}
	l.free = l.free.Add(d)
	done := l.free
	l.mu.Unlock()
	return sleepUntil(ctx, done)
}

// ServeHTTP writes the link's counters in the Prometheus text format, as
// compare's origin= option reads them.
func (l *link) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# TYPE reelbench_origin_bytes_total counter\nreelbench_origin_bytes_total %d\n", l.bytes.Load())
	fmt.Fprintf(w, "# TYPE reelbench_origin_requests_total counter\nreelbench_origin_requests_total %d\n", l.requests.Load())
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// linkFlags are the flags that describe a link: -latency and -rate.
type linkFlags struct {
	latency *time.Duration
	rate    *string
}

// addLinkFlags declares -latency (latency by default, with usage
// latencyUsage) and -rate (a cap on the bytes of all transfers, such as
// "reads", together) on fs.
func addLinkFlags(fs *flag.FlagSet, latency time.Duration, latencyUsage, transfers string) linkFlags {
	return linkFlags{
		latency: fs.Duration("latency", latency, latencyUsage),
		rate:    fs.String("rate", "80MB/s", "cap on the bytes of all "+transfers+" together (0: none)"),
	}
}

// link returns the link the parsed flags describe; an error names the
// flag.
func (f linkFlags) link() (*link, error) {
	r, err := parseRate(*f.rate)
	if err != nil {
		return nil, fmt.Errorf("-%w", err)
	}
	return &link{latency: *f.latency, rate: r}, nil
}

// parseRate parses a throughput such as "80MB/s" or "1GiB/s" (humanize:
// MB 1000-based, MiB 1024-based) into bytes per second; "0" means no cap.
func parseRate(s string) (float64, error) {
	v, err := humanize.ParseBytes(strings.TrimSuffix(strings.TrimSpace(s), "/s"))
	if err != nil {
		return 0, fmt.Errorf("rate %q: want e.g. 80MB/s: %w", s, err)
	}
	return float64(v), nil
}
