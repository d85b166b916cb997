package chunker

import (
	"context"
	"fmt"
	"io"
	"strconv"
)

// chunkLen returns the length of chunk i of a file of size bytes.
func (c *Cache) chunkLen(size, i int64) int64 {
	start, end := Geometry{Size: size, ChunkSize: c.chunkSize}.Bounds(i)
	return end - start
}

// readDisk reads chunk i of version of name from disk and, when fill is set,
// caches it per the fill mode. Concurrent reads of one chunk share one disk
// read (and one write to Redis); a caller whose ctx ends stops waiting.
//
// The read opens the file anew rather than using the caller's descriptor, so
// that it outlives a caller who gives up, and checks that the file is still
// the same version before and after reading: bytes of another version are
// never returned or cached under this version's key.
func (c *Cache) readDisk(ctx context.Context, name, version string, size, i int64, fill bool) (string, error) {
	var key string // the Redis key, or "" when the cache is off
	if c.store != nil {
		key = c.store.Key(version, c.chunkSize, i)
		if data, ok := c.memChunk(key); ok {
			return data, nil
		}
	}
	flightKey := key
	if flightKey == "" {
		flightKey = name + "\x00" + version + "\x00" + strconv.FormatInt(i, 10)
	}
	ch := c.flight.DoChan(flightKey, func() (any, error) {
		// A flight that ended just before this one may have left the
		// chunk on its way to Redis (groupcache's load re-checks its cache
		// here for the same reason).
		if data, ok := c.memChunk(key); ok {
			return data, nil
		}
		if fill {
			// ... or already written it. Detached from the viewer, like
			// the flight itself; the store's timeout bounds it.
			if vals, found, err := c.store.Get(context.Background(), []string{key}); err == nil && found[0] &&
				int64(len(vals[0])) == c.chunkLen(size, i) {
				return vals[0], nil
			}
		}
		data, err := c.readChunk(name, version, size, i)
		if err != nil {
			return "", err
		}
		c.stats.misses.Add(1)
		c.stats.diskBytes.Add(int64(len(data)))
		if c.local != nil {
			c.local.add(key, data)
		}
		if fill && c.fill != FillOff {
			c.put(key, data)
		}
		return data, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (c *Cache) readChunk(name, version string, size, i int64) (string, error) {
	bp := c.bufs.Get().(*[]byte)
	defer c.bufs.Put(bp)
	buf := (*bp)[:c.chunkLen(size, i)]
	if err := c.readRange(context.Background(), name, version, i*c.chunkSize, buf); err != nil {
		return "", fmt.Errorf("read chunk %d: %w", i, err)
	}
	return string(buf), nil
}

// readRange fills p with the bytes at off of version of name, from the
// origin, and reads on to the range's end, where the origin checks the
// version again. A short range means the object changed (its size is part
// of the version): ErrChanged. (Not io.ReadFull, which drops an error that
// comes with the last bytes.)
func (c *Cache) readRange(ctx context.Context, name, version string, off int64, p []byte) error {
	rc, err := c.origin.ReadRange(ctx, name, version, off, int64(len(p)))
	if err != nil {
		return err
	}
	defer rc.Close()
	n := 0
	for {
		var m int
		if n < len(p) {
			m, err = rc.Read(p[n:])
		} else {
			var extra [1]byte
			m, err = rc.Read(extra[:])
			if m > 0 {
				return fmt.Errorf("read %s: origin sent more than %d bytes", name, len(p))
			}
		}
		n += m
		switch {
		case err == io.EOF && n == len(p):
			return nil
		case err == io.EOF:
			return fmt.Errorf("read %s: %d of %d bytes: %w", name, n, len(p), ErrChanged)
		case err != nil:
			return err
		}
	}
}

// memChunk returns a chunk held in memory: in the local tier, or on its way
// to Redis.
func (c *Cache) memChunk(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	if c.local != nil {
		if data, ok := c.local.get(key); ok {
			return data, true
		}
	}
	c.pendingMu.Lock()
	defer c.pendingMu.Unlock()
	data, ok := c.pending[key]
	return data, ok
}
