package store

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Admin calls are for operators (prewarm, status, purge), not viewers: they
// go around the breaker and get the write timeout.

// SetBytes writes keys[i] = vals[i] in one pipeline with the store's TTL and
// returns each key's error (nil when stored). err is set when the pipeline
// as a whole failed (Redis unreachable); a per-key error is Redis refusing
// that one write, e.g. "OOM command not allowed" under noeviction. Each SET
// is atomic, so a chunk is stored whole or not at all.
func (s *Store) SetBytes(ctx context.Context, keys []string, vals [][]byte) (errs []error, err error) {
	if len(keys) != len(vals) {
		return nil, fmt.Errorf("set chunks: %d keys for %d values", len(keys), len(vals))
	}
	errs = make([]error, len(keys))
	if len(keys) == 0 {
		return errs, nil
	}
	cctx, cancel := context.WithTimeout(ctx, s.wtimeout)
	defer cancel()
	cmds, err := s.rdb.Pipelined(cctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			p.Set(cctx, k, vals[i], s.ttl)
		}
		return nil
	})
	if err != nil && !isReply(err) {
		return nil, fmt.Errorf("set %d chunks: %w", len(keys), err)
	}
	for i, c := range cmds {
		errs[i] = c.Err()
	}
	return errs, nil
}

// Delete deletes keys in one pipeline (one DEL per key, so that a Redis
// Cluster accepts keys of different slots) and returns how many existed.
func (s *Store) Delete(ctx context.Context, keys []string) (int64, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	cctx, cancel := context.WithTimeout(ctx, s.wtimeout)
	defer cancel()
	cmds := make([]*redis.IntCmd, len(keys))
	_, err := s.rdb.Pipelined(cctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Del(cctx, k)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete %d keys: %w", len(keys), err)
	}
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, nil
}

// Scan calls fn with batches of the store's chunk keys, found with SCAN
// (never KEYS, which blocks Redis), on every master of a Cluster.
//
// Only keys of the exact shape <prefix>:c:<version>:<chunksize>:<index>
// (version without a colon, size and index decimal) reach fn: SCAN MATCH is
// a glob, so the prefix is escaped (issue 13: the prefix "rc[1]" matched
// another application's "rc1:c:..." and not its own keys), and the keys of
// an instance whose prefix extends this one ("rc:c:x" under "rc") are left
// alone. A caller that deletes what fn gets deletes only this store's chunks.
func (s *Store) Scan(ctx context.Context, fn func(keys []string) error) error {
	return s.scanMatch(ctx, escapeGlob(s.prefix)+":c:*", func(keys []string) error {
		keys = slices.DeleteFunc(keys, func(k string) bool { return !s.isChunkKey(k) })
		if len(keys) == 0 {
			return nil
		}
		return fn(keys)
	})
}

// scanMatch calls fn with batches of the keys SCAN MATCH finds for the glob
// match, on every master of a Cluster, one batch at a time.
func (s *Store) scanMatch(ctx context.Context, match string, fn func(keys []string) error) error {
	var mu sync.Mutex // ForEachMaster scans masters concurrently; fn is called one at a time
	scan := func(ctx context.Context, c *redis.Client) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, match, 1000).Result()
			if err != nil {
				return fmt.Errorf("scan %s: %w", match, err)
			}
			if len(keys) > 0 {
				mu.Lock()
				err := fn(keys)
				mu.Unlock()
				if err != nil {
					return err
				}
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	switch c := s.uc.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, scan)
	case *redis.Client:
		return scan(ctx, c)
	}
	return fmt.Errorf("scan: unsupported client %T", s.uc)
}

// escapeGlob escapes the characters Redis's glob matching (SCAN MATCH,
// KEYS) gives a meaning to, so that p matches only itself.
func escapeGlob(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isChunkKey reports whether k is <prefix>:c:<version>:<chunksize>:<index>
// for this store's prefix: a non-empty version without a colon (a hex hash,
// see VersionOf) and two decimal numbers.
func (s *Store) isChunkKey(k string) bool {
	rest, ok := strings.CutPrefix(k, s.prefix+":c:")
	if !ok {
		return false
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 || parts[0] == "" {
		return false
	}
	for _, n := range parts[1:] {
		if n == "" || strings.Trim(n, "0123456789") != "" {
			return false
		}
	}
	return true
}

// Memory is what Redis says of its memory (INFO memory), summed over the
// masters of a Cluster.
type Memory struct {
	Used      int64  // used_memory, bytes
	MaxMemory int64  // maxmemory, bytes; 0 means no limit
	Policy    string // maxmemory_policy, e.g. allkeys-lru
}

// Memory reads INFO memory.
func (s *Store) Memory(ctx context.Context) (Memory, error) {
	ctx, cancel := context.WithTimeout(ctx, s.wtimeout)
	defer cancel()
	var (
		m  Memory
		mu sync.Mutex // ForEachMaster calls info concurrently
	)
	info := func(ctx context.Context, c *redis.Client) error {
		txt, err := c.Info(ctx, "memory").Result()
		if err != nil {
			return fmt.Errorf("info memory: %w", err)
		}
		one := parseMemory(txt)
		mu.Lock()
		defer mu.Unlock()
		m.Used += one.Used
		m.MaxMemory += one.MaxMemory
		m.Policy = one.Policy
		return nil
	}
	var err error
	switch c := s.uc.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, info)
	case *redis.Client:
		err = info(ctx, c)
	default:
		err = fmt.Errorf("info: unsupported client %T", s.uc)
	}
	return m, err
}

func parseMemory(txt string) Memory {
	var m Memory
	sc := bufio.NewScanner(strings.NewReader(txt))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		switch k {
		case "used_memory":
			m.Used, _ = strconv.ParseInt(v, 10, 64)
		case "maxmemory":
			m.MaxMemory, _ = strconv.ParseInt(v, 10, 64)
		case "maxmemory_policy":
			m.Policy = v
		}
	}
	return m
}

// Ping checks that Redis answers, within the write timeout.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.wtimeout)
	defer cancel()
	if err := s.uc.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}
