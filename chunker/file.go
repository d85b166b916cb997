package chunker

import (
	"context"
	"io"
	"os"
	"sync"
	"time"
)

// Open opens name, a slash-separated path relative to the origin, for
// reading on behalf of ctx. The File must be closed. Errors are the
// origin's: for a directory, names that escape the root, through ".." or a
// symbolic link, fail with an error that wraps fs.ErrNotExist or the
// os.Root error.
func (c *Cache) Open(ctx context.Context, name string) (*File, error) {
	return c.open(ctx, name, readNormal)
}

// OpenWarm opens name for a prewarm: its reads skip what the cache holds
// when refresh is set (to rewrite it), read every miss whole from the
// origin and write it to Redis before returning (FillSync), whatever
// Options.Fill and MinUses say. Read it with WriteRange(io.Discard, ...)
// over the chunks to warm.
func (c *Cache) OpenWarm(ctx context.Context, name string, refresh bool) (*File, error) {
	mode := readWarm
	if refresh {
		mode = readRefresh
	}
	return c.open(ctx, name, mode)
}

// readMode is what a File's misses do.
type readMode uint8

const (
	readNormal  readMode = iota // as Options say
	readWarm                    // cache every miss, synchronously
	readRefresh                 // readWarm, and ignore what is cached
)

func (c *Cache) open(ctx context.Context, name string, mode readMode) (*File, error) {
	obj, err := c.origin.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	info := obj.Info()
	geo := Geometry{Size: info.Size, ChunkSize: c.chunkSize}
	c.files.Add(1)
	return &File{
		c:       c,
		id:      c.nextID.Add(1),
		obj:     obj,
		ctx:     ctx,
		mode:    mode,
		name:    name,
		info:    info,
		version: info.Version,
		geo:     geo,
		end:     geo.Size,
		winSize: minWindow,
		seen:    c.settle.firstSeen(info.Version),
	}, nil
}

// File is one version of one file, opened for one request.
//
// It implements io.ReaderAt, and WriteRange, which writes a range straight
// to a writer (sendfile(2) for bytes the local tier or a local origin
// holds). Its bytes come from the local tier, Redis, or the origin, and are
// always bytes of the version it was opened at (see read.go). It is safe
// for concurrent use, as io.ReaderAt requires, but is meant for one reader
// at a time: calls are serialised.
type File struct {
	c       *Cache
	id      uint64 // numbers Files, for admission and the local tier's doorkeeper
	obj     Object
	mode    readMode
	name    string
	info    Info
	version string
	geo     Geometry
	seen    time.Time // when this Cache first saw this version (settle.go)

	// ctx is the context of the request the File serves. It lives in the
	// struct only because ReadAt's signature is fixed by io.ReaderAt; it is
	// used for nothing but that request's calls and waits.
	ctx context.Context

	mu      sync.Mutex // protects the fields below
	end     int64      // end (exclusive) of the range being served
	win     window     // Redis bytes at hand (window.go)
	winSize int64      // bytes the next window fetches
	winAt   time.Time  // when win was loaded
	slow    bool       // the client drained the last window slowly: no read-ahead
	pf      *prefetch  // the next window, being fetched; nil when none
	skip    skipper    // when to leave Redis alone (skip.go)
	fl      *flight    // the flight the last piece read from, referenced; nil when none
	dr      io.ReadCloser
	drOff   int64   // where dr, the direct read from a remote origin, reads next
	scratch *[]byte // for direct bytes of a remote origin; from Cache.scratch
	served  served
	closed  bool
}

// served counts the bytes a File returned, by where they came from.
type served struct {
	total, redis, local int64
}

// Name returns the name the File was opened with.
func (f *File) Name() string { return f.name }

// Size returns the file size in bytes.
func (f *File) Size() int64 { return f.info.Size }

// ModTime returns the file's modification time.
func (f *File) ModTime() time.Time { return f.info.ModTime }

// Version returns the file's cache version (see VersionOf).
func (f *File) Version() string { return f.version }

// Geometry returns the file's chunk layout.
func (f *File) Geometry() Geometry { return f.geo }

// OSFile returns the open file itself, for callers that serve it directly
// (and so let the kernel's sendfile do the copying) while the cache is off,
// or nil when the origin is not a local directory. The File keeps
// ownership: do not close it.
func (f *File) OSFile() *os.File {
	if o, ok := f.obj.(interface{ OSFile() *os.File }); ok {
		return o.OSFile()
	}
	return nil
}

// Changed returns an error wrapping ErrChanged when the file is no longer
// the version it was opened at: rewritten or truncated in place, or
// replaced or removed under its name.
func (f *File) Changed() error { return f.obj.Changed(f.ctx) }

// Key returns the Redis key of chunk i of this version of the file. The
// cache must have a store.
func (f *File) Key(i int64) string { return f.c.store.Key(f.version, f.c.chunkSize, i) }

// keys returns the Redis keys of chunks first to last.
func (f *File) keys(first, last int64) []string {
	keys := make([]string, 0, last-first+1)
	for i := first; i <= last; i++ {
		keys = append(keys, f.Key(i))
	}
	return keys
}

// Served returns the bytes ReadAt and WriteRange have returned so far, and
// how many of them came from Redis and from the local tier; the rest came
// from the origin.
func (f *File) Served() (total, fromRedis, fromLocal int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.served.total, f.served.redis, f.served.local
}

// count adds m bytes that came from src to the File's and the Cache's
// tallies. f.mu must be held.
func (f *File) count(src source, m int64) {
	f.served.total += m
	switch src {
	case srcRedis:
		f.served.redis += m
		f.c.stats.redisBytes.Add(m)
	case srcLocal:
		f.served.local += m
		f.c.stats.localBytes.Add(m)
	}
}

// Close releases what the File holds and closes the object.
func (f *File) Close() error {
	f.mu.Lock()
	f.releaseWindow()
	f.dropPrefetch()
	f.dropFlight()
	f.closeDirect()
	f.releaseScratch()
	closed := f.closed
	f.closed = true
	f.mu.Unlock()
	if !closed {
		f.c.files.Add(-1)
	}
	return f.obj.Close()
}
