package certs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// lockPoll is how often Lock tries again while another instance holds the
// lock.
const lockPoll = 250 * time.Millisecond

// Scripts that touch a lock only while it still holds our token: a lock
// that expired and was taken by another instance is not ours to refresh or
// release.
const (
	refreshScript = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`
	releaseScript = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`
)

// Lock takes the named lock (SET NX with LockTTL and a random token),
// waiting while another instance holds it, until ctx ends. A goroutine
// refreshes it every third of LockTTL until Unlock, so a long ACME order
// keeps it; an instance that dies holding it frees it after LockTTL.
func (s *RedisStorage) Lock(ctx context.Context, name string) error {
	var b [16]byte
	rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	key := s.lockKey(name)
	for {
		rctx, cancel := s.timeout(ctx)
		ok, err := s.opts.Client.SetNX(rctx, key, token, s.opts.LockTTL).Result()
		cancel()
		if err != nil {
			return fmt.Errorf("lock %s: %w", name, err)
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lock %s: %w", name, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
	rctx, stop := context.WithCancel(context.Background())
	h := &heldLock{token: token, stop: stop, done: make(chan struct{})}
	go s.refresh(rctx, key, h)
	s.mu.Lock()
	if old := s.locks[name]; old != nil {
		old.stop() // a lock taken again after it expired under us
	}
	s.locks[name] = h
	s.mu.Unlock()
	return nil
}

// refresh extends the lock every third of LockTTL until ctx ends.
func (s *RedisStorage) refresh(ctx context.Context, key string, h *heldLock) {
	defer close(h.done)
	t := time.NewTicker(s.opts.LockTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rctx, cancel := s.timeout(ctx)
			n, err := s.opts.Client.Eval(rctx, refreshScript, []string{key}, h.token, s.opts.LockTTL.Milliseconds()).Int()
			cancel()
			if err == nil && n == 0 {
				s.opts.Logger.Warn("tls: lost a certificate lock (it expired)", "key", key)
				return
			}
		}
	}
}

// Unlock releases a lock taken by Lock.
func (s *RedisStorage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	h := s.locks[name]
	delete(s.locks, name)
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("unlock %s: not locked by this instance", name)
	}
	h.stop()
	<-h.done
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	if err := s.opts.Client.Eval(ctx, releaseScript, []string{s.lockKey(name)}, h.token).Err(); err != nil {
		return fmt.Errorf("unlock %s: %w", name, err)
	}
	return nil
}
