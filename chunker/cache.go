package chunker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"
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

// Errors a File returns. Callers test with errors.Is.
var (
	// ErrNotRegular: the name is a directory or a device, not a file.
	ErrNotRegular = errors.New("chunker: not a regular file")
	// ErrChanged: the file on disk is no longer the version being served,
	// so no more of it may be sent; the client should ask again.
	ErrChanged = errors.New("chunker: file changed while being served")
)

// Options configure a Cache. The zero value of each field but Root means its
// default.
type Options struct {
	// Root confines every file access. Required.
	Root *os.Root

	// Store is the Redis chunk store; nil turns the cache off and every
	// read goes to disk.
	Store *Store

	// ChunkSize in bytes. Default 1 MiB.
	ChunkSize int64

	// Fill is what a miss does. Default FillAsync.
	Fill FillMode

	// Window is how many chunks one round trip to Redis fetches: the chunk
	// a read needs and the ones after it, up to the end of the range being
	// served. While a window is written to the client the next one is
	// fetched (read-ahead), so a File holds at most 2*Window chunks.
	// Default 2.
	Window int

	// MaxInflightBytes caps the chunk bytes that all open Files hold at
	// once (each holds a window and a read-ahead window). A reader that
	// would pass it waits for room; read-ahead is skipped instead. Default
	// 256 MiB.
	MaxInflightBytes int64

	// LocalBytes bounds an in-process tier of whole chunks in front of
	// Redis, for the chunks several requests read (see localTier). 0, the
	// default, turns it off. It needs a Store.
	LocalBytes int64

	// FillQueue is how many chunks may wait for a background write.
	// Default 64. Pending chunks take at most (FillQueue+32)*ChunkSize:
	// the queue and the batches being written.
	FillQueue int

	// SharedVersions makes file versions from name, size and mtime only
	// (SharedVersionOf), so that instances on several hosts share chunks;
	// the default also hashes device, inode and change time (VersionOf),
	// which is stricter but differs from host to host.
	SharedVersions bool

	// Logger for background errors. Default slog.Default().
	Logger *slog.Logger
}

// Cache opens files under a root and reads them chunk by chunk from Redis,
// falling back to disk. It is safe for concurrent use. Close it to wait for
// background writes.
type Cache struct {
	root      *os.Root
	store     *Store
	chunkSize int64
	fill      FillMode
	window    int
	shared    bool
	log       *slog.Logger

	flight singleflight.Group  // coalesces disk reads of one chunk
	mem    *semaphore.Weighted // in-flight chunk bytes
	memCap int64
	used   atomic.Int64 // bytes taken from mem
	open   atomic.Int64 // Files open, to share mem between them

	pendingMu sync.Mutex        // protects pending
	pending   map[string]string // chunks read from disk and not yet written to Redis, by key
	bufs      sync.Pool         // *[]byte of chunkSize, for disk reads

	fillMu     sync.RWMutex // guards sending on fillq against closing it
	fillClosed bool         // fillq is closed; protected by fillMu
	fillq      chan fillItem
	fillWG     sync.WaitGroup
	closeOnce  sync.Once

	local  *localTier    // nil when off
	nextID atomic.Uint64 // numbers Files, for the local tier's admission

	stats counters

	lastFillLog atomic.Int64 // unix nanoseconds of the last fill error logged
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

// New returns a Cache. It starts the background writers when the store is
// set and Fill is FillAsync.
func New(opts Options) (*Cache, error) {
	if opts.Root == nil {
		return nil, errors.New("chunker: Options.Root is required")
	}
	if opts.ChunkSize == 0 {
		opts.ChunkSize = 1 << 20
	}
	if opts.ChunkSize < 0 {
		return nil, fmt.Errorf("chunker: chunk size %d is negative", opts.ChunkSize)
	}
	if opts.Window <= 0 {
		opts.Window = 2
	}
	if opts.FillQueue <= 0 {
		opts.FillQueue = 64
	}
	if opts.MaxInflightBytes <= 0 {
		opts.MaxInflightBytes = 256 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Cache{
		root:      opts.Root,
		store:     opts.Store,
		chunkSize: opts.ChunkSize,
		fill:      opts.Fill,
		window:    opts.Window,
		shared:    opts.SharedVersions,
		log:       opts.Logger,
		pending:   make(map[string]string),
		mem:       semaphore.NewWeighted(opts.MaxInflightBytes),
		memCap:    opts.MaxInflightBytes,
	}
	if opts.LocalBytes > 0 && c.store != nil {
		c.local = newLocalTier(opts.LocalBytes, c.chunkSize)
	}
	c.bufs.New = func() any { b := make([]byte, c.chunkSize); return &b }
	if c.store != nil && c.fill == FillAsync {
		c.fillq = make(chan fillItem, opts.FillQueue)
		for range fillWriters {
			c.fillWG.Add(1)
			go c.filler()
		}
	}
	return c, nil
}

// Close stops the background writers after it has written what is queued.
// Reads after Close are served but not cached.
func (c *Cache) Close() error {
	c.closeOnce.Do(func() {
		if c.fillq != nil {
			c.fillMu.Lock()
			c.fillClosed = true
			close(c.fillq)
			c.fillMu.Unlock()
			c.fillWG.Wait()
		}
	})
	return nil
}

// ChunkSize returns the chunk size in bytes.
func (c *Cache) ChunkSize() int64 { return c.chunkSize }

// Enabled reports whether reads may use Redis now: a store is configured
// and its breaker is closed (or ready to probe).
func (c *Cache) Enabled() bool { return c.store != nil && c.store.Available() }

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

// Stats returns counters since the Cache was made, and what the local tier
// holds now.
func (c *Cache) Stats() Stats {
	s := c.stats.snapshot()
	if c.local != nil {
		s.LocalHeld, _ = c.local.size()
	}
	return s
}

// Open opens name, a slash-separated path relative to the root, for reading
// on behalf of ctx. The File must be closed. Names that escape the root,
// through ".." or a symbolic link, fail with an error that wraps
// fs.ErrNotExist or the os.Root error.
func (c *Cache) Open(ctx context.Context, name string) (*File, error) {
	f, err := c.root.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", name, ErrNotRegular)
	}
	geo := Geometry{Size: fi.Size(), ChunkSize: c.chunkSize}
	c.open.Add(1)
	return &File{
		c:       c,
		id:      c.nextID.Add(1),
		f:       f,
		ctx:     ctx,
		name:    name,
		info:    fi,
		version: c.versionOf(name, fi),
		geo:     geo,
		end:     geo.Size,
		winSize: minWindow,
	}, nil
}

// Status says where the bytes of a read came, or will come, from.
type Status int

const (
	Miss    Status = iota // all from disk
	Hit                   // all from Redis
	Partial               // some from each
	Bypass                // cache off or unavailable: disk only
)

// File is one version of one file, opened for one request.
//
// It implements io.ReaderAt: chunks come from Redis when present and from
// the open file otherwise. It is safe for concurrent use, as io.ReaderAt
// requires, but is meant for one reader at a time.
type File struct {
	c       *Cache
	id      uint64
	f       *os.File
	name    string
	info    fs.FileInfo
	version string
	geo     Geometry

	// ctx is the context of the request the File serves. It lives in the
	// struct only because ReadAt's signature is fixed by io.ReaderAt; it is
	// used for nothing but that request's Redis calls and waits.
	ctx context.Context

	mu        sync.Mutex // protects the fields below
	win       window     // bytes at hand
	winSize   int64      // bytes the next window fetches
	winAt     time.Time  // when win was loaded
	end       int64      // end (exclusive) of the range being served
	bypass    bool       // Redis failed during this request: disk only
	read      int64      // bytes returned by ReadAt
	fromRedis int64      // of those, bytes that came from Redis
	fromLocal int64      // and bytes that came from the local tier
	pf        *prefetch  // the next window, being fetched; nil when none
	closed    bool
}

// Name returns the name the File was opened with.
func (f *File) Name() string { return f.name }

// Size returns the file size in bytes.
func (f *File) Size() int64 { return f.info.Size() }

// ModTime returns the file's modification time.
func (f *File) ModTime() time.Time { return f.info.ModTime() }

// Version returns the file's cache version (see VersionOf).
func (f *File) Version() string { return f.version }

// Geometry returns the file's chunk layout.
func (f *File) Geometry() Geometry { return f.geo }

// OSFile returns the open file itself, for callers that serve it directly
// (and so let the kernel's sendfile do the copying) while the cache is off.
// The File keeps ownership: do not close it.
func (f *File) OSFile() *os.File { return f.f }

// Changed returns an error wrapping ErrChanged when the file is no longer
// the version it was opened at: rewritten or truncated in place, or
// replaced or removed under its name.
func (f *File) Changed() error {
	fi, err := f.f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", f.name, err)
	}
	if f.c.versionOf(f.name, fi) != f.version {
		return fmt.Errorf("%s: %w", f.name, ErrChanged)
	}
	fi, err = f.c.root.Stat(f.name)
	if err != nil || f.c.versionOf(f.name, fi) != f.version {
		return fmt.Errorf("%s: replaced or removed: %w", f.name, ErrChanged)
	}
	return nil
}

// Close releases the File's chunks and closes the underlying file.
func (f *File) Close() error {
	f.mu.Lock()
	f.releaseWindow()
	f.dropPrefetch()
	closed := f.closed
	f.closed = true
	f.mu.Unlock()
	if !closed {
		f.c.open.Add(-1)
	}
	return f.f.Close()
}

// Served returns the bytes ReadAt and WriteRange have returned so far, and
// how many of them came from Redis and from the local tier; the rest came
// from disk.
func (f *File) Served() (total, fromRedis, fromLocal int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.read, f.fromRedis, f.fromLocal
}

// Prepare readies the File to serve the n bytes at off and reports where they
// will come from (for the first 32 chunks of a longer range). With body set
// it fetches the first window and, in the same round trip, asks Redis
// which of the range's chunks past that window exist; without it (a HEAD
// request) it only asks. The answer is what Redis holds at this moment: a
// chunk evicted while the rest is streamed is read from disk.
func (f *File) Prepare(off, n int64, body bool) Status {
	if f.c.store == nil {
		return Bypass
	}
	first, last, ok := f.geo.Span(off, n)
	if !ok {
		return Miss
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.end = min(f.geo.Size, off+n)
	if rest := f.end - off; rest <= f.maxWindow() {
		// The whole range fits one window: one round trip. (An open-ended
		// range of a big file starts small, and grows while the client
		// keeps up.)
		f.winSize = max(rest, minWindow)
	}
	var hits, total int64
	next := first
	var exist []bool // whether the chunks past the first window are cached
	if body {
		if err := f.load(off, last); err != nil || f.bypass {
			return Bypass
		}
		// The window's pieces tell which of its chunks are cached.
		seen := int64(-1)
		for _, pc := range f.win.pieces {
			if pc.chunk != seen {
				seen = pc.chunk
				total++
				if pc.src != srcDisk {
					hits++
				}
			}
		}
		next = seen + 1
		if f.win.probed {
			// The chunks past the window were asked about in the same
			// round trip.
			exist, next = f.win.exist, last+1
		}
	}
	// A seek in a long video asks for everything to the end (bytes=N-) and
	// reads a few MB; the status speaks for the first maxProbe chunks, so
	// that a seek costs the same in a 4 GB film as in a clip.
	last = min(last, max(next, first)+maxProbe-1)
	if next <= last {
		var ask []string
		var at []int
		exist, ask, at = f.c.held(f.keys(next, last))
		found, err := f.c.store.Exists(f.ctx, ask)
		if err != nil {
			if slow(err) {
				f.bypass = true
			}
			return Bypass
		}
		for k, i := range at {
			exist[i] = found[k]
		}
	}
	for _, ok := range exist {
		if ok {
			hits++
		}
	}
	total += int64(len(exist))
	switch hits {
	case 0:
		return Miss
	case total:
		return Hit
	}
	return Partial
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
		m := copy(p[n:], pc.data[off-pc.off:])
		f.count(pc, m)
		n += m
		off += int64(m)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// maxProbe is the most chunks Prepare asks Redis about.
const maxProbe = 32

// Window sizes. A File fetches a window of bytes from Redis in one round
// trip, and the next window while the current one is written out
// (read-ahead). The window starts small and doubles each time the client
// drains one quickly, up to Options.Window chunks; it halves for a client
// that drains slowly. A fast reader gets big round trips; a thousand slow
// phones each hold little memory.
const (
	minWindow = 128 << 10
	fastDrain = 5 * time.Millisecond  // drained faster than this: double
	slowDrain = 50 * time.Millisecond // slower than this: halve
)

// piece is the bytes [off, off+n) of the file, all in one chunk.
type piece struct {
	off, n int64
	chunk  int64
	data   string // n bytes once have is set
	have   bool
	src    source // where data came from
}

// source says where a piece's bytes came from.
type source uint8

const (
	srcDisk source = iota
	srcRedis
	srcLocal
)

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

// window is the file bytes [start, end), as pieces, fetched from Redis in
// one round trip.
type window struct {
	start, end int64
	pieces     []piece
	held       int64 // bytes acquired from the cache's in-flight budget
	err        error // the Redis error, if the fetch failed

	// For Prepare: whether the chunks after the window exist (up to
	// maxProbe of them), asked with the window's fetch when probed is set.
	exist  []bool
	probed bool
}

func (w *window) contains(off int64) bool { return off >= w.start && off < w.end }

// prefetch is a window being fetched in the background.
type prefetch struct {
	start int64
	done  chan struct{} // closed when w is set
	w     window
}

// piece returns the piece holding off, loading a window when off is not in
// the current one, and reading its chunk from disk when Redis did not have
// it. The piece stays valid until the next call. f.mu must be held.
func (f *File) piece(off int64) (*piece, error) {
	if !f.win.contains(off) {
		if err := f.load(off, 0); err != nil {
			return nil, err
		}
	}
	for j := range f.win.pieces {
		pc := &f.win.pieces[j]
		if off < pc.off || off >= pc.off+pc.n {
			continue
		}
		if !pc.have {
			data, err := f.c.readDisk(f.ctx, f.name, f.version, f.geo.Size, pc.chunk, f.cacheable())
			if err != nil {
				return nil, err
			}
			cs, _ := f.geo.Bounds(pc.chunk)
			// The chunk is read whole (so that it can be cached whole);
			// the piece keeps its part, so that the small reads io.Copy
			// makes do not each go to disk.
			pc.data, pc.have = data[pc.off-cs:pc.off-cs+pc.n], true
		}
		return pc, nil
	}
	return nil, fmt.Errorf("read %s at %d: no piece in window [%d, %d)", f.name, off, f.win.start, f.win.end)
}

// load makes the window start at off: from the prefetch when it starts
// there, else fetched now. Either way it then starts fetching the window
// after it. A Redis error is not returned: a slow or unavailable Redis
// switches this File to disk for the rest of the request. f.mu must be held.
func (f *File) load(off, probeTo int64) error {
	f.adapt(off)
	f.releaseWindow()
	var w window
	if pf := f.pf; pf != nil && pf.start == off {
		f.pf = nil
		select {
		case <-pf.done:
		case <-f.ctx.Done():
			go func() { <-pf.done; f.c.release(pf.w.held) }()
			return f.ctx.Err()
		}
		w = pf.w
	} else {
		f.dropPrefetch()
		w = f.plan(off)
		held, ok := f.c.tryAcquire(w.end - w.start)
		if !ok {
			// The budget is tight: shrink to the smallest window, and
			// wait only for that much.
			f.winSize = minWindow
			w = f.plan(off)
			var err error
			if held, err = f.c.acquire(f.ctx, w.end-w.start); err != nil {
				return err
			}
		}
		f.fetch(&w, f.cacheable(), f.probeKeys(w, probeTo))
		w.held = held
	}
	if w.err != nil {
		if err := f.ctx.Err(); err != nil {
			f.c.release(w.held)
			return err
		}
		// A slow or unavailable Redis is left alone for the rest of the
		// request; a fast failure (a Cluster node refusing connections)
		// costs little, and the next window may live on a node that is up.
		if slow(w.err) {
			f.bypass = true
		}
	}
	f.win, f.winAt = w, time.Now()
	f.startPrefetch(w.end)
	return nil
}

// adapt sizes the next window from how fast the client drained the last
// one, when it reads on from where that one ended. f.mu must be held.
func (f *File) adapt(off int64) {
	if f.winAt.IsZero() || off != f.win.end {
		return // the first window, or a jump: keep the size
	}
	switch d := time.Since(f.winAt); {
	case d < fastDrain:
		f.winSize = min(2*f.winSize, f.maxWindow())
	case d > slowDrain:
		f.winSize = max(f.winSize/2, minWindow)
	}
}

// maxWindow is the largest window: Options.Window chunks, but no more than
// a fair share of the in-flight budget among the Files open (each may hold
// two windows), so that many readers do not queue for memory.
func (f *File) maxWindow() int64 {
	share := f.c.memCap / (2 * max(1, f.c.open.Load()))
	return max(minWindow, min(int64(f.c.window)*f.c.chunkSize, share))
}

// plan cuts the window [off, off+winSize), clipped to the range being
// served, into one piece per chunk. f.mu must be held.
func (f *File) plan(off int64) window {
	f.winSize = min(f.winSize, f.maxWindow())
	end := min(f.end, off+f.winSize)
	if end <= off {
		end = min(f.geo.Size, off+f.winSize) // a read past the prepared range
	}
	w := window{start: off, end: end}
	for p := off; p < end; {
		i := f.geo.Index(p)
		_, ce := f.geo.Bounds(i)
		n := min(ce, end) - p
		w.pieces = append(w.pieces, piece{off: p, n: n, chunk: i})
		p += n
	}
	return w
}

// probeKeys returns the keys of the chunks after w up to chunk probeTo,
// at most maxProbe of them: those Prepare wants to know about.
func (f *File) probeKeys(w window, probeTo int64) []string {
	if probeTo <= 0 || w.end <= w.start {
		return nil
	}
	next := f.geo.Index(w.end-1) + 1
	last := min(probeTo, next+maxProbe-1)
	if next > last {
		return nil
	}
	return f.keys(next, last)
}

// fetch fills w's pieces from the local tier and, for the rest, from Redis
// in one round trip (GETRANGE, with STRLEN to check that the value is the
// whole chunk). A chunk the local tier wants is fetched whole and kept
// there. The same round trip asks whether the probe keys exist (w.exist;
// those in the local tier count without asking). It touches no mutable
// field of f, so the read-ahead goroutine may call it.
func (f *File) fetch(w *window, use bool, probe []string) {
	if !use || len(w.pieces) == 0 {
		return
	}
	local := f.c.local
	var ask []string
	var askIdx []int
	w.exist, ask, askIdx = f.c.held(probe)
	reqs := make([]RangeRequest, 0, len(w.pieces))
	which := make([]int, 0, len(w.pieces)) // the piece each request is for
	var keep []bool                        // whether the local tier keeps the chunk
	for j := range w.pieces {
		pc := &w.pieces[j]
		cs, ce := f.geo.Bounds(pc.chunk)
		r := RangeRequest{Key: f.Key(pc.chunk), Start: pc.off - cs, N: pc.n, Len: ce - cs}
		if local != nil {
			if data, ok := local.get(r.Key); ok {
				pc.data, pc.have, pc.src = data[r.Start:r.Start+r.N], true, srcLocal
				f.c.stats.localHits.Add(1)
				continue
			}
			k := local.wanted(r.Key, f.id)
			if k {
				r.Start, r.N = 0, r.Len
			}
			keep = append(keep, k)
		}
		reqs, which = append(reqs, r), append(which, j)
	}
	if len(reqs) == 0 && len(ask) == 0 {
		w.probed = len(probe) > 0
		return
	}
	reply, err := f.c.store.GetRanges(f.ctx, reqs, ask)
	if err != nil {
		w.err = err
		return
	}
	for k, i := range askIdx {
		w.exist[i] = reply.Exist[k]
	}
	w.probed = len(probe) > 0
	for k, j := range which {
		if !reply.Found[k] {
			continue
		}
		pc, v := &w.pieces[j], reply.Vals[k]
		if keep != nil && keep[k] {
			local.add(reqs[k].Key, v)
			cs, _ := f.geo.Bounds(pc.chunk)
			v = v[pc.off-cs : pc.off-cs+pc.n]
		}
		pc.data, pc.have, pc.src = v, true, srcRedis
		f.c.stats.hits.Add(1)
	}
}

// startPrefetch fetches the window at next in the background, when it is
// inside the range being served, the cache is usable, and the in-flight
// budget has room (read-ahead is skipped, not waited for). f.mu must be held.
func (f *File) startPrefetch(next int64) {
	if f.pf != nil || next >= f.end || !f.cacheable() || f.ctx.Err() != nil {
		return
	}
	w := f.plan(next)
	// Read-ahead only while the budget is less than half used, so that
	// readers who need bytes now never wait behind read-ahead.
	if f.c.used.Load()+(w.end-w.start) > f.c.memCap/2 {
		return
	}
	held, ok := f.c.tryAcquire(w.end - w.start)
	if !ok {
		return
	}
	pf := &prefetch{start: next, done: make(chan struct{})}
	f.pf = pf
	go func() {
		f.fetch(&w, true, nil)
		w.held = held
		pf.w = w
		close(pf.done)
	}()
}

// dropPrefetch abandons a prefetch that will not be used; its memory is
// released when it ends. f.mu must be held.
func (f *File) dropPrefetch() {
	if pf := f.pf; pf != nil {
		f.pf = nil
		go func() { <-pf.done; f.c.release(pf.w.held) }()
	}
}

// releaseWindow gives the window's bytes back to the budget. f.mu must be
// held.
func (f *File) releaseWindow() {
	f.c.release(f.win.held)
	f.win.held = 0
	f.win.pieces = nil
}

// slow reports whether a store error means Redis is slow or switched off
// (a timeout, or the breaker open) rather than a quick refusal.
func slow(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnavailable) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// chunkLen returns the length of chunk i of a file of size bytes.
func (c *Cache) chunkLen(size, i int64) int64 {
	start, end := Geometry{Size: size, ChunkSize: c.chunkSize}.Bounds(i)
	return end - start
}

// cacheable reports whether this File may use Redis. f.mu must be held.
func (f *File) cacheable() bool {
	return f.c.store != nil && !f.bypass
}

func (f *File) keys(first, last int64) []string {
	keys := make([]string, 0, last-first+1)
	for i := first; i <= last; i++ {
		keys = append(keys, f.c.store.Key(f.version, f.c.chunkSize, i))
	}
	return keys
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
		data, err := c.readChunk(name, version, i)
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

func (c *Cache) readChunk(name, version string, i int64) (string, error) {
	f, err := c.root.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("read chunk %d of %s: %w", i, name, ErrChanged)
		}
		return "", fmt.Errorf("read chunk %d of %s: %w", i, name, err)
	}
	defer f.Close()
	same := func() error {
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("read chunk %d of %s: %w", i, name, err)
		}
		if c.versionOf(name, fi) != version {
			return fmt.Errorf("read chunk %d of %s: %w", i, name, ErrChanged)
		}
		return nil
	}
	if err := same(); err != nil {
		return "", err
	}
	bp := c.bufs.Get().(*[]byte)
	defer c.bufs.Put(bp)
	n, err := f.ReadAt(*bp, i*c.chunkSize)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read chunk %d of %s: %w", i, name, err)
	}
	if err := same(); err != nil {
		return "", err
	}
	return string((*bp)[:n]), nil
}

// held splits keys into those the local tier holds, which need no asking
// (exist[i] is set), and those to ask Redis about: ask[k] is keys[at[k]].
func (c *Cache) held(keys []string) (exist []bool, ask []string, at []int) {
	exist = make([]bool, len(keys))
	for i, k := range keys {
		if c.local != nil && c.local.has(k) {
			exist[i] = true
			continue
		}
		ask, at = append(ask, k), append(at, i)
	}
	return exist, ask, at
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

// Stats are counters of a Cache's work since it was made.
type Stats struct {
	Hits        int64 // chunks found in Redis
	LocalHits   int64 // chunks found in the local tier
	LocalBytes  int64 // bytes served from the local tier
	LocalHeld   int64 // bytes the local tier holds now (not a counter)
	Misses      int64 // chunks read from disk
	RedisBytes  int64 // bytes served from chunks found in Redis
	DiskBytes   int64 // bytes read from disk for chunks
	Fills       int64 // chunks written to Redis after a miss
	FillErrors  int64 // chunk writes that failed
	FillDropped int64 // chunks not cached because the write queue was full
}

type counters struct {
	hits, localHits, localBytes, misses, redisBytes, diskBytes, fills, fillErrors, fillDropped atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Hits:        c.hits.Load(),
		LocalHits:   c.localHits.Load(),
		LocalBytes:  c.localBytes.Load(),
		Misses:      c.misses.Load(),
		RedisBytes:  c.redisBytes.Load(),
		DiskBytes:   c.diskBytes.Load(),
		Fills:       c.fills.Load(),
		FillErrors:  c.fillErrors.Load(),
		FillDropped: c.fillDropped.Load(),
	}
}

// String returns the X-Cache value for s: MISS, HIT, PARTIAL or BYPASS.
func (s Status) String() string {
	switch s {
	case Hit:
		return "HIT"
	case Partial:
		return "PARTIAL"
	case Bypass:
		return "BYPASS"
	}
	return "MISS"
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

// Store returns the cache's Redis store, nil when the cache is off.
func (c *Cache) Store() *Store { return c.store }

// Key returns the Redis key of chunk i of this version of the file. The
// cache must have a store.
func (f *File) Key(i int64) string { return f.c.store.Key(f.version, f.c.chunkSize, i) }

// ReadChunk reads chunk i from the open file into buf, which must hold a
// chunk, and returns the chunk's bytes. It fails with ErrChanged when the
// file is no longer the version it was opened at, so that bytes of a new
// version are never stored under the old version's key.
func (f *File) ReadChunk(i int64, buf []byte) ([]byte, error) {
	start, end := f.geo.Bounds(i)
	n := end - start
	if int64(len(buf)) < n {
		return nil, fmt.Errorf("read chunk %d of %s: buffer of %d bytes for %d", i, f.name, len(buf), n)
	}
	m, err := f.f.ReadAt(buf[:n], start)
	if err != nil && !(errors.Is(err, io.EOF) && int64(m) == n) {
		if errors.Is(err, io.EOF) {
			err = ErrChanged // shorter than when opened
		}
		return nil, fmt.Errorf("read chunk %d of %s: %w", i, f.name, err)
	}
	fi, err := f.f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read chunk %d of %s: %w", i, f.name, err)
	}
	if f.c.versionOf(f.name, fi) != f.version {
		return nil, fmt.Errorf("read chunk %d of %s: %w", i, f.name, ErrChanged)
	}
	return buf[:n], nil
}

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

// versionOf returns the version of name with info fi, per the options.
func (c *Cache) versionOf(name string, fi fs.FileInfo) string {
	if c.shared {
		return SharedVersionOf(name, fi)
	}
	return VersionOf(fi)
}

// CheckRoot reports whether the media root can be read.
func (c *Cache) CheckRoot() error {
	if _, err := c.root.Stat("."); err != nil {
		return fmt.Errorf("media root: %w", err)
	}
	return nil
}

// CheckRedis asks Redis, around the breaker, whether it answers: "up",
// "down", or "off" when the cache is off.
func (c *Cache) CheckRedis(ctx context.Context) string {
	if c.store == nil {
		return "off"
	}
	if err := c.store.Ping(ctx); err != nil {
		return "down"
	}
	return "up"
}

// ErrWrite wraps the error of a writer that WriteRange wrote to, so that
// callers can tell a client that went away from a failed read.
var ErrWrite = errors.New("chunker: write failed")

// WriteRange writes the n bytes at off to w, a window's piece at a time,
// straight from the chunk data: no copy into an intermediate buffer, and one
// write per piece rather than one per 32 KiB. It returns the bytes written.
// Read errors are returned as ReadAt returns them; w's errors wrap ErrWrite.
func (f *File) WriteRange(w io.Writer, off, n int64) (int64, error) {
	if off < 0 || n < 0 {
		return 0, fmt.Errorf("write range %d+%d of %s: negative", off, n, f.name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	end := min(off+n, f.geo.Size)
	var written int64
	for off < end {
		pc, err := f.piece(off)
		if err != nil {
			return written, err
		}
		s := pc.data[off-pc.off : min(pc.n, end-pc.off)]
		// The piece's string is immutable and w only reads the slice.
		m, err := w.Write(unsafe.Slice(unsafe.StringData(s), len(s)))
		written += int64(m)
		f.count(pc, m)
		off += int64(m)
		if err != nil {
			return written, fmt.Errorf("%w: %w", ErrWrite, err)
		}
	}
	if written < n {
		return written, io.EOF
	}
	return written, nil
}
