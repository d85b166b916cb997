// Package faststart presents an MP4 or MOV whose moov follows its mdat as
// the same-size file with the moov first ("fast start"), so that a player
// can start after reading the file's head instead of seeking to its end
// first. Only the moov is rewritten (its stco/co64 chunk offsets moved by
// the moov's length, with github.com/abema/go-mp4 reading and writing those
// boxes in place);
// every other byte is read from the file itself, through its cached
// chunks. The patched moov of each file version is kept in the cache's
// metadata values, so every instance shares it, and in a bounded map in
// memory.
package faststart

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/singleflight"

	"github.com/reelcache/reelcache/chunker"
)

// DefaultOn is whether the server presents moov-at-end files with the moov
// first unless configured otherwise (media.faststart).
const DefaultOn = true

// Defaults of Options.
const (
	// DefaultMaxMoov is the longest moov rewritten: a two-hour film's is
	// a few MB.
	DefaultMaxMoov = 64 << 20
	// DefaultMemory is the most bytes of patched moovs kept in memory.
	DefaultMemory = 64 << 20
)

// maxBuilds is how many plans of different versions are built at once;
// each holds up to MaxMoov bytes of moov.
const maxBuilds = 2

// metaKind is the kind of the metadata value a plan is stored under.
const metaKind = "faststart"

// etagSuffix ends a view's ETag, after the file version's: it names the
// rewrite (bump it when the view of a file could change).
const etagSuffix = "-fs1"

// Meta is what Views needs from a chunker.Cache: the per-version metadata
// values.
type Meta interface {
	Meta(ctx context.Context, version, kind string) ([]byte, error)
	SetMeta(ctx context.Context, version, kind string, val []byte) error
}

// Options configure Views. Zero means the default.
type Options struct {
	// Meta stores plans under the file version. Nil keeps them in memory
	// only.
	Meta Meta
	// MaxMoov is the longest moov rewritten; a file with a longer one is
	// served as it is. Default DefaultMaxMoov.
	MaxMoov int64
	// Memory bounds the bytes of the plans kept in memory. Default
	// DefaultMemory.
	Memory int64
}

// Views makes fast-start views of files. It is safe for concurrent use.
type Views struct {
	meta    Meta
	maxMoov int64
	group   singleflight.Group // by version: one build of a version at a time
	builds  chan struct{}      // one slot per build in progress: bounds the moovs in memory

	mu    sync.Mutex       // protects the three below
	plans map[string]*Plan // version -> plan; nil: nothing to rewrite
	order []string         // versions in plans, oldest first
	bytes int64            // moov bytes in plans
	limit int64            // the most bytes
}

// New returns Views.
func New(opts Options) *Views {
	if opts.MaxMoov <= 0 {
		opts.MaxMoov = DefaultMaxMoov
	}
	if opts.Memory <= 0 {
		opts.Memory = DefaultMemory
	}
	return &Views{meta: opts.Meta, maxMoov: opts.MaxMoov, plans: make(map[string]*Plan), limit: opts.Memory,
		builds: make(chan struct{}, maxBuilds)}
}

// Versioned is a File of one version: a *chunker.File.
type Versioned interface {
	File
	Version() string
}

// View returns the fast-start view of f, or nil when f is served as it
// is: its moov is already first, it is not an MP4 Build can rewrite, or it
// is one Build refused (the error says why; serve f as it is). Its moov is
// read through f once per version and instance at most, or not at all
// when another instance stored the plan.
func (v *Views) View(ctx context.Context, f Versioned) (*View, error) {
	version := f.Version()
	p, ok := v.cached(version)
	if !ok {
		// Do, not DoChan: the build reads through f, which the caller
		// closes once View returns. A caller that leaves cancels f's
		// reads, which ends the build.
		r, err, _ := v.group.Do(version, func() (any, error) {
			return v.plan(ctx, f, version)
		})
		if err != nil {
			return nil, err
		}
		p = r.(*Plan)
	}
	if p == nil {
		return nil, nil
	}
	return NewView(f, p, version+etagSuffix), nil
}

// plan finds the plan of version: in memory, in the metadata values, or
// built (and stored in both). A refusal (ErrTooBig, ErrUnsupported,
// ErrMalformed) is remembered as no plan; read errors are not.
//
// The top-level box headers are read first: a file with nothing to move
// (its moov first, or not a plain MP4: most files of a library, each read
// once in a long tail) costs those reads, which its response makes anyway,
// and no metadata round trip or write; only a moov-at-end file asks the
// metadata values for its plan and stores the one it builds.
func (v *Views) plan(ctx context.Context, f Versioned, version string) (*Plan, error) {
	if p, ok := v.cached(version); ok {
		return p, nil
	}
	top, err := scan(ctx, f, f.Size())
	if err != nil {
		return nil, err
	}
	if !top.movable() {
		v.remember(version, nil)
		return nil, nil
	}
	if v.meta != nil {
		val, err := v.meta.Meta(ctx, version, metaKind)
		if err == nil {
			if p, err := decodePlan(val, f.Size()); err == nil {
				v.remember(version, p)
				return p, nil
			}
		}
	}
	select {
	case v.builds <- struct{}{}:
		defer func() { <-v.builds }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p, err := top.build(f, v.maxMoov)
	refused := errors.Is(err, ErrTooBig) || errors.Is(err, ErrUnsupported) || errors.Is(err, ErrMalformed)
	if err != nil && !refused {
		return nil, err
	}
	v.remember(version, p)
	if v.meta != nil {
		// Best effort: with Redis away, each instance builds its own.
		_ = v.meta.SetMeta(ctx, version, metaKind, encodePlan(p))
	}
	if err != nil {
		return nil, fmt.Errorf("served as it is: %w", err)
	}
	return p, nil
}

// cached returns the plan of version kept in memory.
func (v *Views) cached(version string) (*Plan, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	p, ok := v.plans[version]
	return p, ok
}

// maxVersions bounds the versions remembered, plans or not.
const maxVersions = 4096

// remember keeps p as the plan of version, forgetting the oldest past the
// bounds.
func (v *Views) remember(version string, p *Plan) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.plans[version]; ok {
		return
	}
	n := int64(0)
	if p != nil {
		n = int64(len(p.Moov))
	}
	if n > v.limit {
		return // too big to keep: the metadata value has it
	}
	for len(v.order) > 0 && (v.bytes+n > v.limit || len(v.order) >= maxVersions) {
		old := v.order[0]
		v.order = v.order[1:]
		if op := v.plans[old]; op != nil {
			v.bytes -= int64(len(op.Moov))
		}
		delete(v.plans, old)
	}
	v.plans[version] = p
	v.order = append(v.order, version)
	v.bytes += n
}

var _ Versioned = (*chunker.File)(nil)
