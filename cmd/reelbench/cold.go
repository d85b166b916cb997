package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/reelcache/reelcache/internal/load"
)

// cold runs seeks of many clients over a few files against a server whose
// cache was just emptied, and compares the bytes it read from disk
// (reelcache_origin_bytes_total on its /metrics) with the distinct chunk
// bytes the clients touched: stampede protection makes them equal.
func cold(ctx context.Context, cfg load.Config, chunk int64, nfiles int, out io.Writer) error {
	slices.SortFunc(cfg.Files, func(a, b load.File) int { return strings.Compare(a.Name, b.Name) })
	cfg.Files = cfg.Files[:min(nfiles, len(cfg.Files))]
	tch := newTouched(chunk, cfg.Files)
	cfg.OnRead = tch.add
	t := target{name: cfg.BaseURL, urls: []string{cfg.BaseURL}}
	before, err := t.read()
	if err != nil || !before.reelcache {
		return fmt.Errorf("%s: no reelcache metrics (%v)", cfg.BaseURL, err)
	}
	res, err := load.Run(ctx, cfg)
	if err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond) // reads still finishing for clients that left
	after, err := t.read()
	if err != nil {
		return err
	}
	distinct := tch.bytes()
	origin := after.originOwn - before.originOwn
	fmt.Fprintln(out, "| clients | files | requests | bytes served | served MB: Redis / tier / origin | distinct chunk bytes touched | origin bytes read | origin / distinct |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|")
	fmt.Fprintf(out, "| %d | %d | %d | %d | %s / %s / %s | %d | %.0f | %.3f |\n", cfg.Clients, len(cfg.Files), res.Requests, res.Bytes,
		mb((after.redis-before.redis)/1e6), mb((after.local-before.local)/1e6), mb((after.disk-before.disk)/1e6),
		distinct, origin, origin/float64(max(1, distinct)))
	return nil
}

// touched collects the distinct chunks that reads covered. It is safe for
// concurrent use.
type touched struct {
	chunk int64
	sizes map[string]int64
	mu    sync.Mutex
	set   map[chunkID]bool // protected by mu
}

type chunkID struct {
	name string
	i    int64
}

func newTouched(chunk int64, files []load.File) *touched {
	t := &touched{chunk: chunk, sizes: map[string]int64{}, set: map[chunkID]bool{}}
	for _, f := range files {
		t.sizes[f.Name] = f.Size
	}
	return t
}

// add records that n bytes at off of name were read: a load.Config.OnRead.
func (t *touched) add(name string, off, n int64) {
	if n <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := off / t.chunk; i <= (off+n-1)/t.chunk; i++ {
		t.set[chunkID{name, i}] = true
	}
}

// bytes returns the bytes of the chunks touched (the last chunk of a file
// counts its true length).
func (t *touched) bytes() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var sum int64
	for k := range t.set {
		sum += min(t.chunk, t.sizes[k.name]-k.i*t.chunk)
	}
	return sum
}
