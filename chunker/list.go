package chunker

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"
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

// List walks the root and returns the regular files for which keep returns
// true, in lexical order. Hidden files and directories (names starting with
// ".") are skipped: they are never served either. Symbolic links that stay
// inside the root are followed; ones that leave it are skipped.
func (c *Cache) List(ctx context.Context, keep func(name string) bool) ([]Entry, error) {
	fsys := c.root.FS()
	var entries []Entry
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			if name == "." {
				return err
			}
			return nil // unreadable subdirectory: list the rest
		}
		if name != "." && strings.HasPrefix(path.Base(name), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !keep(name) {
			return nil
		}
		fi, err := fs.Stat(fsys, name) // follows links, inside the root only
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		geo := Geometry{Size: fi.Size(), ChunkSize: c.chunkSize}
		entries = append(entries, Entry{
			Name: name, Size: fi.Size(), ModTime: fi.ModTime(),
			Version: c.versionOf(name, fi), ChunkSize: c.chunkSize, Chunks: geo.Count(), Cached: -1,
		})
		return ctx.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list media: %w", err)
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
