package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reelcache/reelcache/chunker"
	"github.com/reelcache/reelcache/chunker/store"
	"github.com/reelcache/reelcache/config"
)

// backend is what openCache opens: the cache, its Redis client (nil when
// the cache is off) and the media root (nil for a remote origin). Close
// closes all three, the cache first (it writes what is queued).
type backend struct {
	cache *chunker.Cache
	rdb   redis.UniversalClient
	root  *os.Root
}

func (b *backend) Close() error {
	err := b.cache.Close()
	if b.rdb != nil {
		err = errors.Join(err, b.rdb.Close())
	}
	if b.root != nil {
		err = errors.Join(err, b.root.Close())
	}
	return err
}

// cacheHooks are the metrics hooks openCache gives the store; zero for
// operator commands.
type cacheHooks struct {
	observe  func(op string, d time.Duration, err error)
	rejected func(reason string)
}

// openCache opens the media root and Redis. Redis being down is not an
// error: the cache serves from disk and the log says so. readTimeout
// overrides redis.timeout when larger (operator commands can wait longer
// than viewers).
func openCache(ctx context.Context, cfg *config.Config, log *slog.Logger, fill chunker.FillMode, readTimeout time.Duration, hooks cacheHooks) (*backend, error) {
	remote, err := openOrigin(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	var (
		root *os.Root
		org  chunker.Origin
	)
	if remote != nil {
		org = remote
	} else if root, err = os.OpenRoot(cfg.Media.Root); err != nil {
		return nil, fmt.Errorf("media root: %w", err)
	} else {
		org = chunker.NewDir(root, chunker.DirOptions{SharedVersions: cfg.Cache.Versions == "shared"})
	}
	var (
		st  *store.Store
		rdb redis.UniversalClient
	)
	if cfg.Redis.URL == "" {
		log.Info("cache off (redis.url is empty): serving from disk")
	} else {
		redis.SetLogger(quietRedisLogger{})
		rdb, err = store.DialRedis(store.RedisOptions{
			URL: cfg.Redis.URL, Mode: cfg.Redis.Mode, Addrs: cfg.Redis.Addrs, MasterName: cfg.Redis.MasterName,
			TLSCA: cfg.Redis.TLSCA, TLSCert: cfg.Redis.TLSCert, TLSKey: cfg.Redis.TLSKey,
		})
		if err != nil {
			if root != nil {
				root.Close()
			}
			return nil, usageError{fmt.Errorf("redis.url: %w", err)}
		}
		threshold := 0 // the default, 3 failures in a row
		if cfg.Redis.Mode == "cluster" {
			// A dead master fails only the calls whose keys it holds,
			// and fails them fast (refused connection); the other
			// masters' chunks should still be read. Only a run this long
			// of calls that all failed opens the breaker for everyone.
			threshold = 20
		}
		st = store.New(store.Options{
			FailureThreshold: threshold,
			Client:           rdb,
			Prefix:           cfg.Redis.KeyPrefix,
			TTL:              cfg.Cache.TTL,
			Timeout:          max(cfg.Redis.Timeout, readTimeout),
			Logger:           log,
			Observe:          hooks.observe,
			Rejected:         hooks.rejected,
			IntegrityKey:     []byte(cfg.Cache.IntegrityKey),
		})
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := rdb.Ping(pctx).Err()
		cancel()
		if err != nil {
			log.Warn("redis unreachable: serving from disk until it answers", "redis", redisDesc(cfg.Redis), "err", err)
		} else {
			log.Info("redis connected", "redis", redisDesc(cfg.Redis))
		}
	}
	cache, err := chunker.New(chunker.Options{
		Origin:           org,
		Store:            st,
		ChunkSize:        cfg.ChunkSize,
		Fill:             fill,
		Window:           cfg.Cache.Readahead,
		MaxInflightBytes: cfg.Cache.MaxInflightBytes,
		LocalBytes:       localBytes(cfg, hooks),
		LocalDir:         cfg.Cache.LocalDir,
		Settle:           cfg.Cache.Settle,
		Hedge:            cfg.Redis.Hedge,
		MinUses:          cfg.Cache.MinUses,
		Logger:           log,
	})
	if err != nil {
		if rdb != nil {
			rdb.Close()
		}
		if root != nil {
			root.Close()
		}
		return nil, err
	}
	return &backend{cache: cache, rdb: rdb, root: root}, nil
}

// localBytes is the local tier's size for what openCache opens: none for
// an operator command (it serves no viewer; hooks are unset), else
// cache.local_bytes.
func localBytes(cfg *config.Config, hooks cacheHooks) int64 {
	if hooks.observe == nil {
		return 0
	}
	return cfg.Cache.LocalBytes
}
