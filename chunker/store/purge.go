package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// PurgePingEvery is how long the purge subscription may stay quiet before
// watchPurges pings it; a subscription that then stays quiet as long again
// is taken for dead and replaced. go-redis's PubSub.Receive waits on the
// connection without a deadline and sends nothing (only PubSub.Channel
// pings), so a connection that died silently (a NAT or firewall dropping
// it, a host gone without a reset) would otherwise go unnoticed for as
// long as TCP keepalive takes, while the purges it should carry are
// missed. A dead subscription is noticed within two intervals.
const PurgePingEvery = 30 * time.Second

// errNoPong is why a subscription that did not answer a ping is replaced.
var errNoPong = errors.New("no answer to a ping on the purge subscription")

// PurgeHandler is what WatchPurges tells of announced purges: a local
// tier, whose copies of purged chunks must go.
type PurgeHandler interface {
	// PurgeAll drops every chunk: all were purged, or a purge may have
	// been missed.
	PurgeAll()
	// PurgeVersions drops the chunks of the given file versions.
	PurgeVersions(prefix string, versions []string)
}

// WatchOptions configure WatchPurges.
type WatchOptions struct {
	// Ping is how long the subscription may stay quiet before it is
	// pinged. Default PurgePingEvery.
	Ping time.Duration
	// Ready, when set, is closed once the first subscription is
	// confirmed (for tests).
	Ready chan<- struct{}
	// Logger for interruptions. Default slog.Default().
	Logger *slog.Logger
}

// WatchPurges applies announced purges to h until ctx ends. Each
// (re)subscription compares the purge generation with the last seen and
// calls h.PurgeAll when it moved; a subscription quiet for opts.Ping is
// pinged, and one that stays quiet for another opts.Ping is closed and made
// anew, so that a silently dead connection ends in that check too.
func (s *Store) WatchPurges(ctx context.Context, h PurgeHandler, opts WatchOptions) {
	if opts.Ping <= 0 {
		opts.Ping = PurgePingEvery
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	log, ready := opts.Logger, opts.Ready
	sub, stop := s.subscribePurges(ctx)
	defer func() { stop(); sub.Close() }()
	seen := int64(-1) // the generation at the last subscription; -1: none yet
	failing := false
	pinged := false // a ping is unanswered
	for {
		msg, err := sub.ReceiveTimeout(ctx, opts.Ping)
		if ctx.Err() != nil {
			return
		}
		if err != nil && IsTimeout(err) {
			if !pinged {
				if err = sub.Ping(ctx); err == nil {
					pinged = true
					continue
				}
			} else {
				err = errNoPong
				stop()
				sub.Close()
				sub, stop = s.subscribePurges(ctx)
				pinged = false
			}
		}
		if err != nil {
			// go-redis reconnects and subscribes again on the next
			// Receive (and a replaced subscription subscribes anew); the
			// confirmation then checks the generation.
			if !failing {
				log.Warn("purge notifications interrupted; the local tier will be emptied if a purge was missed", "err", err)
				failing = true
			}
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return
			}
			continue
		}
		pinged = false // anything received shows the connection alive
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			gen, err := s.purgeGen(ctx)
			if err != nil {
				// Unknown: assume a purge was missed.
				h.PurgeAll()
				continue
			}
			if seen >= 0 && gen != seen {
				h.PurgeAll()
				log.Info("purges were announced while unsubscribed: local tier emptied")
			}
			seen = gen
			if failing {
				log.Info("purge notifications resumed")
				failing = false
			}
			if ready != nil {
				close(ready)
				ready = nil
			}
		case *redis.Message:
			if m.Payload == purgeAll {
				h.PurgeAll()
			} else {
				h.PurgeVersions(s.prefix, strings.Split(m.Payload, "\n"))
			}
			if gen, err := s.purgeGen(ctx); err == nil {
				seen = gen
			}
		}
	}
}

// subscribePurges subscribes to the purge channel. stop undoes the
// arrangement that closes the subscription when ctx ends (Receive does not
// return when ctx ends while it waits on the connection; closing the
// subscription makes it); the caller closes the subscription.
func (s *Store) subscribePurges(ctx context.Context) (sub *redis.PubSub, stop func() bool) {
	sub = s.uc.Subscribe(ctx, s.purgeChannel())
	return sub, context.AfterFunc(ctx, func() { sub.Close() })
}
