// Package local is reelcache's local tier: whole chunks one instance keeps
// in front of the shared Redis, as files in a private directory, so that
// what many viewers watch is sent with sendfile(2) from the page cache
// (no round trip, no copy through the process, no garbage) and a viewer
// whose socket is full holds nothing but a file descriptor. This is how
// nginx's proxy_cache and CDN edges serve hot bytes.
//
// It is coherent for free: entries are keyed by the chunk's Redis key,
// which carries the file version, so a rewritten file has new keys and the
// old entries only wait to be evicted. A purge of Redis reaches it too
// (store.WatchPurges calls PurgeAll and PurgeVersions): what came from Redis
// may have been wrong there. Every purge applied moves the tier's
// generation, and a value read from Redis enters only if the generation has
// not moved since before the read (AddAt): a value fetched just before a
// purge cannot land in the tier after the purge emptied it.
//
// Admission keeps one-off reads out (Wanted): a chunk enters when a second
// request asks for it while the first is remembered, so a viewer reading a
// film alone, or a crawler, does not push out the chunks everybody watches.
// The requests seen are remembered per chunk in a bounded "doorkeeper" set
// that is cleared when full, like TinyLFU's.
//
// The files are trusted: the tier writes only bytes that passed their
// check (store.Codec) or came from the origin, into a directory of its own
// (mode 0700) that it empties when it starts and removes when it closes.
package local

import (
	"container/list"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Tier.
type Options struct {
	// Dir is where the tier makes its private directory (a new
	// "reelcache-tier-*" directory in it, removed by Close). Default
	// os.TempDir().
	Dir string
	// MaxBytes bounds the bytes of the chunks held. Required (> 0).
	MaxBytes int64
	// ChunkSize is the usual chunk size, to size the doorkeeper: it
	// remembers four times as many chunks as fit. Default 1 MiB.
	ChunkSize int64
	// Logger for write failures (a full disk), at most one line a minute.
	// Default slog.Default().
	Logger *slog.Logger
}

// Tier holds whole chunks as files, most recently used first, bounded in
// bytes. It is safe for concurrent use.
//
// A hand-written LRU rather than a library: the ones in wide use bound the
// number of entries, not bytes (hashicorp/golang-lru), or admit and evict
// asynchronously and by sampling (ristretto), which would make "read once,
// then served from the tier" untestable. This is the textbook list plus
// map.
type Tier struct {
	dir  string
	root *os.Root // dir, for opening entries by name
	lock *os.File // dir's lock file, locked while the tier lives (dir.go)
	log  *slog.Logger
	max  int64
	seq  atomic.Uint64 // names files; never reused
	last atomic.Int64  // unix nanoseconds of the last write failure logged

	mu      sync.Mutex // protects the fields below
	used    int64
	order   list.List // of *entry, most recently used at the front
	entries map[string]*list.Element
	seen    map[string]asked // chunk key -> who asked for it
	seenMax int
	gen     uint64 // purges applied: PurgeAll and PurgeVersions calls
	closed  bool
}

type entry struct {
	key  string
	file string // name in dir
	size int64
}

// New makes the tier's directory and returns the Tier.
func New(opts Options) (*Tier, error) {
	if opts.MaxBytes <= 0 {
		return nil, errors.New("local: MaxBytes must be positive")
	}
	if opts.Dir == "" {
		opts.Dir = os.TempDir()
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 1 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	dir, err := os.MkdirTemp(opts.Dir, "reelcache-tier-")
	if err != nil {
		return nil, fmt.Errorf("local tier: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("local tier: %w", err)
	}
	removeStale(opts.Dir, dir)
	root, err := os.OpenRoot(dir)
	if err != nil {
		lock.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("local tier: %w", err)
	}
	return &Tier{
		dir:     dir,
		root:    root,
		lock:    lock,
		log:     opts.Logger,
		max:     opts.MaxBytes,
		entries: make(map[string]*list.Element),
		seen:    make(map[string]asked),
		// Remember several times as many chunks as fit, so that a chunk
		// watched by two viewers a while apart still counts as wanted.
		seenMax: int(max(1024, 4*opts.MaxBytes/opts.ChunkSize)),
	}, nil
}

// Dir returns the tier's directory.
func (t *Tier) Dir() string { return t.dir }

// Close drops every chunk and removes the tier's directory. Descriptors
// handed out by Open stay readable until closed.
func (t *Tier) Close() error {
	t.mu.Lock()
	t.closed = true
	clear(t.entries)
	t.order.Init()
	t.used = 0
	t.mu.Unlock()
	err := t.root.Close()
	err = errors.Join(err, os.RemoveAll(t.dir))
	return errors.Join(err, t.lock.Close())
}

// Open returns a new descriptor of the chunk at key, positioned at its
// first byte, and marks the chunk recently used; the caller closes it. A
// chunk evicted while open stays readable through it.
func (t *Tier) Open(key string) (*os.File, bool) {
	t.mu.Lock()
	e, ok := t.entries[key]
	if !ok {
		t.mu.Unlock()
		return nil, false
	}
	t.order.MoveToFront(e)
	name := e.Value.(*entry).file
	t.mu.Unlock()
	f, err := t.root.Open(name)
	if err != nil {
		return nil, false // evicted (and unlinked) meanwhile
	}
	return f, true
}

// Has reports whether key is held, without marking it used.
func (t *Tier) Has(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.entries[key]
	return ok
}

// asked is what the tier remembers of the requests for a chunk it does not
// hold.
type asked struct {
	last  uint64 // the request that asked last
	twice bool   // another request asked before it
}

// Wanted records that request req asks for the chunk at key, and reports
// whether another request asked for it before: then it is worth holding.
// With take false the caller cannot fetch the chunk whole now: the request
// is counted, and a later one that can takes it. A chunk stays wanted
// until it is held: the fetch that took it may be dropped (read-ahead a
// slow client no longer needs) or fail, and the next one takes it then.
func (t *Tier) Wanted(key string, req uint64, take bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.entries[key]; ok {
		return false
	}
	a, ok := t.seen[key]
	if !ok && len(t.seen) >= t.seenMax {
		clear(t.seen)
	}
	a.twice = a.twice || (ok && a.last != req)
	a.last = req
	t.seen[key] = a
	return a.twice && take
}

// Generation returns the count of purges applied so far, for AddAt.
func (t *Tier) Generation() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.gen
}

// Add holds data, the whole chunk at key (it is copied into a file),
// evicting the least recently used chunks to stay within the bound. It
// reports whether key is held now. A chunk larger than the bound, or one
// the disk refuses, is not held.
func (t *Tier) Add(key string, data []byte) bool {
	return t.AddAt(t.Generation(), key, data)
}

// AddAt is Add for bytes read from Redis after Generation returned gen:
// when a purge was applied since, the bytes may be ones the purge removed,
// and they are not held.
func (t *Tier) AddAt(gen uint64, key string, data []byte) bool {
	n := int64(len(data))
	if n > t.max || t.Has(key) {
		return t.Has(key)
	}
	name := "c" + strconv.FormatUint(t.seq.Add(1), 36)
	if err := t.write(name, data); err != nil {
		t.logWrite(err)
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.entries[key]; ok || t.gen != gen || t.closed {
		t.root.Remove(name)
		return ok
	}
	for t.used+n > t.max {
		t.evictLocked(t.order.Back())
	}
	t.entries[key] = t.order.PushFront(&entry{key: key, file: name, size: n})
	t.used += n
	delete(t.seen, key)
	return true
}

// write stores data in the file name, whole or not at all.
func (t *Tier) write(name string, data []byte) error {
	f, err := t.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.root.Remove(name)
	}
	return err
}

func (t *Tier) logWrite(err error) {
	now := time.Now().UnixNano()
	last := t.last.Load()
	if now-last < int64(time.Minute) || !t.last.CompareAndSwap(last, now) {
		return
	}
	t.log.Warn("local tier: writing a chunk failed; serving goes on from Redis and the origin", "dir", t.dir, "err", err)
}

// evictLocked drops the entry e. t.mu must be held.
func (t *Tier) evictLocked(e *list.Element) {
	en := e.Value.(*entry)
	t.order.Remove(e)
	delete(t.entries, en.key)
	t.used -= en.size
	if err := t.root.Remove(en.file); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.logWrite(err)
	}
}

// PurgeAll drops every chunk and moves the generation.
func (t *Tier) PurgeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	for e := t.order.Front(); e != nil; {
		next := e.Next()
		t.evictLocked(e)
		e = next
	}
}

// PurgeVersions drops the chunks of the given file versions, whose keys
// start with prefix:c:version: (see store.Store.Key), and moves the
// generation.
func (t *Tier) PurgeVersions(prefix string, versions []string) {
	starts := make([]string, 0, len(versions))
	for _, v := range versions {
		if v != "" {
			starts = append(starts, prefix+":c:"+v+":")
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	for e := t.order.Front(); e != nil; {
		next := e.Next()
		key := e.Value.(*entry).key
		for _, s := range starts {
			if strings.HasPrefix(key, s) {
				t.evictLocked(e)
				break
			}
		}
		e = next
	}
}

// Size returns the bytes and chunks held.
func (t *Tier) Size() (bytes int64, chunks int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.used, len(t.entries)
}

// path returns the file of key, for tests.
func (t *Tier) path(key string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.entries[key]; ok {
		return filepath.Join(t.dir, e.Value.(*entry).file)
	}
	return ""
}
