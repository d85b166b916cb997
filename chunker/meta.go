package chunker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Metadata values are small derived values bound to one version of one file
// (an MP4 index, seek previews): whatever a reader of cached bytes computed
// once and every instance should share. chunker stores them as opaque bytes
// and knows nothing of what they mean. They live under
//
//	<prefix>:m:<version>:<kind>
//
// so a changed file (a new version) never finds the old file's values, and a
// purge of the file's version removes them with its chunks. kind names the
// value ("mp4index", "previews"); it must not contain a colon.
//
// Leases on metadata (<prefix>:l:<version>:<kind>) let many instances agree
// on which of them computes a value: SET NX with an expiry, released by the
// holder (see MetaLease).

// ErrNoMeta is returned by Cache.Meta when no value is stored.
var ErrNoMeta = errors.New("chunker: no metadata value")

// metaKey returns the key of a metadata value.
func (s *Store) metaKey(version, kind string) string {
	return s.prefix + ":m:" + version + ":" + kind
}

// metaLeaseKey returns the key of a metadata lease.
func (s *Store) metaLeaseKey(version, kind string) string {
	return s.prefix + ":l:" + version + ":" + kind
}

func checkMetaKind(kind string) error {
	if kind == "" {
		return errors.New("chunker: empty metadata kind")
	}
	for i := 0; i < len(kind); i++ {
		c := kind[i]
		if c == ':' || c <= ' ' || c >= 0x7f {
			return fmt.Errorf("chunker: metadata kind %q: want printable ASCII without a colon", kind)
		}
	}
	return nil
}

// Meta returns the metadata value kind of the given file version. It fails
// with ErrNoMeta when none is stored and with ErrUnavailable when the cache
// is off or its breaker is open. Like the media path it is bounded by
// redis.timeout, and it goes through the breaker.
func (c *Cache) Meta(ctx context.Context, version, kind string) ([]byte, error) {
	if err := checkMetaKind(kind); err != nil {
		return nil, err
	}
	if c.store == nil {
		return nil, ErrUnavailable
	}
	s := c.store
	var val string
	err := s.call(ctx, s.wtimeout, "get", func(ctx context.Context) error {
		v, err := s.uc.Get(ctx, s.metaKey(version, kind)).Result()
		if errors.Is(err, redis.Nil) {
			return err
		}
		val = v
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, ErrNoMeta
	}
	if err != nil {
		return nil, fmt.Errorf("get %s of version %s: %w", kind, version, err)
	}
	return []byte(val), nil
}

// SetMeta stores val as the metadata value kind of the given file version,
// with the cache's TTL (cache.ttl), replacing any value there. It fails with
// ErrUnavailable when the cache is off.
func (c *Cache) SetMeta(ctx context.Context, version, kind string, val []byte) error {
	if err := checkMetaKind(kind); err != nil {
		return err
	}
	if c.store == nil {
		return ErrUnavailable
	}
	s := c.store
	err := s.call(ctx, s.wtimeout, "set", func(ctx context.Context) error {
		return s.uc.Set(ctx, s.metaKey(version, kind), val, s.ttl).Err()
	})
	if err != nil {
		return fmt.Errorf("set %s of version %s: %w", kind, version, err)
	}
	return nil
}

// MetaLease tries to take the lease on computing metadata value kind of the
// given version, for ttl. ok reports whether this caller now holds it; the
// holder calls release when done (or lets it expire). With the cache off
// there is no one to share with: ok is true and release does nothing.
func (c *Cache) MetaLease(ctx context.Context, version, kind string, ttl time.Duration) (ok bool, release func(), err error) {
	if err := checkMetaKind(kind); err != nil {
		return false, nil, err
	}
	if c.store == nil {
		return true, func() {}, nil
	}
	s := c.store
	key := s.metaLeaseKey(version, kind)
	owner := newOwner()
	err = s.call(ctx, s.wtimeout, "set", func(ctx context.Context) error {
		var err error
		ok, err = s.uc.SetNX(ctx, key, owner, ttl).Result()
		return err
	})
	if err != nil {
		return false, nil, fmt.Errorf("lease %s of version %s: %w", kind, version, err)
	}
	if !ok {
		return false, func() {}, nil
	}
	release = func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.wtimeout)
		defer cancel()
		// Delete the lease only while it is still ours.
		releaseScript.Run(ctx, s.uc, []string{key}, owner)
	}
	return true, release, nil
}

// releaseScript deletes a lease key only when it still holds the owner's
// token, so that a holder whose lease expired never removes the next one's.
var releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// deleteMeta deletes every metadata value and lease of the given versions
// (a purge of those files).
func (s *Store) deleteMeta(ctx context.Context, versions []string) (int64, error) {
	var n int64
	for _, v := range versions {
		match := escapeGlob(s.prefix) + ":[ml]:" + escapeGlob(v) + ":*"
		err := s.scanMatch(ctx, match, func(keys []string) error {
			m, err := s.Delete(ctx, keys)
			n += m
			return err
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// PurgeMeta deletes the metadata values and leases of the given versions,
// or, when versions is empty, every metadata key under the prefix (only
// keys of the exact shape <prefix>:m|l:<version>:<kind>). It returns how
// many keys existed. Like the other admin calls it goes around the breaker.
func (s *Store) PurgeMeta(ctx context.Context, versions []string) (int64, error) {
	if len(versions) > 0 {
		return s.deleteMeta(ctx, versions)
	}
	var n int64
	err := s.scanMatch(ctx, escapeGlob(s.prefix)+":[ml]:*", func(keys []string) error {
		keys = slices.DeleteFunc(keys, func(k string) bool { return !s.isMetaKey(k) })
		m, err := s.Delete(ctx, keys)
		n += m
		return err
	})
	return n, err
}

// isMetaKey reports whether k is <prefix>:m:<version>:<kind> or
// <prefix>:l:<version>:<kind> for this store's prefix.
func (s *Store) isMetaKey(k string) bool {
	rest, ok := strings.CutPrefix(k, s.prefix+":")
	if !ok || len(rest) < 2 || (rest[0] != 'm' && rest[0] != 'l') || rest[1] != ':' {
		return false
	}
	version, kind, ok := strings.Cut(rest[2:], ":")
	return ok && version != "" && checkMetaKind(kind) == nil
}
