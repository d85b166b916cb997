package chunker

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"time"
)

// Hedging the first bytes. A response's first window waits for Redis at
// most Options.Hedge when the origin is a local file; past that, its first
// block is sent from the file by sendfile, as with the cache off, the
// Redis fetch is cancelled, and the next window asks Redis again. Redis
// answers in well under a millisecond when it is not busy, so this is for
// the moments it is: a few hundred viewers starting at once queue their
// first windows behind each other's (and behind the whole chunks the
// local tier takes), and the slowest waited hundreds of milliseconds for
// bytes on the local disk (the tail at scale's hedged request, with the
// origin as the second replica). Only the first block: past it the client
// has bytes to play, and the cache, not the origin, serves the rest. A
// remote origin (HTTP, S3) is never the hedge: it is no quicker than a
// busy Redis. Only while Redis is queueing: more windows are being fetched
// than the client has connections (go-redis's default pool, 10 per CPU),
// so that a Redis far away or a loaded machine, slow but not queued,
// keeps serving every byte it holds.

// clip cuts the window's bytes at end: a hedged window keeps its first
// block, which the origin's file sends.
func (w *window) clip(end int64) {
	if end >= w.end {
		return
	}
	w.end = end
	for j := range w.pieces {
		wp := &w.pieces[j]
		if wp.off >= end {
			w.pieces = w.pieces[:j]
			break
		}
		wp.n = min(wp.n, end-wp.off)
	}
}

// queued reports whether Redis is queued: busyFetches window fetches or
// more are in flight.
func (c *Cache) queued() bool { return c.fetching.Load() >= c.busyFetches }

// busyFetches is how many window fetches in flight make Redis queued: the
// go-redis client's default pool size.
func busyFetches() int64 { return int64(10 * runtime.GOMAXPROCS(0)) }

// errHedged is a window's error when Redis did not answer within the
// hedge and the window's bytes are read from the origin's file instead.
var errHedged = errors.New("chunker: Redis slower than the hedge")

// hedges reports whether a window fetch is hedged: the response's first
// (not later), read by a viewer, with a hedge set, a local origin file to
// send from, and Redis queued. f.mu must be held.
func (f *File) hedges(later bool) bool {
	return !later && f.c.hedge > 0 && f.mode == readNormal && f.OSFile() != nil && f.c.queued()
}

// fetchHedged is fetch for a response's first window, waiting for Redis at
// most the cache's hedge. It reports false when Redis had not answered by
// then: w is left as planned with no bytes, and the fetch is cancelled; it
// gives back the budget w held when it ends. f.mu must be held.
func (f *File) fetchHedged(w *window, probe []int64) bool {
	fw := *w
	fw.pieces = slices.Clone(w.pieces)
	// The fetch the hedge gives up on is cancelled: left running, it
	// would load the queued Redis further (it mostly waits for a
	// connection from the client's pool).
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		f.fetch(ctx, &fw, probe, false)
		close(done)
	}()
	t := time.NewTimer(f.c.hedge)
	defer t.Stop()
	select {
	case <-done:
		*w = fw
		return true
	case <-t.C:
	}
	w.held = 0 // fw's: given back when the fetch ends
	go func() {
		<-done
		f.c.freeWindow(&fw)
	}()
	f.c.stats.hedged.Add(1)
	return false
}
