package store

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
// (an MP4 index, seek previews), stored as opaque bytes under
//
//	<prefix>:m:<version>:<kind>
//
// so a changed file (a new version) never finds the old file's values, and a
// purge of the file's version removes them with its chunks. Leases on them
// (<prefix>:l:<version>:<kind>) let instances agree on which of them
// computes a value. kind must pass CheckKind.

// ErrNoMeta is returned by GetMeta when no value is stored.
var ErrNoMeta = errors.New("store: no metadata value")

func (s *Store) metaKey(version, kind string) string {
	return s.prefix + ":m:" + version + ":" + kind
}

func (s *Store) metaLeaseKey(version, kind string) string {
	return s.prefix + ":l:" + version + ":" + kind
}

// CheckKind reports whether kind may name a metadata value: printable ASCII
// without a colon or space.
func CheckKind(kind string) error {
	if kind == "" {
		return errors.New("store: empty metadata kind")
	}
	for i := 0; i < len(kind); i++ {
		c := kind[i]
		if c == ':' || c <= ' ' || c >= 0x7f {
			return fmt.Errorf("store: metadata kind %q: want printable ASCII without a colon", kind)
		}
	}
	return nil
}

// GetMeta returns the metadata value kind of version, ErrNoMeta when none
// is stored or what is stored fails its check (counted like a rejected
// chunk). It goes through the breaker, with the write timeout (values
// may be a few MB).
func (s *Store) GetMeta(ctx context.Context, version, kind string) ([]byte, error) {
	var val string
	missing := false
	err := s.call(ctx, s.wtimeout, "get", func(ctx context.Context) error {
		var err error
		val, err = s.uc.Get(ctx, s.metaKey(version, kind)).Result()
		if errors.Is(err, redis.Nil) {
			// An answer, not a failure: it must not count toward
			// the breaker (a waiter polling for a value would
			// switch the cache off for everyone).
			missing, err = true, nil
		}
		return err
	})
	if missing {
		return nil, ErrNoMeta
	}
	if err != nil {
		return nil, fmt.Errorf("get %s of version %s: %w", kind, version, err)
	}
	key := s.metaKey(version, kind)
	data, err := s.codec.OpenSized(key, bytesOf(val))
	if err != nil {
		// Damaged or forged: as if absent (the caller computes it again
		// and overwrites it).
		s.reject(err)
		return nil, ErrNoMeta
	}
	return data, nil
}

// SetMeta stores val as the metadata value kind of version, with the
// store's TTL, sealed like a chunk (Codec): GetMeta never returns a value
// that fails its check.
func (s *Store) SetMeta(ctx context.Context, version, kind string, val []byte) error {
	err := s.call(ctx, s.wtimeout, "set", func(ctx context.Context) error {
		key := s.metaKey(version, kind)
		return s.uc.Set(ctx, key, s.codec.Sealed(key, val), s.ttl).Err()
	})
	if err != nil {
		return fmt.Errorf("set %s of version %s: %w", kind, version, err)
	}
	return nil
}

// LeaseMeta tries to take the lease on computing value kind of version for
// owner, for ttl, and reports whether owner now holds it. ReleaseMeta gives
// it back.
func (s *Store) LeaseMeta(ctx context.Context, version, kind, owner string, ttl time.Duration) (bool, error) {
	var ok bool
	err := s.call(ctx, s.wtimeout, "set", func(ctx context.Context) error {
		var err error
		ok, err = s.uc.SetNX(ctx, s.metaLeaseKey(version, kind), owner, ttl).Result()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("lease %s of version %s: %w", kind, version, err)
	}
	return ok, nil
}

// ReleaseMeta deletes the lease on value kind of version while it is still
// owner's, so that a holder whose lease expired never removes the next
// one's. Best effort: the lease expires anyway.
func (s *Store) ReleaseMeta(ctx context.Context, version, kind, owner string) {
	ctx, cancel := context.WithTimeout(ctx, s.wtimeout)
	defer cancel()
	releaseScript.Run(ctx, s.uc, []string{s.metaLeaseKey(version, kind)}, owner)
}

var releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// PurgeMeta deletes the metadata values and leases of the given versions,
// or, when versions is empty, every metadata key under the prefix (only
// keys of the exact shape <prefix>:m|l:<version>:<kind>). It returns how
// many keys existed. Like the other admin calls it goes around the breaker.
func (s *Store) PurgeMeta(ctx context.Context, versions []string) (int64, error) {
	var n int64
	del := func(keys []string) error {
		keys = slices.DeleteFunc(keys, func(k string) bool { return !s.isMetaKey(k) })
		m, err := s.Delete(ctx, keys)
		n += m
		return err
	}
	if len(versions) == 0 {
		err := s.scanMatch(ctx, escapeGlob(s.prefix)+":[ml]:*", del)
		return n, err
	}
	for _, v := range versions {
		if err := s.scanMatch(ctx, escapeGlob(s.prefix)+":[ml]:"+escapeGlob(v)+":*", del); err != nil {
			return n, err
		}
	}
	return n, nil
}

// isMetaKey reports whether k is <prefix>:m:<version>:<kind> or
// <prefix>:l:<version>:<kind> for this store's prefix.
func (s *Store) isMetaKey(k string) bool {
	rest, ok := strings.CutPrefix(k, s.prefix+":")
	if !ok || len(rest) < 2 || (rest[0] != 'm' && rest[0] != 'l') || rest[1] != ':' {
		return false
	}
	version, kind, ok := strings.Cut(rest[2:], ":")
	return ok && version != "" && CheckKind(kind) == nil
}
