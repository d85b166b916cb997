package chunker

import (
	"sync/atomic"
)

// Stats returns counters since the Cache was made, and what the local tier
// holds now.
func (c *Cache) Stats() Stats {
	s := c.stats.snapshot()
	s.Inflight = c.used.Load()
	s.Scratch = c.scratchHeld.Load() * scratchSize
	if c.local != nil {
		s.LocalHeld, _ = c.local.Size()
	}
	return s
}

// Stats are counters of a Cache's work since it was made.
type Stats struct {
	Hits        int64 // chunks found in Redis
	LocalHits   int64 // chunks found in the local tier
	LocalBytes  int64 // bytes served from the local tier
	LocalHeld   int64 // bytes the local tier holds now (not a counter)
	Inflight    int64 // bytes of the in-flight budget taken now: windows and chunks being filled (not a counter)
	Scratch     int64 // bytes of scratch buffers Files hold now to write out origin bytes (not a counter)
	Misses      int64 // chunks read from disk
	RedisBytes  int64 // bytes served from chunks found in Redis
	DiskBytes   int64 // bytes read from disk for chunks
	Fills       int64 // chunks written to Redis after a miss
	FillErrors  int64 // chunk writes that failed
	FillDropped int64 // chunks not cached because the write queue was full
	Hedged      int64 // first windows sent from the origin's file because Redis did not answer within Options.Hedge
}

type counters struct {
	hits, localHits, localBytes, misses, redisBytes, diskBytes, fills, fillErrors, fillDropped, hedged atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Hits:        c.hits.Load(),
		LocalHits:   c.localHits.Load(),
		LocalBytes:  c.localBytes.Load(),
		Misses:      c.misses.Load(),
		RedisBytes:  c.redisBytes.Load(),
		DiskBytes:   c.diskBytes.Load(),
		Fills:       c.fills.Load(),
		FillErrors:  c.fillErrors.Load(),
		FillDropped: c.fillDropped.Load(),
		Hedged:      c.hedged.Load(),
	}
}
