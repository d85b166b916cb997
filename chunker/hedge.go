package chunker

import (
	"errors"
	"runtime"
	"slices"
	"time"
)

// Hedging the first bytes. A response's first window waits for Redis at
// most Options.Hedge when the origin is a local file; past that, its bytes
// are sent from the file by sendfile, as with the cache off, and Redis's
// answer is dropped when it comes; the next window asks Redis again. Redis answers in well under a
// millisecond when it is not busy, so this is for the moments it is: a
// few hundred viewers starting at once queue their first windows behind
// each other's (and behind the whole chunks the local tier takes), and the
// slowest waited hundreds of milliseconds for bytes on the local disk
// (the tail at scale's hedged request, with the origin as the second
// replica). Only the first window: past it the client has bytes to play,
// and a remote origin (HTTP, S3) is no quicker than a busy Redis. Only
// while Redis is queueing: more windows are being fetched than the client
// has connections (go-redis's default pool, 10 per CPU), so that a Redis
// far away or a loaded machine, slow but not queued, keeps serving every
// byte it holds.

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
	return !later && f.c.hedge > 0 && f.mode == readNormal && f.OSFile() != nil &&
		f.c.fetching.Load() >= f.c.busyFetches
}

// fetchHedged is fetch for a response's first window, waiting for Redis at
// most the cache's hedge. It reports false when Redis had not answered by
// then: w is left as planned with no bytes, and the fetch ends in the
// background, where it gives back the budget w held. f.mu must be held.
func (f *File) fetchHedged(w *window, probe []int64) bool {
	fw := *w
	fw.pieces = slices.Clone(w.pieces)
	done := make(chan struct{})
	go func() {
		f.fetch(&fw, probe, false)
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
	held := w.held
	w.held = 0
	go func() {
		<-done
		f.c.release(held)
	}()
	f.c.stats.hedged.Add(1)
	return false
}
