package chunker

import (
	"context"
	"fmt"
)

// ChunkMap reports, for the current version of name, which chunks are in
// Redis, asking in one pipeline. When the cache is off or Redis fails it
// returns the Entry with an error wrapping ErrUnavailable.
func (c *Cache) ChunkMap(ctx context.Context, name string) (Entry, []bool, error) {
	f, err := c.Open(ctx, name)
	if err != nil {
		return Entry{}, nil, err
	}
	defer f.Close()
	e := Entry{Name: name, Size: f.Size(), ModTime: f.ModTime(), Version: f.version, ChunkSize: c.chunkSize, Chunks: f.geo.Count(), Cached: -1}
	if !c.Enabled() {
		return e, nil, ErrUnavailable
	}
	found, err := c.store.Exists(ctx, f.keys(0, e.Chunks-1))
	if err != nil {
		return e, nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	e.Cached = 0
	for _, ok := range found {
		if ok {
			e.Cached++
		}
	}
	return e, found, nil
}
