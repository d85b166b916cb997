package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Fill leases coalesce misses across instances. Within one instance, the
// misses of a chunk share a flight; instances sharing one Redis would each
// read the chunk from the origin when their viewers miss it at the same
// moment (three instances read 1.5-1.8x the distinct bytes in the
// benchmark). Before reading, a flight asks Redis for the chunk and, in the
// same round trip, for a short lease on filling it (SET NX PX). The holder
// reads the origin and releases the lease in the pipeline that writes the
// chunk; another instance that finds the lease taken waits for the chunk
// to appear in Redis, and reads the origin itself only if the lease goes
// away without it (the holder failed or dropped it) or the wait passes the
// lease's life. A single instance pays nothing extra: the lease rides in
// the re-check's round trip and its release in the write's.
//
// The lease is advisory: a holder that outlives it only causes a duplicate
// read, never a wrong byte (the chunk's key carries its version either
// way).

// leaseTTL is how long a fill lease lives: longer than reading a chunk
// from a slow origin and writing it, short enough that an instance that
// died holding one delays others little.
const leaseTTL = 3 * time.Second

// leaseKey returns the lease key of a chunk key: <prefix>:f:... in place of
// <prefix>:c:..., so that purges and listings of chunk keys never see it.
func (s *Store) leaseKey(chunkKey string) string {
	rest, ok := strings.CutPrefix(chunkKey, s.prefix+":c:")
	if !ok {
		return chunkKey + ":fill"
	}
	return s.prefix + ":f:" + rest
}

// GetOrLease fetches key and, in the same round trip, tries to take the
// fill lease on it for owner. found reports the value (of any length: the
// caller checks it); leased whether the lease is now owner's. When found is
// false and leased is false, another instance is filling the chunk.
func (s *Store) GetOrLease(ctx context.Context, key, owner string) (val string, found, leased bool, err error) {
	var get *redis.StringCmd
	var set *redis.BoolCmd
	err = s.call(ctx, s.timeout, "get", func(ctx context.Context) error {
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			get = p.Get(ctx, key)
			set = p.SetNX(ctx, s.leaseKey(key), owner, leaseTTL)
			return nil
		})
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		return err
	})
	if err != nil {
		return "", false, false, fmt.Errorf("get or lease chunk: %w", err)
	}
	val, gerr := get.Result()
	return val, gerr == nil, set.Val(), nil
}

// WaitFilled waits for another instance's fill of key: it polls until the
// value is there, the lease is gone without it, or the lease's life has
// passed, and returns the value when it came.
func (s *Store) WaitFilled(ctx context.Context, key string) (string, bool) {
	lease := s.leaseKey(key)
	deadline := time.Now().Add(leaseTTL)
	wait := 2 * time.Millisecond
	for time.Now().Before(deadline) {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return "", false
		}
		wait = min(2*wait, 20*time.Millisecond)
		var get *redis.StringCmd
		var held *redis.IntCmd
		err := s.call(ctx, s.timeout, "get", func(ctx context.Context) error {
			_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				get = p.Get(ctx, key)
				held = p.Exists(ctx, lease)
				return nil
			})
			if errors.Is(err, redis.Nil) {
				err = nil
			}
			return err
		})
		if err != nil {
			return "", false
		}
		if v, err := get.Result(); err == nil {
			return v, true
		}
		if held.Val() == 0 {
			return "", false // the holder gave up
		}
	}
	return "", false
}

// ReleaseLease gives up the fill lease of key, for a holder that will not
// write the chunk. Best effort: the lease expires anyway.
func (s *Store) ReleaseLease(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(ctx, s.wtimeout)
	defer cancel()
	s.uc.Del(ctx, s.leaseKey(key))
}
