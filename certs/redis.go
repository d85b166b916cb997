package certs

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/redis/go-redis/v9"

	"github.com/reelcache/reelcache/internal/defaults"
)

// Defaults of RedisStorageOptions.
const (
	DefaultLockTTL      = 30 * time.Second
	DefaultRedisTimeout = 3 * time.Second
)

// redisClient is what RedisStorage needs of go-redis: single-key commands
// and scripts only (no SCAN), so a Cluster works too.
type redisClient interface {
	Get(ctx context.Context, key string) *redis.StringCmd
	Set(ctx context.Context, key string, value any, exp time.Duration) *redis.StatusCmd
	SetNX(ctx context.Context, key string, value any, exp time.Duration) *redis.BoolCmd
	Del(ctx context.Context, keys ...string) *redis.IntCmd
	SAdd(ctx context.Context, key string, members ...any) *redis.IntCmd
	SRem(ctx context.Context, key string, members ...any) *redis.IntCmd
	SMembers(ctx context.Context, key string) *redis.StringSliceCmd
	Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd
}

// RedisStorageOptions configure a RedisStorage.
type RedisStorageOptions struct {
	Client redisClient // required
	// Prefix is redis.key_prefix: keys are <Prefix>:tls:v:<name> (values),
	// <Prefix>:tls:index (the set of names) and <Prefix>:tls:lock:<name>.
	Prefix string
	// StorageKey seals every value (see the package doc); required, at
	// least MinStorageKey bytes.
	StorageKey string
	// Dir is the local mirror of the sealed values, read while Redis is
	// unreachable; "" keeps none.
	Dir string
	// LockTTL is how long a lock outlives an instance that died holding
	// it; a holder refreshes it every third of it. Default DefaultLockTTL.
	LockTTL time.Duration
	// Timeout bounds each Redis call. Default DefaultRedisTimeout.
	Timeout time.Duration
	Logger  *slog.Logger // default slog.Default()
}

// RedisStorage is a certmagic.Storage in Redis, for certificates, ACME
// accounts and the locks that let one instance of many order a
// certificate. Values are sealed (see the package doc) and mirrored to a
// local directory; while Redis is unreachable, Load, Exists and Stat read
// the mirror, and writes and locks fail (certmagic retries them with
// backoff). A value Redis lost (eviction under allkeys-lru) that the mirror
// holds is put back. It is safe for concurrent use.
type RedisStorage struct {
	opts  RedisStorageOptions
	seal  *sealer
	disk  *certmagic.FileStorage // nil without Dir
	mu    sync.Mutex             // protects locks
	locks map[string]*heldLock
}

// heldLock is a lock this instance holds.
type heldLock struct {
	token string
	stop  context.CancelFunc // ends the refresher
	done  chan struct{}
}

var _ certmagic.Storage = (*RedisStorage)(nil)

// NewRedisStorage makes the storage; it does not contact Redis.
func NewRedisStorage(opts RedisStorageOptions) (*RedisStorage, error) {
	if opts.Client == nil {
		return nil, errors.New("certs: RedisStorageOptions.Client is nil")
	}
	s, err := newSealer(opts.StorageKey)
	if err != nil {
		return nil, err
	}
	opts.LockTTL = defaults.Positive(opts.LockTTL, DefaultLockTTL)
	opts.Timeout = defaults.Positive(opts.Timeout, DefaultRedisTimeout)
	opts.Logger = cmp.Or(opts.Logger, slog.Default())
	rs := &RedisStorage{opts: opts, seal: s, locks: make(map[string]*heldLock)}
	if opts.Dir != "" {
		rs.disk = &certmagic.FileStorage{Path: opts.Dir}
	}
	return rs, nil
}

func (s *RedisStorage) valueKey(name string) string { return s.opts.Prefix + ":tls:v:" + name }
func (s *RedisStorage) indexKey() string            { return s.opts.Prefix + ":tls:index" }
func (s *RedisStorage) lockKey(name string) string  { return s.opts.Prefix + ":tls:lock:" + name }

func (s *RedisStorage) timeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opts.Timeout)
}

// Store seals value and writes it to Redis and the mirror. An error from
// Redis is returned even when the mirror took it: the instances share
// Redis, not the mirror.
func (s *RedisStorage) Store(ctx context.Context, name string, value []byte) error {
	sealed := s.seal.seal(name, value, time.Now())
	var diskErr error
	if s.disk != nil {
		diskErr = s.disk.Store(ctx, name, sealed)
	}
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	if err := s.opts.Client.Set(ctx, s.valueKey(name), sealed, 0).Err(); err != nil {
		return fmt.Errorf("store %s in redis: %w", name, err)
	}
	if err := s.opts.Client.SAdd(ctx, s.indexKey(), name).Err(); err != nil {
		return fmt.Errorf("index %s in redis: %w", name, err)
	}
	if diskErr != nil {
		s.opts.Logger.Warn("tls: local copy of a certificate value not written", "name", name, "err", diskErr)
	}
	return nil
}

// Load returns the value of name, or an error wrapping fs.ErrNotExist.
func (s *RedisStorage) Load(ctx context.Context, name string) ([]byte, error) {
	v, _, err := s.load(ctx, name)
	return v, err
}

// load reads name from Redis, or from the mirror when Redis fails or lost
// it, and keeps the two in step.
func (s *RedisStorage) load(ctx context.Context, name string) ([]byte, time.Time, error) {
	rctx, cancel := s.timeout(ctx)
	sealed, err := s.opts.Client.Get(rctx, s.valueKey(name)).Bytes()
	cancel()
	switch {
	case err == nil:
		v, mod, err := s.seal.open(name, sealed)
		if err == nil && s.disk != nil {
			if old, derr := s.disk.Load(ctx, name); derr != nil || !bytes.Equal(old, sealed) {
				if derr := s.disk.Store(ctx, name, sealed); derr != nil {
					s.opts.Logger.Warn("tls: local copy of a certificate value not written", "name", name, "err", derr)
				}
			}
		}
		return v, mod, err
	case s.disk == nil && errors.Is(err, redis.Nil):
		return nil, time.Time{}, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	case s.disk == nil:
		return nil, time.Time{}, fmt.Errorf("load %s from redis: %w", name, err)
	}
	sealed, derr := s.disk.Load(ctx, name)
	if derr != nil {
		if errors.Is(err, redis.Nil) {
			return nil, time.Time{}, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
		}
		return nil, time.Time{}, fmt.Errorf("load %s: redis: %w; local copy: %w", name, err, derr)
	}
	v, mod, oerr := s.seal.open(name, sealed)
	if oerr != nil {
		return nil, time.Time{}, oerr
	}
	if errors.Is(err, redis.Nil) {
		// Redis lost it (eviction, a flush): put it back for the others,
		// unless one of them wrote it meanwhile.
		rctx, cancel := s.timeout(ctx)
		if ok, err := s.opts.Client.SetNX(rctx, s.valueKey(name), sealed, 0).Result(); err == nil && ok {
			s.opts.Client.SAdd(rctx, s.indexKey(), name)
			s.opts.Logger.Info("tls: restored a certificate value Redis had lost from the local copy", "name", name)
		}
		cancel()
	} else {
		s.opts.Logger.Warn("tls: redis unreachable: using the local copy", "name", name, "err", err)
	}
	return v, mod, nil
}

// Delete deletes name and every name under it ("name/...").
func (s *RedisStorage) Delete(ctx context.Context, name string) error {
	if s.disk != nil {
		s.disk.Delete(ctx, name)
	}
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	names, err := s.opts.Client.SMembers(ctx, s.indexKey()).Result()
	if err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	victims := []string{name}
	for _, n := range names {
		if strings.HasPrefix(n, name+"/") {
			victims = append(victims, n)
		}
	}
	keys := make([]string, len(victims))
	members := make([]any, len(victims))
	for i, v := range victims {
		keys[i], members[i] = s.valueKey(v), v
	}
	for _, k := range keys { // one key per call: Cluster slots differ
		if err := s.opts.Client.Del(ctx, k).Err(); err != nil {
			return fmt.Errorf("delete %s: %w", name, err)
		}
	}
	if err := s.opts.Client.SRem(ctx, s.indexKey(), members...).Err(); err != nil {
		return fmt.Errorf("delete %s from the index: %w", name, err)
	}
	return nil
}

// Exists reports whether name is a value or a directory of values.
func (s *RedisStorage) Exists(ctx context.Context, name string) bool {
	if _, err := s.Load(ctx, name); err == nil {
		return true
	}
	list, err := s.List(ctx, name, false)
	return err == nil && len(list) > 0
}

// List returns the names under dir: all of them when recursive, else its
// direct children (values and directories).
func (s *RedisStorage) List(ctx context.Context, dir string, recursive bool) ([]string, error) {
	rctx, cancel := s.timeout(ctx)
	names, err := s.opts.Client.SMembers(rctx, s.indexKey()).Result()
	cancel()
	if err != nil {
		if s.disk != nil {
			return s.disk.List(ctx, dir, recursive)
		}
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	dir = strings.TrimSuffix(dir, "/")
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		rest, ok := strings.CutPrefix(n, dir+"/")
		if dir == "" {
			rest, ok = n, true
		}
		if !ok || rest == "" {
			continue
		}
		if !recursive {
			first, _, _ := strings.Cut(rest, "/")
			n = path.Join(dir, first)
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w", dir, fs.ErrNotExist)
	}
	slices.Sort(out)
	return out, nil
}

// Stat describes name: a value, or a directory of values.
func (s *RedisStorage) Stat(ctx context.Context, name string) (certmagic.KeyInfo, error) {
	v, mod, err := s.load(ctx, name)
	if err == nil {
		return certmagic.KeyInfo{Key: name, Modified: mod, Size: int64(len(v)), IsTerminal: true}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return certmagic.KeyInfo{}, err
	}
	if _, lerr := s.List(ctx, name, false); lerr != nil {
		return certmagic.KeyInfo{}, err
	}
	return certmagic.KeyInfo{Key: name}, nil
}

// String names the storage in certmagic's logs.
func (s *RedisStorage) String() string { return "redis:" + s.opts.Prefix + ":tls" }
