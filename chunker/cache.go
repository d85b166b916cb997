package chunker

import (
	"github.com/reelcache/reelcache/chunker/local"
	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/internal/defaults"

	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Errors a File returns. Callers test with errors.Is.
var (
	// ErrNotRegular: the name is a directory or a device, not a file.
	ErrNotRegular = errors.New("chunker: not a regular file")
	// ErrChanged: the file on disk is no longer the version being served,
	// so no more of it may be sent; the client should ask again.
	ErrChanged = errors.New("chunker: file changed while being served")
	// ErrUnavailable: the cache is off, or Redis is not answering (the
	// store's breaker is open).
	ErrUnavailable = store.ErrUnavailable
)

// Defaults of Options. The server's configuration (package config) takes
// its defaults from these, so that a key's default and the field's agree.
const (
	DefaultChunkSize        = 1 << 20
	DefaultWindow           = 2
	DefaultMaxInflightBytes = 256 << 20
	DefaultFillQueue        = 64
	// DefaultLocalBytes is the server's local tier (cache.local_bytes):
	// chunk files in the page cache, not the heap, so it can be larger
	// than the process's memory budget. Options.LocalBytes 0 turns the
	// tier off.
	DefaultLocalBytes = 1 << 30
	// DefaultSettle is the server's settle window (cache.settle);
	// Options.Settle 0 means none.
	DefaultSettle = 2 * time.Second
	// DefaultMinUses is the server's admission (cache.min_uses): a chunk
	// enters Redis when a second request misses it, so a library watched
	// once per file costs no Redis write (issue 20: the long tail ran at
	// 0.47x nginx caching every miss, 1.15x like this), while a chunk two
	// viewers want is cached at once. Options.MinUses 0 or 1 caches every
	// miss; a prewarm caches regardless.
	DefaultMinUses = 2
	// DefaultHedge is the server's hedge (redis.hedge): how long a
	// response's first bytes wait for Redis before a local origin's file
	// sends them (hedge.go). Options.Hedge 0 waits for Redis.
	DefaultHedge = 20 * time.Millisecond
)

// Options configure a Cache. The zero value of each field but Origin means
// its default; for LocalBytes, Settle, MinUses and Hedge, whose zero is a
// setting of its own ("off", "none", "every miss", "wait"), the server's
// defaults are DefaultLocalBytes, DefaultSettle, DefaultMinUses and
// DefaultHedge.
type Options struct {
	// Origin is where the media lives (NewDir for a local directory, or
	// a remote origin from package origin). Required.
	Origin Origin

	// Store is the Redis chunk store; nil turns the cache off and every
	// read goes to the origin.
	Store *store.Store

	// ChunkSize in bytes. Default DefaultChunkSize (1 MiB).
	ChunkSize int64

	// Fill is what a miss does. Default FillAsync.
	Fill FillMode

	// Window is how many chunks one round trip to Redis fetches at most:
	// the chunk a read needs and the ones after it, up to the end of the
	// range being served. While a window is written to the client the
	// next one is fetched (read-ahead), so a File holds at most 2*Window
	// chunks. Default DefaultWindow (2).
	Window int

	// MaxInflightBytes caps the chunk bytes that all open Files hold at
	// once (each holds a window and a read-ahead window). A reader that
	// would pass it waits for room; read-ahead is skipped instead.
	// Default DefaultMaxInflightBytes (256 MiB).
	MaxInflightBytes int64

	// LocalBytes bounds the local tier: whole chunks this instance keeps
	// as files in front of Redis, for the chunks several requests read,
	// sent with sendfile (package local). 0 turns it off. It needs a
	// Store.
	LocalBytes int64

	// LocalDir is where the local tier makes its private directory.
	// Default os.TempDir(). The tier's bytes live in the page cache, not
	// the process's heap; put the directory on a fast disk (or a tmpfs)
	// with room for LocalBytes.
	LocalDir string

	// FillQueue is how many chunks may wait for a background write.
	// Default DefaultFillQueue (64). Chunks being read or written to be
	// cached hold their size of the in-flight budget (MaxInflightBytes)
	// until they are written and no reader holds them; a chunk that finds
	// no room is read in the pieces viewers ask for and not cached.
	FillQueue int

	// MinUses is how many different requests must miss a chunk before it
	// is cached (see admission); 0 or 1 caches every miss.
	MinUses int

	// Settle is how long after an origin object last changed (its
	// Info.ChangedAt) its bytes are served but not cached: an in-place
	// rewrite may still be copying its data (see File.settled). Writes
	// that take longer than this are not covered; replace files by
	// rename. 0 means no window (the server's default is DefaultSettle).
	Settle time.Duration

	// Hedge is how long a response's first window waits for Redis before
	// its bytes are sent from the origin's file instead, when the origin
	// is a local directory (hedge.go). 0 waits for Redis (up to the
	// store's timeout).
	Hedge time.Duration

	// Logger for background errors. Default slog.Default().
	Logger *slog.Logger

	// purgePing is how long the purge subscription may stay quiet before
	// it is pinged (see store.WatchPurges). Default store.PurgePingEvery;
	// tests shorten it.
	purgePing time.Duration
}

// Cache opens objects of an origin and reads them chunk by chunk from the
// local tier and Redis, falling back to the origin. It is safe for
// concurrent use. Close it to wait for background writes.
type Cache struct {
	origin    Origin
	store     *store.Store
	chunkSize int64
	fill      FillMode
	window    int
	hedge     time.Duration // Options.Hedge
	// fetching counts the window fetches in flight; busyFetches of them
	// mean Redis is queued (hedge.go).
	fetching    atomic.Int64
	busyFetches int64
	log         *slog.Logger

	settle *settleClock
	owner  string     // names this Cache in fill leases
	admit  *admission // nil: every miss is cached

	mem    *semaphore.Weighted // in-flight chunk bytes
	memCap int64
	used   atomic.Int64 // bytes taken from mem
	files  atomic.Int64 // Files open, to share mem between them

	flightMu sync.Mutex         // protects flights
	flights  map[string]*flight // chunks being read to be cached, or waiting for their write, by key
	scratch  sync.Pool          // *[]byte of scratchSize, for direct reads written out
	buffers  sync.Pool          // *[]byte for flights: a chunk and its value's header
	// scratchHeld counts the scratch buffers Files hold (Stats.Scratch).
	scratchHeld atomic.Int64

	fillMu     sync.RWMutex // guards sending on fillq against closing it
	fillClosed bool         // fillq is closed; protected by fillMu
	fillq      chan *flight
	fillWG     sync.WaitGroup
	closeOnce  sync.Once

	local     *local.Tier        // nil when off
	tierFills tierFills          // whole fetches for the local tier in flight
	stopWait  context.CancelFunc // stops WatchPurges; nil when it does not run
	watchWG   sync.WaitGroup
	watching  chan struct{} // closed once WatchPurges has subscribed (see PurgesWatched)
	ping      time.Duration // Options.purgePing
	nextID    atomic.Uint64 // numbers Files, for the local tier's admission

	stats counters

	lastFillLog atomic.Int64 // unix nanoseconds of the last fill error logged
}

// New returns a Cache. It starts the background writers when the store is
// set and Fill is FillAsync.
func New(opts Options) (*Cache, error) {
	if opts.Origin == nil {
		return nil, errors.New("chunker: Options.Origin is required")
	}
	opts.ChunkSize = cmp.Or(opts.ChunkSize, DefaultChunkSize)
	if opts.ChunkSize < 0 {
		return nil, fmt.Errorf("chunker: chunk size %d is negative", opts.ChunkSize)
	}
	opts.Window = defaults.Positive(opts.Window, DefaultWindow)
	opts.FillQueue = defaults.Positive(opts.FillQueue, DefaultFillQueue)
	opts.MaxInflightBytes = defaults.Positive(opts.MaxInflightBytes, DefaultMaxInflightBytes)
	opts.Logger = cmp.Or(opts.Logger, slog.Default())
	opts.Settle, opts.Hedge = max(opts.Settle, 0), max(opts.Hedge, 0)
	c := &Cache{
		origin:      opts.Origin,
		store:       opts.Store,
		chunkSize:   opts.ChunkSize,
		fill:        opts.Fill,
		window:      opts.Window,
		hedge:       opts.Hedge,
		busyFetches: busyFetches(),
		log:         opts.Logger,
		settle:      newSettleClock(opts.Settle),
		owner:       newOwner(),
		flights:     make(map[string]*flight),
		mem:         semaphore.NewWeighted(opts.MaxInflightBytes),
		memCap:      opts.MaxInflightBytes,
		ping:        opts.purgePing,
	}
	if opts.MinUses > 1 {
		// Remember several times the chunks the budget could hold.
		c.admit = newAdmission(opts.MinUses, int(max(4096, 4*opts.MaxInflightBytes/c.chunkSize)))
	}
	if opts.LocalBytes > 0 && c.store != nil {
		var err error
		c.local, err = local.New(local.Options{Dir: opts.LocalDir, MaxBytes: opts.LocalBytes, ChunkSize: c.chunkSize, Logger: c.log})
		if err != nil {
			return nil, fmt.Errorf("chunker: %w", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		c.stopWait, c.watching = cancel, make(chan struct{})
		c.watchWG.Add(1)
		go func() {
			defer c.watchWG.Done()
			c.store.WatchPurges(ctx, c.local, store.WatchOptions{Ping: c.ping, Ready: c.watching, Logger: c.log})
		}()
	}
	c.scratch.New = func() any { b := make([]byte, scratchSize); return &b }
	c.buffers.New = func() any { return new([]byte) }
	if c.store != nil && c.fill == FillAsync {
		c.fillq = make(chan *flight, opts.FillQueue)
		for range fillWriters {
			c.fillWG.Add(1)
			go c.filler()
		}
	}
	return c, nil
}

// Close stops the background writers after it has written what is queued,
// and removes the local tier's directory. Reads after Close are served but
// not cached.
func (c *Cache) Close() error {
	var err error
	c.closeOnce.Do(func() {
		if c.stopWait != nil {
			c.stopWait()
			c.watchWG.Wait()
		}
		if c.fillq != nil {
			c.fillMu.Lock()
			c.fillClosed = true
			close(c.fillq)
			c.fillMu.Unlock()
			c.fillWG.Wait()
		}
		if c.local != nil {
			err = c.local.Close()
		}
	})
	return err
}

// ChunkSize returns the chunk size in bytes.
func (c *Cache) ChunkSize() int64 { return c.chunkSize }

// Enabled reports whether reads may use Redis now: a store is configured
// and its breaker is closed (or ready to probe).
func (c *Cache) Enabled() bool { return c.store != nil && c.store.Available() }

// Store returns the cache's Redis store, nil when the cache is off.
func (c *Cache) Store() *store.Store { return c.store }

// CheckOrigin reports whether the origin can be read.
func (c *Cache) CheckOrigin(ctx context.Context) error { return c.origin.Check(ctx) }

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

// newOwner returns a random name for a Cache's fill leases.
func newOwner() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// PurgesWatched returns a channel closed once the cache has subscribed to
// purge announcements and read their count (store.WatchPurges); nil when it
// has no local tier or no Redis. Until then, Redis failing makes the tier
// empty itself (a purge may have been missed), so a caller that needs what
// the tier holds to stay there waits for it.
func (c *Cache) PurgesWatched() <-chan struct{} { return c.watching }
