// Package cachewarm fills the Redis chunk cache ahead of viewers, reports
// what is cached, and purges it. It uses the same keys as the server, so
// serve hits everything warm wrote.
package cachewarm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/internal/defaults"
)

// Mode says which chunks of a file to warm.
type Mode int

const (
	Full  Mode = iota // every chunk
	Head              // the first Options.Head bytes
	Edges             // the head and the last Options.Head bytes
)

// modeNames are the names ParseMode reads.
var modeNames = [...]string{Full: "full", Head: "head", Edges: "edges"}

// ParseMode parses "full", "head" or "edges".
func ParseMode(s string) (Mode, error) {
	if i := slices.Index(modeNames[:], s); i >= 0 {
		return Mode(i), nil
	}
	return 0, fmt.Errorf("unknown mode %q (want full, head or edges)", s)
}

// Options configure Warm. The zero value of each field but Cache means its
// default.
type Options struct {
	// Cache opens the files and holds the store; it must have a store.
	Cache *chunker.Cache

	Mode Mode
	// Head is the bytes warmed at each end in Head and Edges modes.
	// Default 8 MiB.
	Head int64
	// Force rewrites chunks that are already cached.
	Force bool
	// DryRun plans and writes nothing.
	DryRun bool
	// Concurrency is the number of workers. Default 4.
	Concurrency int
	// Depth is the number of chunks per pipelined write. Default: 4 MiB
	// worth (4 chunks of 1 MiB, 64 of 64 KiB), so that small chunks do not
	// pay a round trip each. Peak memory is about Concurrency x Depth x
	// chunk size: 16 MiB by default.
	Depth int
	// Progress, when set, is called after each write, from the workers.
	Progress func(Progress)
	// Logger receives warnings. Default slog.Default().
	Logger *slog.Logger
}

// Progress is a snapshot of a running warm.
type Progress struct {
	Chunks, ChunksDone int64 // to write, written or failed so far
	Bytes, BytesDone   int64
}

// Failure is one chunk that could not be warmed.
type Failure struct {
	File  string `json:"file"`
	Chunk int64  `json:"chunk"` // -1 when the whole file failed
	Err   string `json:"error"`
}

// Report is what Warm did, or with DryRun would do.
type Report struct {
	Files       int           `json:"files"`
	Chunks      int64         `json:"chunks"`  // chunks the mode selects
	Cached      int64         `json:"cached"`  // of those, already in Redis
	Written     int64         `json:"written"` // chunks stored
	Skipped     int64         `json:"skipped"` // already cached, not rewritten
	Failed      int64         `json:"failed"`  // chunks not stored
	Bytes       int64         `json:"bytes"`   // bytes planned to write
	BytesDone   int64         `json:"bytes_written"`
	Duration    time.Duration `json:"duration_ns"`
	Throughput  float64       `json:"bytes_per_second"`
	DryRun      bool          `json:"dry_run"`
	Interrupted bool          `json:"interrupted"`
	Warnings    []string      `json:"warnings,omitempty"`
	Failures    []Failure     `json:"failures,omitempty"`
}

// Warm warms the named files (names relative to the root; see Resolve).
// It returns a Report even when ctx ends early (Interrupted set) and an
// error only when nothing could be done at all (no store, Redis down).
func Warm(ctx context.Context, names []string, opts Options) (*Report, error) {
	if opts.Cache == nil || opts.Cache.Store() == nil {
		return nil, errors.New("cachewarm: the cache is off (redis.url is empty)")
	}
	opts.Head = defaults.Positive(opts.Head, 8<<20)
	opts.Concurrency = defaults.Positive(opts.Concurrency, 4)
	opts.Depth = defaults.Positive(opts.Depth, int(max(1, (4<<20)/opts.Cache.ChunkSize())))
	opts.Logger = cmp.Or(opts.Logger, slog.Default())
	store := opts.Cache.Store()
	if err := store.Ping(ctx); err != nil {
		return nil, err
	}
	start := time.Now()
	rep := &Report{DryRun: opts.DryRun}
	batches, err := plan(ctx, names, opts, rep)
	if err != nil {
		return rep, err
	}
	if err := checkMemory(ctx, store, rep); err != nil {
		rep.Warnings = append(rep.Warnings, err.Error())
	}
	for _, w := range rep.Warnings {
		opts.Logger.Warn(w)
	}
	if !opts.DryRun {
		execute(ctx, batches, opts, rep)
	}
	rep.Interrupted = ctx.Err() != nil
	rep.Duration = time.Since(start)
	if s := rep.Duration.Seconds(); s > 0 {
		rep.Throughput = float64(rep.BytesDone) / s
	}
	return rep, nil
}

// execute writes the batches with opts.Concurrency workers, each with its
// own Depth chunk buffers.
func execute(ctx context.Context, batches []batch, opts Options, rep *Report) {
	var (
		mu    sync.Mutex // protects rep.Failures
		done  atomic.Int64
		bdone atomic.Int64
		fail  atomic.Int64
		wrote atomic.Int64
	)
	total := int64(0)
	for _, b := range batches {
		total += int64(len(b.chunks))
	}
	failed := func(name string, chunk int64, err error) {
		fail.Add(1)
		mu.Lock()
		rep.Failures = append(rep.Failures, Failure{File: name, Chunk: chunk, Err: err.Error()})
		mu.Unlock()
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for _, b := range batches {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			n, nb := writeBatch(gctx, opts.Cache, b, opts.Force, failed)
			wrote.Add(n)
			done.Add(int64(len(b.chunks)))
			bdone.Add(nb)
			if opts.Progress != nil {
				opts.Progress(Progress{Chunks: total, ChunksDone: done.Load(), Bytes: rep.Bytes, BytesDone: bdone.Load()})
			}
			return nil
		})
	}
	g.Wait()
	rep.Written = wrote.Load()
	rep.BytesDone = bdone.Load()
	rep.Failed = fail.Load()
	// Chunks never attempted because of an interrupt are neither written
	// nor failed: the summary says the run was interrupted.
	slices.SortFunc(rep.Failures, func(a, b Failure) int {
		if a.File != b.File {
			if a.File < b.File {
				return -1
			}
			return 1
		}
		return int(a.Chunk - b.Chunk)
	})
}

// writeBatch reads b's chunks through the cache's read path
// (chunker.Cache.OpenWarm): each miss is read whole from the origin and
// written to Redis before the next; with force, cached chunks are read and
// written again. It returns the chunks and bytes stored.
func writeBatch(ctx context.Context, c *chunker.Cache, b batch, force bool, failed func(string, int64, error)) (int64, int64) {
	f, err := openSettled(ctx, c, b.name, force)
	if err != nil {
		for _, i := range b.chunks {
			failed(b.name, i, err)
		}
		return 0, 0
	}
	defer f.Close()
	if f.Version() != b.version {
		for _, i := range b.chunks {
			failed(b.name, i, fmt.Errorf("changed since warming began: %w", chunker.ErrChanged))
		}
		return 0, 0
	}
	var n, nb int64
	for _, i := range b.chunks {
		start, end := f.Geometry().Bounds(i)
		if _, err := f.WriteRange(io.Discard, start, end-start); err != nil {
			failed(b.name, i, err)
			continue
		}
		n++
		nb += end - start
	}
	return n, nb
}

// openSettled opens name once its bytes may be cached: a file changed a
// moment ago (copied in just before the warm, say) is waited for, as the
// server would not cache it either (chunker.File.Unsettled).
func openSettled(ctx context.Context, c *chunker.Cache, name string, force bool) (*chunker.File, error) {
	for {
		f, err := c.OpenWarm(ctx, name, force)
		if err != nil {
			return nil, err
		}
		d := f.Unsettled()
		if d == 0 {
			return f, nil
		}
		f.Close()
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
