package chunker

import (
	"context"
	"errors"
	"fmt"
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
	obj, err := c.origin.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	info := obj.Info()
	geo := Geometry{Size: info.Size, ChunkSize: c.chunkSize}
	c.open.Add(1)
	return &File{
		c:       c,
		id:      c.nextID.Add(1),
		obj:     obj,
		ctx:     ctx,
		name:    name,
		info:    info,
		version: info.Version,
		geo:     geo,
		end:     geo.Size,
		winSize: minWindow,
	}, nil
}

// File is one version of one file, opened for one request.
//
// It implements io.ReaderAt: chunks come from Redis when present and from
// the open file otherwise. It is safe for concurrent use, as io.ReaderAt
// requires, but is meant for one reader at a time.
type File struct {
	c       *Cache
	id      uint64
	obj     Object
	name    string
	info    Info
	version string
	geo     Geometry

	// ctx is the context of the request the File serves. It lives in the
	// struct only because ReadAt's signature is fixed by io.ReaderAt; it is
	// used for nothing but that request's Redis calls and waits.
	ctx context.Context

	mu        sync.Mutex    // protects the fields below
	win       window        // bytes at hand
	winSize   int64         // bytes the next window fetches
	winAt     time.Time     // when win was loaded
	end       int64         // end (exclusive) of the range being served
	skipUntil time.Time     // Redis was slow for this request: origin only until then
	skipFor   time.Duration // how long the last skip was; doubles while Redis stays slow
	read      int64         // bytes returned by ReadAt
	fromRedis int64         // of those, bytes that came from Redis
	fromLocal int64         // and bytes that came from the local tier
	pf        *prefetch     // the next window, being fetched; nil when none
	slow      bool          // the client drained the last window slowly: no read-ahead
	dr        io.ReadCloser // the direct read from the origin, if any
	drOff     int64         // where dr reads next
	scratch   *[]byte       // for direct bytes written out; from Cache.scratch
	closed    bool
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

// Close releases the File's chunks and closes the underlying file.
func (f *File) Close() error {
	f.mu.Lock()
	f.releaseWindow()
	f.dropPrefetch()
	f.closeDirect()
	f.releaseScratch()
	closed := f.closed
	f.closed = true
	f.mu.Unlock()
	if !closed {
		f.c.open.Add(-1)
	}
	return f.obj.Close()
}

// releaseScratch gives the File's scratch buffer, if it holds one, back to
// the pool: direct bytes written out from it have all been written. f.mu
// must be held.
func (f *File) releaseScratch() {
	if f.scratch != nil {
		f.c.scratch.Put(f.scratch)
		f.scratch = nil
		f.c.scratchHeld.Add(-1)
	}
}

// Served returns the bytes ReadAt and WriteRange have returned so far, and
// how many of them came from Redis and from the local tier; the rest came
// from disk.
func (f *File) Served() (total, fromRedis, fromLocal int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.read, f.fromRedis, f.fromLocal
}

// ReadAt reads len(p) bytes at off. Bytes come from Redis where the chunk is
// cached and from disk otherwise; either way they are bytes of the version
// the File was opened at. If the file on disk changes under a read that
// needs it, ReadAt fails with ErrChanged rather than send mixed bytes.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %s at %d: negative offset", f.name, off)
	}
	size := f.geo.Size
	if off >= size {
		return 0, io.EOF
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for n < len(p) && off < size {
		pc, err := f.piece(off)
		if err != nil {
			return n, err
		}
		var m int
		if pc.direct {
			// Straight into p: no scratch buffer, one copy.
			m, err = f.direct(p[n:min(len(p), n+int(pc.off+pc.n-off))], off)
		} else {
			var b []byte
			b, err = f.bytesAt(pc, off, int64(len(p)-n))
			m = copy(p[n:], b)
		}
		f.count(pc, m)
		n += m
		off += int64(m)
		if err != nil {
			return n, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// count adds m bytes returned from pc to the File's and the Cache's
// tallies. f.mu must be held.
func (f *File) count(pc *piece, m int) {
	f.read += int64(m)
	switch pc.src {
	case srcRedis:
		f.fromRedis += int64(m)
		f.c.stats.redisBytes.Add(int64(m))
	case srcLocal:
		f.fromLocal += int64(m)
		f.c.stats.localBytes.Add(int64(m))
	}
}

// cacheable reports whether this File may use Redis. f.mu must be held.
func (f *File) cacheable() bool {
	return f.c.store != nil && !f.skipping()
}

// A File leaves Redis alone for skipRedisFor after a call of its timed out
// (the breaker's usual cool-down), and twice as long after each further
// timeout, up to maxSkipRedis; a call that succeeds starts it over. Not for
// the rest of the request: a viewer who started while Redis was busy (a
// cold instance met by hundreds of viewers at once) would stream a whole
// film from the origin. Not a fixed second either: while Redis stays too
// busy to answer in time, every retry costs the viewer a timeout.
const (
	skipRedisFor = time.Second
	maxSkipRedis = time.Minute
)

// skipRedis makes the File leave Redis alone for a while (see
// skipRedisFor). f.mu must be held.
func (f *File) skipRedis() {
	f.skipFor = min(max(skipRedisFor, 2*f.skipFor), maxSkipRedis)
	f.skipUntil = time.Now().Add(f.skipFor)
}

// redisAnswered starts the File's skips over: Redis answered in time.
// f.mu must be held.
func (f *File) redisAnswered() { f.skipFor = 0 }

// skipping reports whether the File is leaving Redis alone now. f.mu must
// be held.
func (f *File) skipping() bool {
	return !f.skipUntil.IsZero() && time.Now().Before(f.skipUntil)
}

func (f *File) keys(first, last int64) []string {
	keys := make([]string, 0, last-first+1)
	for i := first; i <= last; i++ {
		keys = append(keys, f.c.store.Key(f.version, f.c.chunkSize, i))
	}
	return keys
}

// Key returns the Redis key of chunk i of this version of the file. The
// cache must have a store.
func (f *File) Key(i int64) string { return f.c.store.Key(f.version, f.c.chunkSize, i) }

// ReadChunk reads chunk i from the origin into buf, which must hold a
// chunk, and returns the chunk's bytes. It fails with ErrChanged when the
// file is no longer the version it was opened at, so that bytes of a new
// version are never stored under the old version's key.
func (f *File) ReadChunk(i int64, buf []byte) ([]byte, error) {
	start, end := f.geo.Bounds(i)
	n := end - start
	if int64(len(buf)) < n {
		return nil, fmt.Errorf("read chunk %d of %s: buffer of %d bytes for %d", i, f.name, len(buf), n)
	}
	if err := f.c.readRange(f.ctx, f.name, f.version, start, buf[:n]); err != nil {
		return nil, fmt.Errorf("read chunk %d: %w", i, err)
	}
	return buf[:n], nil
}

// ErrWrite wraps the error of a writer that WriteRange wrote to, so that
// callers can tell a client that went away from a failed read.
var ErrWrite = errors.New("chunker: write failed")

// WriteRange writes the n bytes at off to w, a window's piece at a time,
// straight from the chunk data: no copy into an intermediate buffer, and one
// write per piece rather than one per 32 KiB. Bytes of a chunk being read
// from the origin are written as they arrive. It returns the bytes written.
// Read errors are returned as ReadAt returns them; w's errors wrap ErrWrite.
func (f *File) WriteRange(w io.Writer, off, n int64) (int64, error) {
	if off < 0 || n < 0 {
		return 0, fmt.Errorf("write range %d+%d of %s: negative", off, n, f.name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	end := min(off+n, f.geo.Size)
	ww, _ := w.(writableWaiter)
	var written int64
	for off < end {
		if ww != nil && !ww.Writable() {
			// The client's socket is full: it reads slowly. Hold no chunk
			// data while it drains (the window and the read-ahead are let
			// go; what is left of the window is fetched again, smaller),
			// and write in slices that the socket takes at once.
			f.slow = true
			f.dropPrefetch()
			f.releaseScratch()
			if f.win.contains(off) {
				f.releaseWindow()
				f.winSize = minWindow
			}
			if err := ww.WaitWritable(); err != nil {
				return written, fmt.Errorf("%w: %w", ErrWrite, err)
			}
		}
		pc, err := f.piece(off)
		if err != nil {
			return written, err
		}
		most := end - off
		if ww != nil && f.slow {
			most = min(most, slowSlice)
		}
		b, err := f.bytesAt(pc, off, most)
		if err != nil {
			return written, err
		}
		m, err := w.Write(b)
		written += int64(m)
		f.count(pc, m)
		off += int64(m)
		if ww != nil && off == f.win.end {
			f.releaseWindow() // written out: nothing holds it any more
		}
		if err != nil {
			return written, fmt.Errorf("%w: %w", ErrWrite, err)
		}
	}
	if written < n {
		return written, io.EOF
	}
	return written, nil
}

// slowSlice is the most WriteRange writes at once to a slow client, so that
// a write rarely blocks with chunk data held (a socket is writable once a
// third of its buffer is free, which is more than this once it has grown).
const slowSlice = 64 << 10

// writableWaiter is a writer that can wait until a write would not block:
// the stream handler's response over a socket (see WriteRange).
type writableWaiter interface {
	// Writable reports whether a write would not block now.
	Writable() bool
	// WaitWritable returns once a write would not block (or would fail).
	WaitWritable() error
}
