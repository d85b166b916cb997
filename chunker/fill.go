package chunker

import (
	"context"
	"errors"
	"fmt"
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

// ParseFillMode parses "async", "sync" or "off".
func ParseFillMode(s string) (FillMode, error) {
	switch s {
	case "async":
		return FillAsync, nil
	case "sync":
		return FillSync, nil
	case "off":
		return FillOff, nil
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

type fillItem struct{ key, val string }

func (c *Cache) setPending(key, val string) {
	c.pendingMu.Lock()
	c.pending[key] = val
	c.pendingMu.Unlock()
}

func (c *Cache) unsetPending(keys []string) {
	c.pendingMu.Lock()
	for _, k := range keys {
		delete(c.pending, k)
	}
	c.pendingMu.Unlock()
}

// put caches one chunk read from disk, per the fill mode. Until the write
// is done the chunk is pending: readers that missed it in Redis take it from
// memory instead of reading the disk again.
func (c *Cache) put(key, val string) {
	switch c.fill {
	case FillSync:
		c.setPending(key, val)
		defer c.unsetPending([]string{key})
		// Detached from the viewer: a chunk read is worth caching even if
		// the viewer who asked has gone.
		if err := c.store.Set(context.Background(), []string{key}, []string{val}); err != nil {
			c.stats.fillErrors.Add(1)
			c.logFillError(err)
			return
		}
		c.stats.fills.Add(1)
	case FillAsync:
		// The queue bounds pending memory: a chunk is pending only while
		// it holds a place in the queue or is being written.
		// A disk read that outlives Close (flights are detached from
		// viewers) finds the queue closed and drops its chunk.
		c.fillMu.RLock()
		defer c.fillMu.RUnlock()
		if c.fillClosed {
			c.stats.fillDropped.Add(1)
			return
		}
		c.setPending(key, val)
		select {
		case c.fillq <- fillItem{key, val}:
		default:
			c.unsetPending([]string{key})
			c.stats.fillDropped.Add(1)
		}
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
	keys := make([]string, 0, fillBatch)
	vals := make([]string, 0, fillBatch)
	for it := range c.fillq {
		keys, vals = append(keys[:0], it.key), append(vals[:0], it.val)
	drain:
		for len(keys) < fillBatch {
			select {
			case it, ok := <-c.fillq:
				if !ok {
					break drain
				}
				keys, vals = append(keys, it.key), append(vals, it.val)
			default:
				break drain
			}
		}
		err := c.store.Set(context.Background(), keys, vals)
		c.unsetPending(keys)
		if err != nil {
			c.stats.fillErrors.Add(int64(len(keys)))
			c.logFillError(err)
			continue
		}
		c.stats.fills.Add(int64(len(keys)))
	}
}

// String returns "async", "sync" or "off".
func (m FillMode) String() string {
	switch m {
	case FillSync:
		return "sync"
	case FillOff:
		return "off"
	}
	return "async"
}
