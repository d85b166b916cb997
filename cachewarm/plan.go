package cachewarm

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/store"
)

// batch is up to Depth chunks of one file, written in one pipeline.
type batch struct {
	name    string
	version string
	chunks  []int64
	bytes   int64
}

// plan picks each file's chunks, asks Redis which are cached, and cuts the
// rest into batches.
func plan(ctx context.Context, names []string, opts Options, rep *Report) ([]batch, error) {
	var batches []batch
	for _, name := range names {
		if ctx.Err() != nil {
			break
		}
		f, err := opts.Cache.Open(ctx, name)
		if err != nil {
			rep.Failures = append(rep.Failures, Failure{File: name, Chunk: -1, Err: err.Error()})
			continue
		}
		rep.Files++
		geo := f.Geometry()
		chunks := selectChunks(f, name, geo, opts)
		rep.Chunks += int64(len(chunks))
		cached := make([]bool, len(chunks))
		if !opts.Force || opts.DryRun {
			keys := make([]string, len(chunks))
			for i, c := range chunks {
				keys[i] = f.Key(c)
			}
			cached, err = exists(ctx, opts.Cache.Store(), keys)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("check cached chunks of %s: %w", name, err)
			}
		}
		b := batch{name: name, version: f.Version()}
		for i, c := range chunks {
			if cached[i] {
				rep.Cached++
				if !opts.Force {
					rep.Skipped++
					continue
				}
			}
			s, e := geo.Bounds(c)
			b.chunks = append(b.chunks, c)
			b.bytes += e - s
			rep.Bytes += e - s
			if len(b.chunks) == opts.Depth {
				batches = append(batches, b)
				b = batch{name: name, version: f.Version()}
			}
		}
		if len(b.chunks) > 0 {
			batches = append(batches, b)
		}
		f.Close()
	}
	return batches, nil
}

// selectChunks returns the chunk indices opts.Mode asks for, sorted: always
// the first chunk (Safari's first request is bytes=0-1, Chrome's bytes=0-),
// and for an MP4 whose moov box comes after mdat, the chunks holding moov.
func selectChunks(f *chunker.File, name string, geo chunker.Geometry, opts Options) []int64 {
	n := geo.Count()
	if n == 0 {
		return nil
	}
	set := map[int64]bool{0: true}
	add := func(off, length int64) {
		if first, last, ok := geo.Span(off, length); ok {
			for i := first; i <= last; i++ {
				set[i] = true
			}
		}
	}
	switch opts.Mode {
	case Full:
		add(0, geo.Size)
	case Head:
		add(0, opts.Head)
	case Edges:
		add(0, opts.Head)
		add(max(0, geo.Size-opts.Head), opts.Head)
	}
	if opts.Mode != Full && isMP4(name) {
		// A remote object has no *os.File: read its box headers through
		// the File, from Redis or the origin.
		var r io.ReaderAt = f
		if osf := f.OSFile(); osf != nil {
			r = osf
		}
		if off, length, ok := lateMoov(r, geo.Size); ok {
			add(off, length)
		}
	}
	chunks := make([]int64, 0, len(set))
	for i := range set {
		chunks = append(chunks, i)
	}
	slices.Sort(chunks)
	return chunks
}

// checkMemory warns when Redis cannot hold what is asked for.
func checkMemory(ctx context.Context, s *store.Store, rep *Report) error {
	m, err := s.Memory(ctx)
	if err != nil {
		return fmt.Errorf("could not read Redis memory settings: %v", err)
	}
	var warn []string
	if m.MaxMemory > 0 && rep.Bytes > m.MaxMemory-m.Used {
		warn = append(warn, fmt.Sprintf("Redis has %d bytes free under maxmemory %d, and %d are to be written: the first chunks will be evicted by the last",
			max(0, m.MaxMemory-m.Used), m.MaxMemory, rep.Bytes))
	}
	if m.Policy == "noeviction" {
		warn = append(warn, "Redis maxmemory-policy is noeviction: writes fail once it is full; allkeys-lru is recommended for a chunk cache")
	}
	rep.Warnings = append(rep.Warnings, warn...)
	return nil
}

// exists asks which keys exist, a thousand per pipeline so that each call
// stays well inside the store's read timeout.
func exists(ctx context.Context, s *store.Store, keys []string) ([]bool, error) {
	found := make([]bool, 0, len(keys))
	for chunk := range slices.Chunk(keys, 1000) {
		f, err := s.Exists(ctx, chunk)
		if err != nil {
			return nil, err
		}
		found = append(found, f...)
	}
	return found, nil
}
