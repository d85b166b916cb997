package chunker

import (
	"context"
	"sync"
)

// One whole fetch a chunk for the local tier. A chunk the tier wants is
// fetched whole from Redis by the first window that may take it; a window
// of another request wanting the same chunk meanwhile does not fetch it
// again but waits for that fetch, and reads the chunk from the tier. A
// few hundred viewers starting at once on an empty tier otherwise fetched
// each chunk whole two or three times over (690 whole fetches for 256
// chunks, in the 500-viewer bench row), and those copies were most of
// the CPU the row spent. A waiter whose leader's fetch ended without
// putting the chunk in the tier (Redis busy, a hedge that gave up, a
// purge) fetches its own bytes, not the whole chunk (fetch.go).
//
// x/sync/singleflight runs one function a key; here the leader's fetch is
// one pipelined round trip that serves its whole window, several chunks
// at once, so the claim is kept apart from the fetch.
type tierFills struct {
	mu       sync.Mutex
	fetching map[string]chan struct{} // by chunk key: closed when its whole fetch ends
}

// claim claims the whole fetch of the chunk at key. The first caller leads
// (lead true) and must call done(key) once its fetch has ended, whether
// the tier holds the chunk then or not; the others get a channel closed
// then.
func (t *tierFills) claim(key string) (wait <-chan struct{}, lead bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ch, ok := t.fetching[key]; ok {
		return ch, false
	}
	if t.fetching == nil {
		t.fetching = make(map[string]chan struct{})
	}
	t.fetching[key] = make(chan struct{})
	return nil, true
}

// done ends the whole fetch of the chunk at key, waking its waiters.
func (t *tierFills) done(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ch, ok := t.fetching[key]; ok {
		close(ch)
		delete(t.fetching, key)
	}
}

// tierWait is a window piece whose chunk another request is fetching
// whole for the local tier.
type tierWait struct {
	piece int // index in the window's pieces
	ch    <-chan struct{}
}

// awaitTier waits for the whole fetches the window's pieces are waiting
// on, and marks the pieces whose chunk the tier then holds. It returns the
// pieces left without bytes, to be fetched by the window itself; none when
// ctx ends first.
func (f *File) awaitTier(ctx context.Context, w *window, waits []tierWait) []int {
	var left []int
	for _, tw := range waits {
		select {
		case <-tw.ch:
		case <-ctx.Done():
			return nil
		}
		wp := &w.pieces[tw.piece]
		if f.c.local.Has(f.Key(wp.chunk)) {
			wp.local, wp.src = true, srcLocal
			f.c.stats.localHits.Add(1)
			continue
		}
		left = append(left, tw.piece)
	}
	return left
}
