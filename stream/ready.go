package stream

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/reelcache/reelcache/chunker"
)

// readyInterval is the most often /readyz asks the origin; readyTimeout
// bounds each probe.
const (
	readyInterval = 2 * time.Second
	readyTimeout  = time.Second
)

// originProbe answers /readyz's question about the origin from a check
// made at most once every interval, in the background (issue 21 item 7):
// /readyz is anonymous, and each call used to cost one origin request (an
// S3 ListObjectsV2, billed per request, or an HTTP HEAD) and, with a hung
// origin, a one-second wait. A call that finds the last result older than
// the interval starts a new check and answers from the last result without
// waiting; only the first call, before any result, waits for one (at most
// the probe's timeout). It is safe for concurrent use.
type originProbe struct {
	check    func(context.Context) error
	interval time.Duration
	timeout  time.Duration

	mu      sync.Mutex    // protects the fields below
	err     error         // the last check's result
	at      time.Time     // when it ended; zero before the first
	running chan struct{} // closed when the check in flight ends; nil when none is
}

// get returns the last result, starting a check when it is stale.
func (p *originProbe) get(ctx context.Context) error {
	p.mu.Lock()
	if p.running == nil && (p.at.IsZero() || time.Since(p.at) >= p.interval) {
		p.running = make(chan struct{})
		go p.run(p.running)
	}
	err, first, running := p.err, p.at.IsZero(), p.running
	p.mu.Unlock()
	if !first {
		return err
	}
	select {
	case <-running:
	case <-ctx.Done():
		return fmt.Errorf("readyz: no origin check has ended yet: %w", chunker.ErrOriginTimeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// run checks the origin, detached from any request, within the timeout.
func (p *originProbe) run(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	err := p.check(ctx)
	cancel()
	p.mu.Lock()
	p.err, p.at, p.running = err, time.Now(), nil
	p.mu.Unlock()
	close(done)
}
