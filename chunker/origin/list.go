package origin

import (
	"context"
	"errors"
	"io/fs"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/reelcache/reelcache/chunker"
)

// listConcurrency is how many HEADs describing a manifest's objects go at
// once.
const listConcurrency = 8

// listCache keeps the origin's whole listing for a TTL and builds it once
// for all concurrent callers (issue 21 item 2: every /api/media call used
// to list the origin again, one HEAD per object of an HTTP manifest, a
// whole bucket's pages on S3). The zero value with ttl set is ready.
type listCache struct {
	ttl    time.Duration
	flight singleflight.Group

	mu    sync.Mutex // protects objs and until
	objs  []listed
	until time.Time
}

func (lc *listCache) get() ([]listed, bool) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.objs, lc.objs != nil && time.Now().Before(lc.until)
}

func (lc *listCache) put(objs []listed) {
	if objs == nil {
		objs = []listed{}
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.objs, lc.until = objs, time.Now().Add(lc.ttl)
}

// List returns the origin's objects that keep accepts, without hidden
// names, in lexical order. The origin's listing is asked at most once per
// TTL (media.origin_ttl), once for all who list at once; an HTTP
// manifest's objects are described through the metadata cache Open uses,
// so each costs one HEAD per TTL, shared with Open.
func (r *Remote) List(ctx context.Context, keep func(name string) bool) ([]chunker.Info, error) {
	objs, err := r.listing(ctx)
	if err != nil {
		return nil, err
	}
	infos := make([]chunker.Info, 0, len(objs))
	for _, o := range objs {
		if keep(o.name) {
			infos = append(infos, o.val.info(o.name))
		}
	}
	return infos, nil
}

// listing returns the whole listing, described, from the cache or from one
// flight that runs detached from any caller (a caller who leaves stops
// waiting; the others still get the answer), within ten timeouts.
// Failures are not kept.
func (r *Remote) listing(ctx context.Context) ([]listed, error) {
	if objs, ok := r.lists.get(); ok {
		return objs, nil
	}
	ch := r.lists.flight.DoChan("", func() (any, error) {
		if objs, ok := r.lists.get(); ok {
			return objs, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*r.timeout)
		defer cancel()
		objs, err := r.b.list(ctx, func(name string) bool { return !hidden(name) })
		if err != nil {
			return nil, r.classify("LIST", "", err)
		}
		if objs, err = r.describe(ctx, objs); err != nil {
			return nil, err
		}
		r.lists.put(objs)
		return objs, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.([]listed), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// describe asks about the objects the listing only named, through the
// metadata cache, and leaves out those the origin does not have (or that
// are directories).
func (r *Remote) describe(ctx context.Context, objs []listed) ([]listed, error) {
	keep := make([]bool, len(objs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(listConcurrency)
	for i := range objs {
		if objs[i].described {
			keep[i] = true
			continue
		}
		g.Go(func() error {
			e, err := r.stat(gctx, objs[i].name)
			switch {
			case err == nil:
				objs[i].val, objs[i].described, keep[i] = e.val, true, true
			case errors.Is(err, fs.ErrNotExist), errors.Is(err, chunker.ErrNotRegular):
			default:
				return err
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := objs[:0]
	for i, o := range objs {
		if keep[i] {
			out = append(out, o)
		}
	}
	return out, nil
}
