package store

import (
	"log/slog"
	"sync"
	"time"
)

// breaker stops calls to Redis after repeated failures, so that an outage
// costs viewers nothing: while it is open, callers go straight to disk.
// After the cool-down one probe call is let through; its result closes the
// breaker or keeps it open for another cool-down. Each change of state is
// logged once, so an outage is one log line, not one per request.
//
// It is a few lines rather than a library because it needs exactly two
// states and the logging policy above.
type breaker struct {
	threshold int
	cooldown  time.Duration
	log       *slog.Logger
	now       func() time.Time // for tests

	mu       sync.Mutex // protects the fields below
	failures int        // consecutive failures while closed
	open     bool
	until    time.Time // while open: when the next probe may go
	probing  bool      // while open: a probe is in flight
	lastOK   time.Time // when a call last succeeded
}

func newBreaker(threshold int, cooldown time.Duration, log *slog.Logger) *breaker {
	return &breaker{threshold: threshold, cooldown: cooldown, log: log, now: time.Now}
}

// allow reports whether a call may go to Redis. When it returns true the
// caller must report the outcome with record or release.
func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return true
	}
	if b.probing || b.now().Before(b.until) {
		return false
	}
	b.probing = true
	return true
}

// ready reports whether allow would let a call through, without taking the
// probe slot.
func (b *breaker) ready() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.open || (!b.probing && !b.now().Before(b.until))
}

// answeredSince reports whether a call succeeded after t: Redis was
// answering while a call that started at t waited.
func (b *breaker) answeredSince(t time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastOK.After(t)
}

// release gives back a call's slot without judging Redis.
func (b *breaker) release() {
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

// record reports the outcome of a call that allow let through.
func (b *breaker) record(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil {
		b.lastOK = b.now()
		if b.open {
			b.log.Info("redis is answering again; serving from the cache")
		}
		b.open, b.probing, b.failures = false, false, 0
		return
	}
	if b.open { // the probe failed
		b.probing = false
		b.until = b.now().Add(b.cooldown)
		return
	}
	b.failures++
	if b.failures >= b.threshold {
		b.open = true
		b.until = b.now().Add(b.cooldown)
		b.log.Warn("redis is failing; serving from disk until it answers",
			"error", err, "retry_every", b.cooldown)
	}
}
