package chunker

import (
	"fmt"

	"github.com/redis/go-redis/v9"
)

// NewRedisClient returns a client for the Redis at url (redis://, rediss://
// or unix://, with user, password and database as go-redis's ParseURL reads
// them), set up for a cache that must fail fast: deadlines come from each
// call's context, and neither commands nor dials are retried, because a
// viewer is better served by the disk than by a second try.
func NewRedisClient(url string) (redis.UniversalClient, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	opts.ContextTimeoutEnabled = true
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	opts.DisableIdentity = true // no CLIENT SETINFO round trip per connection
	return redis.NewClient(opts), nil
}
