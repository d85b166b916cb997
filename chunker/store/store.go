package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reelcache/reelcache/internal/defaults"
)

// ErrUnavailable is returned by Store methods while the store's breaker is
// open: recent calls failed, so Redis is not asked again until the
// cool-down has passed.
var ErrUnavailable = errors.New("store: redis unavailable")

// redisClient is the part of go-redis that Store uses. Every command goes
// through a pipeline, so that a multi-chunk read or write costs one round
// trip; on a Redis Cluster, go-redis splits the pipeline by node.
type redisClient interface {
	Pipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error)
}

// Defaults of Options. The server's configuration (package config) takes
// its defaults from these.
const (
	DefaultPrefix           = "reelcache"
	DefaultTimeout          = 500 * time.Millisecond
	DefaultWriteTimeout     = time.Second
	DefaultFailureThreshold = 3
	DefaultCooldown         = time.Second
)

// Options configure a Store. The zero value of each field but Client
// means its default.
type Options struct {
	// Client is the Redis connection: a *redis.Client, *redis.ClusterClient
	// or failover client. Required.
	Client redis.UniversalClient

	// Prefix starts every key. Default DefaultPrefix ("reelcache").
	Prefix string

	// TTL is the expiry set on written chunks; 0 means no expiry.
	TTL time.Duration

	// Timeout bounds every call, on top of the caller's context, so a hung
	// Redis costs a viewer at most this long before disk takes over.
	// Default DefaultTimeout (500ms): long enough that a busy Redis (a
	// stampede of viewers queued on the connections) is not taken for a
	// down one.
	Timeout time.Duration

	// WriteTimeout bounds each Set. Writes are off the viewer's path (a
	// background fill or a prewarm) and carry whole chunks, so they get
	// longer. Default DefaultWriteTimeout (1s).
	WriteTimeout time.Duration

	// FailureThreshold is how many calls in a row must fail before the
	// breaker opens. Default DefaultFailureThreshold (3).
	FailureThreshold int

	// Cooldown is how long the breaker stays open before one probe call is
	// let through. Default DefaultCooldown (1s).
	Cooldown time.Duration

	// Logger receives one line per breaker state change. Default
	// slog.Default().
	Logger *slog.Logger

	// Observe, when set, is called after every call to Redis with the
	// operation ("get", "exists", "set"), its duration and error: a hook
	// for metrics.
	Observe func(op string, d time.Duration, err error)

	// IntegrityKey, when set, makes chunk values carry HMAC-SHA256 tags
	// under it, so that whoever can write to Redis but lacks the key
	// cannot change what viewers get; without it values carry CRC-32Cs,
	// which catch damage (see Codec).
	IntegrityKey []byte

	// Rejected, when set, is called for every value that fails its check
	// (Codec), with the reason: a hook for metrics. Rejections are also
	// logged, at most once a second.
	Rejected func(reason string)
}

// Store reads and writes chunks in Redis. It is safe for concurrent use.
//
// Store never retries by itself and never blocks past its timeout: a cache
// is an optimisation, and the caller always has the disk to fall back to.
type Store struct {
	rdb      redisClient
	uc       redis.UniversalClient // for SCAN and INFO, which pipelines do not cover
	prefix   string
	ttl      time.Duration
	timeout  time.Duration
	wtimeout time.Duration
	brk      *breaker
	observe  func(op string, d time.Duration, err error)
	codec    *Codec
	log      *slog.Logger
	rejected func(reason string)
	lastLog  atomic.Int64 // unix nanoseconds of the last rejection logged
	// reading bounds the Reads in flight (buffers.go: each holds its
	// buffers from before its pipeline is sent).
	reading chan struct{}
	bufs    *freeLists
}

// New returns a Store over opts.Client.
func New(opts Options) *Store {
	opts.Prefix = cmp.Or(opts.Prefix, DefaultPrefix)
	opts.Timeout = defaults.Positive(opts.Timeout, DefaultTimeout)
	opts.WriteTimeout = defaults.Positive(opts.WriteTimeout, DefaultWriteTimeout)
	opts.FailureThreshold = defaults.Positive(opts.FailureThreshold, DefaultFailureThreshold)
	opts.Cooldown = defaults.Positive(opts.Cooldown, DefaultCooldown)
	opts.Logger = cmp.Or(opts.Logger, slog.Default())
	return &Store{
		rdb:      opts.Client,
		uc:       opts.Client,
		prefix:   opts.Prefix,
		ttl:      opts.TTL,
		timeout:  opts.Timeout,
		wtimeout: opts.WriteTimeout,
		brk:      newBreaker(opts.FailureThreshold, opts.Cooldown, opts.Logger),
		observe:  opts.Observe,
		codec:    NewCodec(opts.IntegrityKey),
		log:      opts.Logger,
		rejected: opts.Rejected,
		reading:  make(chan struct{}, readsInFlight(opts.Client)),
		bufs:     newFreeLists(),
	}
}

// Key returns the Redis key of chunk index of the given file version and
// chunk size. See the package documentation for the scheme.
func (s *Store) Key(version string, chunkSize, index int64) string {
	b := make([]byte, 0, len(s.prefix)+len(version)+32)
	b = append(b, s.prefix...)
	b = append(b, ":c:"...)
	b = append(b, version...)
	b = append(b, ':')
	b = strconv.AppendInt(b, chunkSize, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, index, 10)
	return string(b)
}

// Prefix returns the key prefix.
func (s *Store) Prefix() string { return s.prefix }

// Available reports whether the breaker lets calls through now. It does not
// contact Redis.
func (s *Store) Available() bool { return s.brk.ready() }

// partial turns a pipeline's error into the error of the call. go-redis
// reports the first failed command's error for the pipeline; when some
// commands failed and others were answered (a Cluster node down), the call
// succeeds and the failed keys are misses. When none was answered, or the
// pipeline failed before any command ran (no connection, bad password:
// the commands carry no error of their own), the call fails.
func partial(err error, n int, cmdErr func(int) error) error {
	if err == nil {
		return nil
	}
	failed := 0
	for i := range n {
		if e := cmdErr(i); e != nil && !errors.Is(e, redis.Nil) {
			failed++
		}
	}
	if failed == 0 && errors.Is(err, redis.Nil) {
		return nil // only misses
	}
	if failed == 0 || failed == n {
		return err
	}
	return nil
}

// Exists reports, in one pipeline, which keys exist. It sends one EXISTS per
// key rather than one multi-key EXISTS, which a Redis Cluster refuses across
// slots.
func (s *Store) Exists(ctx context.Context, keys []string) ([]bool, error) {
	found := make([]bool, len(keys))
	if len(keys) == 0 {
		return found, nil
	}
	cmds := make([]*redis.IntCmd, len(keys))
	err := s.call(ctx, s.timeout, "exists", func(ctx context.Context) error {
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				cmds[i] = p.Exists(ctx, k)
			}
			return nil
		})
		return partial(err, len(keys), func(i int) error { return cmds[i].Err() })
	})
	if err != nil {
		return nil, fmt.Errorf("check %d chunks: %w", len(keys), err)
	}
	for i, c := range cmds {
		found[i] = c.Val() > 0
	}
	return found, nil
}

// Set writes keys[i] = vals[i] in one pipeline, each with the store's TTL,
// and releases the chunks' fill leases in the same round trip (see
// lease.go). Each SET is atomic in Redis, so a chunk is either stored whole
// or absent.
//
// vals are sealed values (Codec.Seal).
func (s *Store) Set(ctx context.Context, keys []string, vals [][]byte) error {
	if len(keys) != len(vals) {
		return fmt.Errorf("set chunks: %d keys for %d values", len(keys), len(vals))
	}
	if len(keys) == 0 {
		return nil
	}
	err := s.call(ctx, s.wtimeout, "set", func(ctx context.Context) error {
		cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				p.Set(ctx, k, vals[i], s.ttl)
				p.Del(ctx, s.leaseKey(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, c := range cmds {
			if err := c.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set %d chunks: %w", len(keys), err)
	}
	return nil
}

// call runs fn under a timeout and the store's breaker. A failure caused by
// the caller's own context (a viewer who left) says nothing about Redis and
// is not counted against it.
func (s *Store) call(ctx context.Context, timeout time.Duration, op string, fn func(context.Context) error) error {
	if !s.brk.allow() {
		return ErrUnavailable
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := fn(cctx)
	if s.observe != nil {
		s.observe(op, time.Since(start), err)
	}
	if err != nil && ctx.Err() != nil {
		s.brk.release()
		return err
	}
	if isReply(err) {
		// Redis answered (an OOM under noeviction, say): it is up, and
		// reads must go on.
		s.brk.record(nil)
		return err
	}
	if err != nil && IsSlow(err) && s.brk.answeredSince(start) {
		// Timed out, but Redis answered another call meanwhile: it is
		// busy (a stampede of viewers queued on the connections), not
		// down. This call's viewer falls back; the others keep Redis.
		s.brk.release()
		return err
	}
	s.brk.record(err)
	return err
}

// isReply reports whether err is an error reply from Redis rather than a
// failure to reach it.
func isReply(err error) bool {
	var re redis.Error
	return err != nil && errors.As(err, &re) && !errors.Is(err, redis.Nil)
}

// IsSlow reports whether a store error means Redis is slow or switched off
// (a timeout, or the breaker open) rather than a quick refusal.
func IsSlow(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnavailable) || IsTimeout(err)
}

// IsTimeout reports whether err is a network deadline passing.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
