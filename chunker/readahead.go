package chunker

// Read-ahead: while a window is written out, the next one is fetched.

// prefetch is a window being fetched in the background.
type prefetch struct {
	start int64
	done  chan struct{} // closed when w is set
	w     window
}

// startPrefetch fetches the window at next in the background, when it is
// inside the range being served, Redis is usable, the client drained the
// last window quickly, and the in-flight budget has room (read-ahead is
// skipped, not waited for). A slow client has no use for read-ahead: its
// socket's buffer holds more than the next window, and fetching that
// takes a fraction of the time the client needs to drain one. f.mu must
// be held.
func (f *File) startPrefetch(next int64) {
	if f.pf != nil || next >= f.end || !f.useRedis() || f.ctx.Err() != nil || f.slow {
		return
	}
	w := f.plan(next)
	// Read-ahead only while the budget is less than half used, so that
	// readers who need bytes now never wait behind read-ahead.
	if f.c.used.Load()+w.cost() > f.c.memCap/2 {
		return
	}
	held, ok := f.c.tryAcquire(w.cost())
	if !ok {
		return
	}
	w.held = held
	pf := &prefetch{start: next, done: make(chan struct{})}
	f.pf = pf
	go func() {
		f.fetch(f.ctx, &w, nil, true)
		pf.w = w
		close(pf.done)
	}()
}

// dropPrefetch abandons a prefetch that will not be used; its memory is
// released when it ends. f.mu must be held.
func (f *File) dropPrefetch() {
	if pf := f.pf; pf != nil {
		f.pf = nil
		pf.abandon(f.c)
	}
}

// abandon gives back what the prefetch holds once its fetch has ended.
func (pf *prefetch) abandon(c *Cache) {
	go func() { <-pf.done; c.freeWindow(&pf.w) }()
}

// nextWindow returns where the window after f.win will start: at its end,
// unless its last chunk is not cached (Redis did not have it, or did not
// answer): then the rest of that chunk comes from the origin (miss.go: a
// direct read or a flight runs to the chunk's end) and the next window
// starts at the chunk after it. f.mu must be held.
func (f *File) nextWindow() int64 {
	n := len(f.win.pieces)
	if n == 0 {
		return f.win.end
	}
	last := f.win.pieces[n-1]
	if last.data != nil || last.local {
		return f.win.end
	}
	_, ce := f.geo.Bounds(last.chunk)
	return ce
}
