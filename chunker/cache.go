package chunker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
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
)

// Options configure a Cache. The zero value of each field but Origin (or
// Root) means its default.
type Options struct {
	// Origin is where the media lives. Required, unless Root is set.
	Origin Origin

	// Root, when Origin is nil, makes the origin the directory it
	// confines (NewDir with SharedVersions).
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
	// Default 64. Chunks being read or written to be cached hold their
	// size of the in-flight budget (MaxInflightBytes) until they are
	// written and no reader holds them; a chunk that finds no room is
	// read in the pieces viewers ask for and not cached.
	FillQueue int

	// MinUses is how many different requests must miss a chunk before it
	// is cached (see admission); 0 or 1, the default, caches every miss.
	MinUses int

	// Settle is how long after an origin object last changed (its
	// Info.ChangedAt) its bytes are served but not cached: an in-place
	// rewrite may still be copying its data (see File.settled). Writes
	// that take longer than this are not covered; replace files by
	// rename. Default 2s.
	Settle time.Duration

	// SharedVersions is DirOptions.SharedVersions for the origin made
	// from Root.
	SharedVersions bool

	// Logger for background errors. Default slog.Default().
	Logger *slog.Logger

	// purgePing is how long the purge subscription may stay quiet before
	// it is pinged (see watchPurges). Default purgePingEvery; tests
	// shorten it.
	purgePing time.Duration
}

// Cache opens objects of an origin and reads them chunk by chunk from the
// local tier and Redis, falling back to the origin. It is safe for
// concurrent use. Close it to wait for background writes.
type Cache struct {
	origin    Origin
	store     *Store
	chunkSize int64
	fill      FillMode
	window    int
	log       *slog.Logger

	settle time.Duration
	owner  string     // names this Cache in fill leases
	admit  *admission // nil: every miss is cached

	mem    *semaphore.Weighted // in-flight chunk bytes
	memCap int64
	used   atomic.Int64 // bytes taken from mem
	open   atomic.Int64 // Files open, to share mem between them

	flightMu sync.Mutex         // protects flights
	flights  map[string]*flight // chunks being read to be cached, or waiting for their write, by key
	scratch  sync.Pool          // *[]byte of scratchSize, for direct reads written out
	// scratchHeld counts the scratch buffers Files hold (Stats.Scratch).
	scratchHeld atomic.Int64

	fillMu     sync.RWMutex // guards sending on fillq against closing it
	fillClosed bool         // fillq is closed; protected by fillMu
	fillq      chan *flight
	fillWG     sync.WaitGroup
	closeOnce  sync.Once

	local    *localTier         // nil when off
	stopWait context.CancelFunc // stops watchPurges; nil when it does not run
	watchWG  sync.WaitGroup
	watching chan struct{} // closed once watchPurges has subscribed (tests)
	ping     time.Duration // Options.purgePing
	nextID   atomic.Uint64 // numbers Files, for the local tier's admission

	stats counters

	lastFillLog atomic.Int64 // unix nanoseconds of the last fill error logged
}

// New returns a Cache. It starts the background writers when the store is
// set and Fill is FillAsync.
func New(opts Options) (*Cache, error) {
	if opts.Origin == nil && opts.Root != nil {
		opts.Origin = NewDir(opts.Root, DirOptions{SharedVersions: opts.SharedVersions})
	}
	if opts.Origin == nil {
		return nil, errors.New("chunker: Options.Origin (or Root) is required")
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
	if opts.Settle <= 0 {
		opts.Settle = 2 * time.Second
	}
	if opts.purgePing <= 0 {
		opts.purgePing = purgePingEvery
	}
	c := &Cache{
		origin:    opts.Origin,
		store:     opts.Store,
		chunkSize: opts.ChunkSize,
		fill:      opts.Fill,
		window:    opts.Window,
		log:       opts.Logger,
		settle:    opts.Settle,
		owner:     newOwner(),
		flights:   make(map[string]*flight),
		mem:       semaphore.NewWeighted(opts.MaxInflightBytes),
		memCap:    opts.MaxInflightBytes,
		ping:      opts.purgePing,
	}
	if opts.MinUses > 1 {
		// Remember several times the chunks the budget could hold.
		c.admit = newAdmission(opts.MinUses, int(max(4096, 4*opts.MaxInflightBytes/c.chunkSize)))
	}
	if opts.LocalBytes > 0 && c.store != nil {
		c.local = newLocalTier(opts.LocalBytes, c.chunkSize)
		ctx, cancel := context.WithCancel(context.Background())
		c.stopWait, c.watching = cancel, make(chan struct{})
		c.watchWG.Add(1)
		go func() { defer c.watchWG.Done(); c.watchPurges(ctx, c.watching) }()
	}
	c.scratch.New = func() any { b := make([]byte, scratchSize); return &b }
	if c.store != nil && c.fill == FillAsync {
		c.fillq = make(chan *flight, opts.FillQueue)
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
	})
	return nil
}

// ChunkSize returns the chunk size in bytes.
func (c *Cache) ChunkSize() int64 { return c.chunkSize }

// Enabled reports whether reads may use Redis now: a store is configured
// and its breaker is closed (or ready to probe).
func (c *Cache) Enabled() bool { return c.store != nil && c.store.Available() }

// Store returns the cache's Redis store, nil when the cache is off.
func (c *Cache) Store() *Store { return c.store }

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
