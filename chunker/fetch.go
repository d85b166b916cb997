package chunker

import "github.com/reelcache/reelcache/chunker/store"

// fetch fills w's pieces from the local tier and, for the rest, from Redis
// in one round trip (GETRANGE, with STRLEN to check that the value is the
// whole chunk). A chunk the local tier wants is fetched whole and kept
// there, unless a purge reached the tier during the round trip: the value
// may be one the purge removed (it is still served, as a read that ended
// just before the purge would have been). The same round trip asks whether
// the probe keys exist (w.exist; those in the local tier count without
// asking). It touches no mutable field of f, so the read-ahead goroutine
// may call it.
//
// ahead says the window is read ahead of the client (startPrefetch), off
// the path of its first byte. Only then is a chunk fetched whole for the
// tier when the window needs less than half of it: a seek's first window
// is small so that its first byte comes soon, and a whole chunk in its
// round trip made the seek wait for eight times the bytes it needed.
func (f *File) fetch(w *window, use bool, probe []string, ahead bool) {
	if !use || len(w.pieces) == 0 {
		return
	}
	local := f.c.local
	var gen uint64 // the tier's generation before the round trip
	if local != nil {
		gen = local.Generation()
	}
	var ask []string
	var askIdx []int
	w.exist, ask, askIdx = f.c.held(probe)
	reqs := make([]store.RangeRequest, 0, len(w.pieces))
	which := make([]int, 0, len(w.pieces)) // the piece each request is for
	var keep []bool                        // whether the local tier keeps the chunk
	for j := range w.pieces {
		pc := &w.pieces[j]
		cs, ce := f.geo.Bounds(pc.chunk)
		r := store.RangeRequest{Key: f.Key(pc.chunk), Start: pc.off - cs, N: pc.n, Len: ce - cs}
		if local != nil {
			if data, ok := local.Get(r.Key); ok {
				pc.data, pc.have, pc.src = data[r.Start:r.Start+r.N], true, srcLocal
				f.c.stats.localHits.Add(1)
				continue
			}
			k := local.Wanted(r.Key, f.id, ahead || 2*r.N >= r.Len)
			if k {
				r.Start, r.N = 0, r.Len
			}
			keep = append(keep, k)
		}
		reqs, which = append(reqs, r), append(which, j)
	}
	if len(reqs) == 0 && len(ask) == 0 {
		w.probed = len(probe) > 0
		return
	}
	reply, err := f.c.store.GetRanges(f.ctx, reqs, ask)
	w.asked = true
	if err != nil {
		w.err = err
		return
	}
	for k, i := range askIdx {
		w.exist[i] = reply.Exist[k]
	}
	w.probed = len(probe) > 0
	for k, j := range which {
		if !reply.Found[k] {
			continue
		}
		pc, v := &w.pieces[j], reply.Vals[k]
		if keep != nil && keep[k] {
			local.AddAt(gen, reqs[k].Key, v)
			cs, _ := f.geo.Bounds(pc.chunk)
			v = v[pc.off-cs : pc.off-cs+pc.n]
		}
		pc.data, pc.have, pc.src = v, true, srcRedis
		f.c.stats.hits.Add(1)
	}
}

// held splits keys into those the local tier holds, which need no asking
// (exist[i] is set), and those to ask Redis about: ask[k] is keys[at[k]].
func (c *Cache) held(keys []string) (exist []bool, ask []string, at []int) {
	exist = make([]bool, len(keys))
	for i, k := range keys {
		if c.local != nil && c.local.Has(k) {
			exist[i] = true
			continue
		}
		ask, at = append(ask, k), append(at, i)
	}
	return exist, ask, at
}
