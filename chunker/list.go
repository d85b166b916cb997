package chunker

import (
	"context"
	"time"
)

// Entry describes one file under the root.
type Entry struct {
	Name      string    // slash-separated path relative to the root
	Size      int64     // bytes
	ModTime   time.Time //
	Version   string    // see VersionOf
	ChunkSize int64     // bytes per chunk
	Chunks    int64     // chunks in the file
	Cached    int64     // chunks in Redis; -1 when unknown (cache off, down, or too many to ask)
}

// maxListProbe caps the EXISTS calls one List makes, so that listing a huge
// library stays one bounded round trip.
const maxListProbe = 100_000

// List returns the origin's objects for which keep returns true, in lexical
// order, with the chunks Redis holds of each when it can be asked cheaply.
func (c *Cache) List(ctx context.Context, keep func(name string) bool) ([]Entry, error) {
	infos, err := c.origin.List(ctx, keep)
	if err != nil {
		return nil, err
	}
	entries := make([]Entry, 0, len(infos))
	for _, in := range infos {
		geo := Geometry{Size: in.Size, ChunkSize: c.chunkSize}
		entries = append(entries, Entry{
			Name: in.Name, Size: in.Size, ModTime: in.ModTime,
			Version: in.Version, ChunkSize: c.chunkSize, Chunks: geo.Count(), Cached: -1,
		})
	}
	c.countCached(ctx, entries)
	return entries, nil
}

// countCached fills in Entry.Cached with one pipelined round trip, when the
// cache is usable and the library small enough.
func (c *Cache) countCached(ctx context.Context, entries []Entry) {
	if !c.Enabled() {
		return
	}
	var keys []string
	for _, e := range entries {
		if int64(len(keys))+e.Chunks > maxListProbe {
			return
		}
		for i := range e.Chunks {
			keys = append(keys, c.store.Key(e.Version, c.chunkSize, i))
		}
	}
	found, err := c.store.Exists(ctx, keys)
	if err != nil {
		return
	}
	for i := range entries {
		n := entries[i].Chunks
		var cached int64
		for _, ok := range found[:n] {
			if ok {
				cached++
			}
		}
		entries[i].Cached = cached
		found = found[n:]
	}
}
