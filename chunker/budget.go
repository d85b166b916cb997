package chunker

import "context"

// acquire takes n bytes from the in-flight budget, waiting for room, and
// returns the bytes taken. One window larger than the whole budget takes all
// of it.
func (c *Cache) acquire(ctx context.Context, n int64) (int64, error) {
	b := min(n, c.memCap)
	if err := c.mem.Acquire(ctx, b); err != nil {
		return 0, err
	}
	c.used.Add(b)
	return b, nil
}

// tryAcquire is acquire without waiting.
func (c *Cache) tryAcquire(n int64) (int64, bool) {
	b := min(n, c.memCap)
	if !c.mem.TryAcquire(b) {
		return 0, false
	}
	c.used.Add(b)
	return b, true
}

// release returns b bytes to the in-flight budget.
func (c *Cache) release(b int64) {
	if b > 0 {
		c.used.Add(-b)
		c.mem.Release(b)
	}
}
