package store

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reelcache/reelcache/internal/poll"
)

func TestBreaker(t *testing.T) {
	now := time.Unix(0, 0)
	b := newBreaker(3, time.Second, slog.New(slog.DiscardHandler))
	b.now = func() time.Time { return now }
	fail := errors.New("down")
	for i := range 3 {
		if !b.allow() {
			t.Fatalf("call %d refused before the threshold", i)
		}
		b.record(fail)
	}
	if b.allow() || b.ready() {
		t.Fatal("breaker lets calls through right after 3 failures")
	}
	now = now.Add(time.Second)
	if !b.allow() {
		t.Fatal("no probe after the cool-down")
	}
	if b.allow() {
		t.Fatal("a second call let through while the probe is in flight")
	}
	b.record(fail)
	if b.allow() {
		t.Fatal("failed probe did not reopen the breaker")
	}
	now = now.Add(time.Second)
	if !b.allow() {
		t.Fatal("no probe after the second cool-down")
	}
	b.record(nil)
	for i := range 5 {
		if !b.allow() {
			t.Fatalf("call %d refused after a good probe", i)
		}
		b.record(nil)
	}
}

func TestKeyScheme(t *testing.T) {
	s := New(Options{Prefix: "rc"})
	if got, want := s.Key("0123456789abcdef", 1048576, 42), "rc:c:0123456789abcdef:1048576:42"; got != want {
		t.Fatalf("Key = %q, want %q", got, want)
	}
}

func TestPartialPipelineErrors(t *testing.T) {
	boom := errors.New("boom")
	for _, tt := range []struct {
		name    string
		err     error
		cmdErrs []error
		wantErr bool
	}{
		{"all fine", nil, []error{nil, nil}, false},
		{"misses only", redis.Nil, []error{redis.Nil, nil}, false},
		{"failed before any command ran", boom, []error{nil, nil}, true},
		{"all failed", boom, []error{boom, boom}, true},
		{"one node down", boom, []error{boom, nil, redis.Nil}, false},
	} {
		err := partial(tt.err, len(tt.cmdErrs), func(i int) error { return tt.cmdErrs[i] })
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: partial = %v, want error %v", tt.name, err, tt.wantErr)
		}
	}
}

// stallClient is a redisClient whose pipelines wait until their context
// ends when stall is set, and answer at once otherwise: a Redis that is
// busy for some callers, or hung for all.
type stallClient struct{ stall func() bool }

func (c stallClient) Pipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error) {
	// Queue the commands on a pipeline that is never sent: each answers
	// with its zero value.
	p := redis.NewClient(&redis.Options{}).Pipeline()
	if err := fn(p); err != nil {
		return nil, err
	}
	if c.stall() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return nil, nil
}

// TestBusyRedisKeepsTheBreakerClosed: calls that time out while other calls
// are answered mean a busy Redis (a stampede queued on its connections),
// and must not open the breaker for everyone; calls that time out while
// nothing is answered mean a hung one, and must.
func TestBusyRedisKeepsTheBreakerClosed(t *testing.T) {
	for _, tt := range []struct {
		name     string
		answered bool // some calls are answered while others time out
		open     bool
	}{
		{"busy", true, false},
		{"hung", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Four calls wait at once and time out together; while they
			// wait, a fifth is answered (or, hung, waits too).
			var n atomic.Int64
			s := New(Options{Timeout: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
			s.rdb = stallClient{stall: func() bool { return n.Add(1) <= 4 || !tt.answered }}
			var wg sync.WaitGroup
			for i := range 5 {
				if i == 4 { // once the four wait
					poll.Until(t, 5*time.Second, func() bool { return n.Load() >= 4 }, "the four calls never reached Redis")
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					s.Exists(t.Context(), []string{"k"})
				}()
			}
			wg.Wait()
			if open := !s.Available(); open != tt.open {
				t.Errorf("breaker open = %v, want %v", open, tt.open)
			}
		})
	}
}

// TestReadsInFlightAreBounded: no more Reads than Store.reading allows are
// sent at once (each holds its buffers from when it is sent); the others
// wait, holding none.
func TestReadsInFlightAreBounded(t *testing.T) {
	var now, peak atomic.Int64
	var release sync.WaitGroup
	release.Add(1)
	s := New(Options{Timeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	s.reading = make(chan struct{}, 2)
	s.rdb = countClient{now: &now, peak: &peak, wait: release.Wait}
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Read(t.Context(), []Get{{Key: "k", Len: BlockSize, Lo: 0, Hi: BlockSize}}, nil)
		}()
	}
	poll.Until(t, 5*time.Second, func() bool { return now.Load() == 2 }, "two reads were never in flight")
	time.Sleep(50 * time.Millisecond) // room for a third to get in, were it allowed
	release.Done()
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Errorf("%d reads in flight at once, want at most 2", p)
	}
}

// countClient is a redisClient that counts the pipelines in flight and
// holds each until wait returns; its commands answer with their zero values.
type countClient struct {
	now, peak *atomic.Int64
	wait      func()
}

func (c countClient) Pipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error) {
	p := redis.NewClient(&redis.Options{}).Pipeline()
	if err := fn(p); err != nil {
		return nil, err
	}
	n := c.now.Add(1)
	for {
		old := c.peak.Load()
		if n <= old || c.peak.CompareAndSwap(old, n) {
			break
		}
	}
	c.wait()
	c.now.Add(-1)
	return nil, nil
}
