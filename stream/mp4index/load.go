package mp4index

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// MetaKind is the metadata kind under which the stored form lives.
const MetaKind = "mp4index"

// MetaStore is what a Loader needs from a chunker.Cache: metadata values
// shared by every instance, and the lease that lets one of them build.
type MetaStore interface {
	Meta(ctx context.Context, version, kind string) ([]byte, error)
	SetMeta(ctx context.Context, version, kind string, val []byte) error
	MetaLease(ctx context.Context, version, kind string, ttl time.Duration) (bool, func(), error)
}

// File is one version of a file, as a *chunker.File is.
type File interface {
	io.ReaderAt
	Size() int64
	Version() string
}

// Media is a loaded index with its tracks' samples expanded, shared by
// every request for the same version. Do not modify it.
type Media struct {
	*Index
	Samples []*Samples // one per Tracks entry; nil for a fragmented source
	bytes   int64
}

// LoaderOptions configure a Loader; zero means the default.
type LoaderOptions struct {
	Parse Options
	// MaxBytes bounds the expanded indexes kept in memory
	// (DefaultMaxBytes, 256 MiB: twenty two-hour films).
	MaxBytes int64
	// Wait is how long a request waits for another instance that holds
	// the lease to store the index, before parsing it itself
	// (DefaultWait).
	Wait time.Duration
}

// Defaults of LoaderOptions.
const (
	DefaultMaxBytes = 256 << 20
	DefaultWait     = 5 * time.Second
)

// Loader returns the Media of file versions: from memory, else the shared
// store, else by parsing the file (one instance at a time, under
// MetaLease) and storing the result. Parse failures (ErrNotMP4,
// ErrUnsupported, ErrBad) are remembered in memory like indexes. It is
// safe for concurrent use.
type Loader struct {
	store MetaStore
	opts  LoaderOptions
	group singleflight.Group

	mu    sync.Mutex               // protects the fields below
	lru   *list.List               // of *entry, most recent first
	byVer map[string]*list.Element // version -> element of lru
	bytes int64
}

type entry struct {
	version string
	m       *Media
	err     error
}

// NewLoader returns a Loader over store (nil: nothing shared, every
// instance parses for itself).
func NewLoader(store MetaStore, opts LoaderOptions) *Loader {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Wait <= 0 {
		opts.Wait = DefaultWait
	}
	return &Loader{store: store, opts: opts, lru: list.New(), byVer: make(map[string]*list.Element)}
}

// Load returns the Media of f's version.
func (l *Loader) Load(ctx context.Context, f File) (*Media, error) {
	v := f.Version()
	if m, err, ok := l.get(v); ok {
		return m, err
	}
	ch := l.group.DoChan(v, func() (any, error) {
		m, err := l.build(context.WithoutCancel(ctx), f)
		var bad bool
		if err != nil {
			bad = errors.Is(err, ErrNotMP4) || errors.Is(err, ErrUnsupported) || errors.Is(err, ErrBad)
		}
		if err == nil || bad {
			l.put(v, m, err)
		}
		return m, err
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Media), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// build finds the stored index or parses f.
func (l *Loader) build(ctx context.Context, f File) (*Media, error) {
	v := f.Version()
	if l.store == nil {
		return l.parse(ctx, f)
	}
	if m, ok := l.stored(ctx, v); ok {
		return m, nil
	}
	ok, release, err := l.store.MetaLease(ctx, v, MetaKind, 30*time.Second)
	if err == nil && !ok {
		// Another instance builds it: wait for its value.
		deadline := time.Now().Add(l.opts.Wait)
		for time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			if m, ok := l.stored(ctx, v); ok {
				return m, nil
			}
		}
	}
	if ok {
		defer release()
	}
	m, err := l.parse(ctx, f)
	if err != nil {
		return nil, err
	}
	if b, err := Marshal(m.Index); err == nil {
		// A failure to store is not the viewer's: the next request tries again.
		_ = l.store.SetMeta(ctx, v, MetaKind, b)
	}
	return m, nil
}

// stored returns the index stored for version v, if any and readable.
func (l *Loader) stored(ctx context.Context, v string) (*Media, bool) {
	b, err := l.store.Meta(ctx, v, MetaKind)
	if err != nil {
		return nil, false
	}
	x, err := Unmarshal(b)
	if err != nil {
		return nil, false
	}
	m, err := expand(x)
	if err != nil {
		return nil, false
	}
	return m, true
}

func (l *Loader) parse(ctx context.Context, f File) (*Media, error) {
	x, err := Parse(ctx, f, f.Size(), l.opts.Parse)
	if err != nil {
		return nil, err
	}
	return expand(x)
}

// expand returns x with its samples expanded.
func expand(x *Index) (*Media, error) {
	m := &Media{Index: x, bytes: 1024}
	if x.Fragmented {
		return m, nil
	}
	for i := range x.Tracks {
		s, err := x.Tracks[i].Samples()
		if err != nil {
			return nil, fmt.Errorf("track %d: %w", x.Tracks[i].ID, err)
		}
		m.Samples = append(m.Samples, s)
		m.bytes += int64(len(s.Off))*24 + int64(len(s.Sync))*4 + int64(len(x.Tracks[i].Sizes))*4
	}
	return m, nil
}

func (l *Loader) get(v string) (*Media, error, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.byVer[v]
	if !ok {
		return nil, nil, false
	}
	l.lru.MoveToFront(e)
	en := e.Value.(*entry)
	return en.m, en.err, true
}

func (l *Loader) put(v string, m *Media, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.byVer[v]; ok {
		return
	}
	l.byVer[v] = l.lru.PushFront(&entry{v, m, err})
	l.bytes += size(m)
	for l.bytes > l.opts.MaxBytes && l.lru.Len() > 1 {
		last := l.lru.Back()
		en := last.Value.(*entry)
		l.lru.Remove(last)
		delete(l.byVer, en.version)
		l.bytes -= size(en.m)
	}
}

func size(m *Media) int64 {
	if m == nil {
		return 64
	}
	return m.bytes
}
