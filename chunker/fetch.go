package chunker

// A window's round trip to Redis, and the whole chunks it takes into the
// local tier.

import (
	"context"

	"github.com/reelcache/reelcache/chunker/store"
)

// fetch fills w's pieces from Redis in one round trip (store.Read), and
// asks in the same round trip whether the probe chunks are there (w.exist;
// those the local tier holds count without asking). A chunk the local tier
// wants is fetched whole and written there, unless a purge reached the
// tier during the round trip (the bytes are still served, as a read that
// ended just before the purge would have served them); while another
// window fetches a chunk whole, this one waits for that fetch instead and
// reads the chunk from the tier (tierfill.go). It touches no mutable field
// of f, so the read-ahead goroutine may call it.
//
// whole says the window is off the path of the response's first byte: read
// ahead of the client, or any window after the first. Only then is a
// chunk fetched whole for the tier when the window needs less than half of
// it: a seek's first window is small so that its first byte comes soon,
// while a viewer reading on at its bitrate (whose windows are small, and
// who never reads ahead: readahead.go) takes the chunks others want into
// the tier, and is served from there by sendfile.
func (f *File) fetch(ctx context.Context, w *window, probe []int64, whole bool) {
	local := f.c.local
	w.exist = make([]bool, len(probe))
	var asks []store.Probe
	var askAt []int
	for k, i := range probe {
		if local != nil && local.Has(f.Key(i)) {
			w.exist[k] = true
			continue
		}
		cs, ce := f.geo.Bounds(i)
		asks, askAt = append(asks, store.Probe{Key: f.Key(i), Len: ce - cs}), append(askAt, k)
	}
	var waits []tierWait
	var led []string // chunk keys this window fetches whole: done when it ends
	which := make([]int, 0, len(w.pieces))
	for j := range w.pieces {
		wp := &w.pieces[j]
		wp.whole = false // decided anew on each try (a fetch is asked again when Redis was busy)
		key := f.Key(wp.chunk)
		if local != nil && f.mode != readRefresh && local.Has(key) {
			wp.local, wp.src = true, srcLocal
			f.c.stats.localHits.Add(1)
			continue
		}
		cs, ce := f.geo.Bounds(wp.chunk)
		if local != nil && local.Wanted(key, f.id, whole || 2*wp.n >= ce-cs) {
			ch, lead := f.c.tierFills.claim(key)
			if !lead {
				waits = append(waits, tierWait{piece: j, ch: ch})
				continue
			}
			wp.whole = true
			led = append(led, key)
		}
		which = append(which, j)
	}
	if len(which) == 0 && len(asks) == 0 && len(waits) == 0 {
		w.asked = false
		w.probed = len(probe) > 0
		return
	}
	present := f.read(ctx, w, which, asks)
	for _, key := range led {
		f.c.tierFills.done(key)
	}
	if w.err != nil {
		return
	}
	for k, at := range askAt {
		w.exist[at] = present[k]
	}
	w.probed = len(probe) > 0
	if left := f.awaitTier(ctx, w, waits); len(left) > 0 {
		f.read(ctx, w, left, nil)
	}
}

// read fetches the bytes of w's pieces at the indices which in one round
// trip, each whole when it is marked so, and answers the probes asks.
// A piece fetched whole is written to the local tier and read from there.
// A Redis error is kept in w.err.
func (f *File) read(ctx context.Context, w *window, which []int, asks []store.Probe) (present []bool) {
	local := f.c.local
	var gen uint64
	if local != nil {
		gen = local.Generation()
	}
	gets := make([]store.Get, len(which))
	for k, j := range which {
		wp := &w.pieces[j]
		cs, ce := f.geo.Bounds(wp.chunk)
		g := store.Get{Key: f.Key(wp.chunk), Len: ce - cs, Lo: wp.off - cs, Hi: wp.off - cs + wp.n}
		if wp.whole {
			g.Lo, g.Hi = 0, g.Len
		}
		gets[k] = g
	}
	if len(gets) == 0 && len(asks) == 0 {
		return nil
	}
	f.c.fetching.Add(1)
	got, present, err := f.c.store.Read(ctx, gets, asks)
	f.c.fetching.Add(-1)
	w.asked = true
	if err != nil {
		w.err = err
		return nil
	}
	for k, j := range which {
		wp, g := &w.pieces[j], got[k]
		if !g.Found() {
			continue
		}
		cs, _ := f.geo.Bounds(wp.chunk)
		wp.data, wp.mem, wp.at, wp.src = g.Data, g.Buffer, cs+g.Start, srcRedis
		f.c.stats.hits.Add(1)
		if wp.whole && g.Start == 0 && int64(len(g.Data)) == gets[k].Len && local.AddAt(gen, gets[k].Key, g.Data) {
			// Read it from the tier (sendfile), and let go of the bytes.
			wp.local = true
			wp.mem.Release()
			wp.mem, wp.data = store.Buffer{}, nil
		}
	}
	return present
}
