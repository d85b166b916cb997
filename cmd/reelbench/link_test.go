package main

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	checkParse(t, "parseRate", parseRate, []parseCase[float64]{
		{"80MB/s", 80e6, false},
		{"80MB", 80e6, false},
		{"1MiB/s", 1 << 20, false},
		{"0", 0, false},
		{"fast", 0, true},
	})
}

// TestLinkShares checks the bounds a link guarantees: each request waits
// at least the latency, and concurrent transfers together take at least
// bytes/rate. (Upper bounds depend on the machine and are not asserted.)
func TestLinkShares(t *testing.T) {
	l := &link{latency: 20 * time.Millisecond, rate: 10e6}
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := l.request(ctx); err != nil {
				t.Error(err)
			}
			for range 5 {
				if err := l.transfer(ctx, 50_000); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	// 4 x 250 kB at 10 MB/s: 100 ms, after 20 ms of latency.
	if d := time.Since(start); d < 115*time.Millisecond {
		t.Errorf("4 requests of 250 kB took %v, want at least 120 ms", d)
	}
	if r, b := l.requests.Load(), l.bytes.Load(); r != 4 || b != 1_000_000 {
		t.Errorf("counted %d requests, %d bytes; want 4, 1000000", r, b)
	}

	// A client that leaves stops waiting.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := l.transfer(ctx, 10e6); err == nil {
		t.Error("transfer of 1 s of bytes with a 10 ms context: no error")
	}
}
