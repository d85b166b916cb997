package chunker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// FillMode says what a read that missed the cache does with the chunk it
// read from disk.
type FillMode int

const (
	// FillAsync queues the chunk for a background write; the viewer does
	// not wait for Redis. When the queue is full the chunk is not cached.
	FillAsync FillMode = iota
	// FillSync writes the chunk before returning it.
	FillSync
	// FillOff never writes; only a prewarm fills the cache.
	FillOff
)

// fillModeNames are the names of the fill modes, for ParseFillMode and
// String.
var fillModeNames = [...]string{FillAsync: "async", FillSync: "sync", FillOff: "off"}

// ParseFillMode parses "async", "sync" or "off".
func ParseFillMode(s string) (FillMode, error) {
	if i := slices.Index(fillModeNames[:], s); i >= 0 {
		return FillMode(i), nil
	}
	return 0, fmt.Errorf("unknown fill mode %q (want async, sync or off)", s)
}

// fillLogEvery limits fill-error logs: Redis full under noeviction fails
// every write, and one line a minute says so.
const fillLogEvery = time.Minute

func (c *Cache) logFillError(err error) {
	if errors.Is(err, ErrUnavailable) {
		return // the breaker has logged the outage
	}
	now := time.Now().UnixNano()
	last := c.lastFillLog.Load()
	if now-last < int64(fillLogEvery) || !c.lastFillLog.CompareAndSwap(last, now) {
		return
	}
	c.log.Warn("caching chunks failed; serving from disk goes on", "err", err, "failed_so_far", c.stats.fillErrors.Load())
}

// putSync writes a flight's chunk to Redis before returning (FillSync).
func (c *Cache) putSync(fl *flight) {
	// Detached from the viewer: a chunk read is worth caching even if the
	// viewer who asked has gone.
	if err := c.store.Set(context.Background(), []string{fl.key}, [][]byte{c.seal(fl)}); err != nil {
		fl.writeErr = fmt.Errorf("write chunk at %d: %w", fl.off, err)
		c.stats.fillErrors.Add(1)
		c.logFillError(err)
		return
	}
	c.stats.fills.Add(1)
}

// put queues a flight's finished chunk for a background write (FillAsync).
// Until the write is done the flight stays findable: readers that missed
// the chunk in Redis take it from memory instead of reading the origin
// again. The queue bounds that memory: when it is full the chunk is simply
// not cached. A read that outlives Close (flights are detached from
// viewers) finds the queue closed and drops its chunk.
func (c *Cache) put(fl *flight) {
	c.fillMu.RLock()
	defer c.fillMu.RUnlock()
	if c.fillClosed {
		c.stats.fillDropped.Add(1)
		c.releaseLease(fl)
		c.endFlight(fl)
		return
	}
	select {
	case c.fillq <- fl:
	default:
		c.stats.fillDropped.Add(1)
		c.releaseLease(fl)
		c.endFlight(fl)
	}
}

// fillWriters is how many pipelines write queued chunks at once. One
// writer fell behind a cold start of 32 viewers on two cores and the queue
// dropped 396 chunks that were then read from disk again; four dropped none.
const fillWriters = 4

// fillBatch is the most chunks one writer sends in one pipeline.
const fillBatch = 8

// filler writes queued chunks, batching what has queued up into one
// pipeline, until the queue is closed.
func (c *Cache) filler() {
	defer c.fillWG.Done()
	batch := make([]*flight, 0, fillBatch)
	keys := make([]string, 0, fillBatch)
	vals := make([][]byte, 0, fillBatch)
	for fl := range c.fillq {
		batch = append(batch[:0], fl)
	drain:
		for len(batch) < fillBatch {
			select {
			case fl, ok := <-c.fillq:
				if !ok {
					break drain
				}
				batch = append(batch, fl)
			default:
				break drain
			}
		}
		keys, vals = keys[:0], vals[:0]
		for _, fl := range batch {
			keys, vals = append(keys, fl.key), append(vals, c.seal(fl))
		}
		err := c.store.Set(context.Background(), keys, vals)
		for _, fl := range batch {
			c.endFlight(fl)
		}
		clear(batch)
		if err != nil {
			c.stats.fillErrors.Add(int64(len(keys)))
			c.logFillError(err)
			continue
		}
		c.stats.fills.Add(int64(len(keys)))
	}
}

// seal makes fl's buffer the chunk's value: its header (store.Codec) in
// the room left in front of the chunk's bytes. Only for a complete flight.
func (c *Cache) seal(fl *flight) []byte {
	val := (*fl.buf)[:fl.hl+fl.n]
	c.store.Codec().Seal(fl.key, val)
	return val
}

// takeBuffer takes a buffer for a flight of a chunk of n bytes (with room
// for the value's header in front), and its size of the in-flight budget,
// without waiting: false when the budget has no room.
func (c *Cache) takeBuffer(n int64) (*[]byte, int64, bool) {
	size := c.store.Codec().HeaderLen(c.chunkSize) + c.chunkSize
	held, ok := c.tryAcquire(size)
	if !ok {
		return nil, 0, false
	}
	buf := c.buffers.Get().(*[]byte)
	if int64(cap(*buf)) < size {
		b := make([]byte, size)
		buf = &b
	}
	*buf = (*buf)[:size]
	return buf, held, true
}

// putBuffer returns a flight's buffer to the pool, and its budget. Pooled
// buffers spare a cold start the page faults and the garbage of a fresh
// chunk-sized allocation per miss.
func (c *Cache) putBuffer(buf *[]byte, held int64) {
	c.buffers.Put(buf)
	c.release(held)
}

// String returns "async", "sync" or "off"; "async" for a value that is
// none of the modes.
func (m FillMode) String() string {
	if m < 0 || int(m) >= len(fillModeNames) {
		m = FillAsync
	}
	return fillModeNames[m]
}
