package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Bounds of the existence probes that only inform (the HTTP API's chunk map
// and listing, issue 13 item 5): they must never cost viewers anything.
const (
	// probeBatch is the most EXISTS one pipeline carries.
	probeBatch = 1024
	// ProbeTimeout bounds one Probe call as a whole, all batches included.
	ProbeTimeout = time.Second
)

// Probe reports which keys exist, for callers that only inform, never for
// the media path. Unlike Exists it
//
//   - never counts toward the breaker: a slow answer to a big question (a
//     chunk map of a huge file, asked by anyone) must not switch the cache
//     off for every viewer, which is what counting it did;
//   - is skipped while the breaker is open (ErrUnavailable): Redis is left
//     alone during an outage, as the media path leaves it;
//   - runs under its own timeout for the whole call (ProbeTimeout when
//     timeout is 0), not the viewers' per-call deadline;
//   - asks in pipelines of at most probeBatch keys, one after the other.
//
// The caller bounds len(keys). Calls are observed as op "probe".
func (s *Store) Probe(ctx context.Context, keys []string, timeout time.Duration) ([]bool, error) {
	if !s.brk.ready() {
		return nil, ErrUnavailable
	}
	if timeout <= 0 {
		timeout = ProbeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	found := make([]bool, len(keys))
	for start := 0; start < len(keys); start += probeBatch {
		batch := keys[start:min(len(keys), start+probeBatch)]
		cmds := make([]*redis.IntCmd, len(batch))
		t0 := time.Now()
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range batch {
				cmds[i] = p.Exists(ctx, k)
			}
			return nil
		})
		err = partial(err, len(batch), func(i int) error { return cmds[i].Err() })
		if s.observe != nil {
			s.observe("probe", time.Since(t0), err)
		}
		if err != nil {
			return nil, fmt.Errorf("probe %d chunks: %w", len(keys), err)
		}
		for i, c := range cmds {
			found[start+i] = c.Val() > 0
		}
	}
	return found, nil
}
