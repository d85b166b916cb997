package chunker

import (
	"context"
	"time"

	"github.com/reelcache/reelcache/chunker/store"
)

// Metadata values: small derived values bound to one version of one file
// (an MP4 index, seek previews), for readers of cached bytes that compute
// something once and want every instance to share it. chunker stores them as
// opaque bytes in Redis under the version (store.Store.GetMeta), so a changed
// file never finds the old values and `cache purge` removes them with the
// file's chunks.

// ErrNoMeta is returned by Cache.Meta when no value is stored.
var ErrNoMeta = store.ErrNoMeta

// Meta returns the metadata value kind of the given file version. It fails
// with ErrNoMeta when none is stored and with ErrUnavailable when the cache
// is off or Redis does not answer. kind is a short ASCII word without a
// colon ("mp4index", "previews").
func (c *Cache) Meta(ctx context.Context, version, kind string) ([]byte, error) {
	if err := store.CheckKind(kind); err != nil {
		return nil, err
	}
	if c.store == nil {
		return nil, ErrUnavailable
	}
	return c.store.GetMeta(ctx, version, kind)
}

// SetMeta stores val as the metadata value kind of the given file version,
// with the cache's TTL, replacing any value there. It fails with
// ErrUnavailable when the cache is off.
func (c *Cache) SetMeta(ctx context.Context, version, kind string, val []byte) error {
	if err := store.CheckKind(kind); err != nil {
		return err
	}
	if c.store == nil {
		return ErrUnavailable
	}
	return c.store.SetMeta(ctx, version, kind, val)
}

// MetaLease tries to take the lease on computing metadata value kind of the
// given version, for ttl, so that of many instances one computes it. ok
// reports whether this caller now holds it; the holder calls release when
// done (or lets the lease expire). With the cache off there is no one to
// share with: ok is true and release does nothing.
func (c *Cache) MetaLease(ctx context.Context, version, kind string, ttl time.Duration) (ok bool, release func(), err error) {
	if err := store.CheckKind(kind); err != nil {
		return false, nil, err
	}
	if c.store == nil {
		return true, func() {}, nil
	}
	owner := newOwner()
	ok, err = c.store.LeaseMeta(ctx, version, kind, owner, ttl)
	if err != nil || !ok {
		return false, func() {}, err
	}
	return true, func() { c.store.ReleaseMeta(context.WithoutCancel(ctx), version, kind, owner) }, nil
}
