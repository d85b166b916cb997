package chunker

import (
	"context"
	"errors"
	"time"

	"github.com/reelcache/reelcache/chunker/store"
)

// A File leaves Redis alone for skipRedisFor after a call of its timed out
// (the breaker's usual cool-down), and twice as long after each further
// timeout, up to maxSkipRedis; a call that succeeds starts it over. Not for
// the rest of the request: a viewer who started while Redis was busy would
// stream a whole film from the origin. Not a fixed second either: while
// Redis stays too slow to answer in time, every retry costs the viewer a
// timeout.
//
// A Redis that timed out while it answered other calls is busy (hundreds of
// viewers queued on the connections), not down: the window is asked again
// once before the origin takes it (see busy), so that warm viewers stay on
// Redis rather than all turning to the origin at once.
const (
	skipRedisFor = time.Second
	maxSkipRedis = time.Minute
)

// skipper is a File's state of leaving Redis alone. Its methods are called
// with the File's mutex held.
type skipper struct {
	until   time.Time     // Redis is left alone until then
	last    time.Duration // how long the last skip was; doubles while Redis stays slow
	retried bool          // busy already retried once since Redis last answered
}

// skipRedis starts (or lengthens) a skip.
func (s *skipper) skipRedis() {
	s.last = min(max(skipRedisFor, 2*s.last), maxSkipRedis)
	s.until = time.Now().Add(s.last)
}

// answered starts the skips over: Redis answered in time.
func (s *skipper) answered() { s.last, s.retried = 0, false }

// skipping reports whether Redis is left alone now.
func (s *skipper) skipping() bool { return !s.until.IsZero() && time.Now().Before(s.until) }

// busy reports whether err, a failed window fetch, should be tried again
// at once: a timeout while the store's breaker stayed closed (Redis went on
// answering other calls), the first since Redis last answered this File.
func (s *skipper) busy(err error, st *store.Store) bool {
	if s.retried || !store.IsTimeout(err) && !isDeadline(err) || !st.Available() {
		return false
	}
	s.retried = true
	return true
}

// isDeadline reports whether err is a call's deadline passing.
func isDeadline(err error) bool { return errors.Is(err, context.DeadlineExceeded) }
