package chunker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Purges reach every instance's local tier through Redis: `reelcache cache
// purge` deletes the chunk keys, then counts the purge in a generation key
// and publishes what it purged on a channel. Each serving instance with a
// local tier subscribes: a message drops the purged versions (or
// everything) from its tier at once. Pub/sub alone loses messages sent
// while an instance is disconnected, so on every (re)subscription the
// instance compares the generation with the last it saw and, when it
// moved, empties its tier: a missed purge costs a refill, never stale
// bytes.
//
// Why purge a tier whose keys carry versions (it is never stale)? Because
// what came from Redis may be wrong in Redis: a value damaged or written by
// something else that happens to have the chunk's length. The operator's
// remedy is a purge, and it must not leave copies behind.

// purgeAll is the message that purges everything under the prefix.
const purgeAll = "*"

func (s *Store) purgeChannel() string { return s.prefix + ":purge" }
func (s *Store) purgeGenKey() string  { return s.prefix + ":purge:gen" }

// AnnouncePurge tells every instance that the chunks of versions (all
// chunks, when versions is empty) were purged: it counts the purge in the
// generation key and publishes it. Like the other admin calls it goes
// around the breaker.
func (s *Store) AnnouncePurge(ctx context.Context, versions []string) error {
	msg := purgeAll
	if len(versions) > 0 {
		msg = strings.Join(versions, "\n")
	}
	ctx, cancel := context.WithTimeout(ctx, s.wtimeout)
	defer cancel()
	if err := s.uc.Incr(ctx, s.purgeGenKey()).Err(); err != nil {
		return fmt.Errorf("announce purge: %w", err)
	}
	if err := s.uc.Publish(ctx, s.purgeChannel(), msg).Err(); err != nil {
		return fmt.Errorf("announce purge: %w", err)
	}
	return nil
}

// purgeGen reads the purge generation; 0 before the first purge.
func (s *Store) purgeGen(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.wtimeout)
	defer cancel()
	n, err := s.uc.Get(ctx, s.purgeGenKey()).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return n, err
}

// watchPurges applies announced purges to the local tier until ctx ends.
func (c *Cache) watchPurges(ctx context.Context, ready chan<- struct{}) {
	s := c.store
	sub := s.uc.Subscribe(ctx, s.purgeChannel())
	// Receive does not return when ctx ends while it waits on the
	// connection; closing the subscription makes it.
	stop := context.AfterFunc(ctx, func() { sub.Close() })
	defer stop()
	defer sub.Close()
	seen := int64(-1) // the generation at the last subscription; -1: none yet
	failing := false
	for {
		msg, err := sub.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			// go-redis reconnects and subscribes again on the next
			// Receive; the confirmation then checks the generation.
			if !failing {
				c.log.Warn("purge notifications interrupted; the local tier will be emptied if a purge was missed", "err", err)
				failing = true
			}
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			gen, err := s.purgeGen(ctx)
			if err != nil {
				// Unknown: assume a purge was missed.
				c.local.clear()
				continue
			}
			if seen >= 0 && gen != seen {
				c.local.clear()
				c.log.Info("purges were announced while unsubscribed: local tier emptied")
			}
			seen = gen
			if failing {
				c.log.Info("purge notifications resumed")
				failing = false
			}
			if ready != nil {
				close(ready)
				ready = nil
			}
		case *redis.Message:
			if m.Payload == purgeAll {
				c.local.clear()
			} else {
				c.local.dropVersions(s.prefix, strings.Split(m.Payload, "\n"))
			}
			if gen, err := s.purgeGen(ctx); err == nil {
				seen = gen
			}
		}
	}
}
