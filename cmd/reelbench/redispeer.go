package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/store"
)

func redisPeerCommand(fs *flag.FlagSet) func(context.Context, io.Writer) error {
	root := fs.String("root", "", "media directory (reelcache's media.root)")
	rurl := fs.String("redis", "redis://127.0.0.1:6379/0", "Redis URL (reelcache's redis.url)")
	prefix := fs.String("prefix", "reelcache", "key prefix (redis.key_prefix)")
	chunk := fs.Int64("chunk", 1<<20, "chunk size in bytes (chunk.size)")
	shared := fs.Bool("shared-versions", false, "versions as cache.versions: shared computes them")
	window := fs.Int64("window", 2, "chunks fetched per pipeline (cache.readahead's ceiling)")
	serveOn := listenFlag(fs)
	return func(ctx context.Context, out io.Writer) error {
		if *root == "" || *chunk <= 0 || *window <= 0 {
			return errors.New("redispeer: -root, a positive -chunk and -window are required")
		}
		opt, err := redis.ParseURL(*rurl)
		if err != nil {
			return fmt.Errorf("redispeer: -redis: %w", err)
		}
		rdb := redis.NewClient(opt)
		defer rdb.Close()
		r, err := os.OpenRoot(*root)
		if err != nil {
			return err
		}
		defer r.Close()
		p := &redisPeer{
			dir: chunker.NewDir(r, chunker.DirOptions{SharedVersions: *shared}),
			// No fallback here: a slow Redis is an error, not a disk read.
			store:  store.New(store.Options{Client: rdb, Prefix: *prefix, Timeout: 10 * time.Second}),
			chunk:  *chunk,
			window: *window * *chunk,
		}
		return serveOn(ctx, p, out)
	}
}

// redisPeer is the Redis path at its simplest, the ceiling the benchmark
// reads reelcache's Redis-only figures against: a net/http handler that
// answers a single Range request from the chunks reelcache stores, with
// one go-redis pipeline (STRLEN and GETRANGE of the bytes needed, through
// store.Store) per window of up to window bytes, written as they come.
// Keys and versions come from package chunker (Store.Key, Dir), so it
// reads what `reelcache warm` and reelcache's fills wrote.
//
// It has none of reelcache's checks, read-ahead, tiers or fallback: a
// chunk missing from Redis aborts the response (the client sees a short
// body, an error in the benchmark), so it is only for a warm cache. It is
// safe for concurrent use.
type redisPeer struct {
	dir    *chunker.Dir
	store  *store.Store
	chunk  int64
	window int64
}

func (p *redisPeer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/media/")
	if !ok || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	obj, err := p.dir.Open(r.Context(), name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	info := obj.Info()
	obj.Close()
	start, end, status := singleRange(r.Header.Get("Range"), info.Size)
	h := w.Header()
	h.Set("Content-Type", "video/mp4")
	h.Set("Accept-Ranges", "bytes")
	switch status {
	case http.StatusRequestedRangeNotSatisfiable:
		h.Set("Content-Range", fmt.Sprintf("bytes */%d", info.Size))
		w.WriteHeader(status)
		return
	case http.StatusPartialContent:
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, info.Size))
	}
	h.Set("Content-Length", strconv.FormatInt(end-start+1, 10))
	w.WriteHeader(status)
	geo := chunker.Geometry{Size: info.Size, ChunkSize: p.chunk}
	for off := start; off <= end; {
		n := min(p.window, end+1-off)
		first, last, _ := geo.Span(off, n)
		gets := make([]store.Get, 0, last-first+1)
		for i := first; i <= last; i++ {
			cs, ce := geo.Bounds(i)
			s, e := max(off, cs), min(off+n, ce)
			gets = append(gets, store.Get{Key: p.store.Key(info.Version, p.chunk, i), Len: ce - cs, Lo: s - cs, Hi: e - cs})
		}
		got, _, err := p.store.Read(r.Context(), gets, nil)
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		for i, g := range got {
			if !g.Found() {
				panic(http.ErrAbortHandler) // not warm: cut the response
			}
			// One write of the bytes asked for, as reelcache's WriteRange
			// does: io.WriteString would go through the ResponseWriter's
			// 2 KiB buffer, a copy and a syscall per 2 KiB.
			lo := gets[i].Lo - g.Start
			_, err := w.Write(g.Data[lo : lo+gets[i].Hi-gets[i].Lo])
			g.Buffer.Release()
			if err != nil {
				return // the client left
			}
		}
		off += n
	}
}

// singleRange reads a Range header of the forms the benchmark sends,
// bytes=A-B and bytes=A-, for a file of size bytes, and returns the
// inclusive byte range and the status to answer with: 206, 416 when A is
// past the end, or 200 (the whole file) for no header or any other form.
func singleRange(h string, size int64) (start, end int64, status int) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, size - 1, http.StatusOK
	}
	a, b, _ := strings.Cut(spec, "-")
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 {
		return 0, size - 1, http.StatusOK
	}
	end = size - 1
	if b != "" {
		e, err := strconv.ParseInt(b, 10, 64)
		if err != nil || e < start {
			return 0, size - 1, http.StatusOK
		}
		end = min(e, size-1)
	}
	if start >= size {
		return 0, 0, http.StatusRequestedRangeNotSatisfiable
	}
	return start, end, http.StatusPartialContent
}
